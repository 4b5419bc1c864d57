// Applying configuration while traffic flows loses no packet and resets no
// connection: a UDP stream counted by iperf3 and a TCP transfer run through
// the gateway while its route table and ICMP settings are replaced over and
// over. Needs root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iperf, startIperfServer } from '../../src/lab/traffic.js';
import { type LabGateway, sleep, startLabGateway } from '../support/lab.js';

let g: LabGateway;
beforeAll(async () => {
  g = await startLabGateway({ prefix: 'nfvgw-t-hitless', type: 'af_xdp' });
});
afterAll(async () => g?.stop());

describe('hitless configuration changes (root, netns, af_xdp)', () => {
  it('loses no UDP datagram and keeps the TCP connection while the tables change', async () => {
    const [h1, h2] = [g.lab.hosts[0]!, g.lab.hosts[1]!];
    const udpServer = await startIperfServer(h2.ns, h2.ip, 5201);
    const tcpServer = await startIperfServer(h2.ns, h2.ip, 5202);
    try {
      const udp = iperf(h1.ns, h2.ip, { seconds: 6, udp: true, bitrate: '20M', port: 5201 });
      // TCP rate-limited well below what the path carries: a saturating flow
      // loses packets by design (its congestion control), change or not.
      const tcp = iperf(h1.ns, h2.ip, { seconds: 6, port: 5202, bitrate: '200M' });
      await sleep(500);
      const base = g.config as { routes?: unknown[] };
      let applied = 0;
      const stop = Date.now() + 4500;
      while (Date.now() < stop) {
        const routes = Array.from({ length: 1000 }, (_, i) => ({
          destination: `10.${100 + (i >> 8)}.${i & 255}.0/24`,
          via: '10.11.2.2',
        }));
        const r = await g.svc.replaceConfig({
          ...base,
          routes: applied % 2 ? routes : routes.slice(0, 10),
          icmp: { errorsPerSecond: 100 + applied, burst: 10 },
        });
        expect(r.changed).toBe(true);
        applied++;
      }
      const [u, t] = await Promise.all([udp, tcp]);
      expect(applied).toBeGreaterThan(10);
      expect(g.svc.generation).toBe(applied + 1);
      expect(u.packets).toBeGreaterThan(5000);
      expect(u.lostPackets).toBe(0);
      expect(t.bitsPerSecond).toBeGreaterThan(0);
      expect(t.seconds).toBeGreaterThan(5);
      expect(g.svc.status().drops.total).toBe(0);
      const kernelDrops = g.svc
        .stats()
        .ports.flatMap((p) => p.queues.map((q) => q.kernelRxDropped + q.txDropped));
      expect(kernelDrops.every((n) => n === 0)).toBe(true);
    } finally {
      await udpServer.stop();
      await tcpServer.stop();
    }
  });
});
