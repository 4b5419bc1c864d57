// Forwarding between real Linux hosts in network namespaces, for both port
// types and for one and two workers (veth pairs with two queues): ping,
// curl against a real HTTP server, iperf3 TCP and UDP. Needs root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, iperf, ping, startHttpServer, startIperfServer } from '../../src/lab/traffic.js';
import { type LabGateway, startLabGateway } from '../support/lab.js';

const matrix: { type: 'af_xdp' | 'af_packet'; workers: number }[] = [
  { type: 'af_xdp', workers: 1 },
  { type: 'af_xdp', workers: 2 },
  { type: 'af_packet', workers: 1 },
  { type: 'af_packet', workers: 2 },
];

for (const { type, workers } of matrix) {
  describe(`forwarding on ${type} with ${workers} worker(s) (root, netns)`, () => {
    let g: LabGateway;
    beforeAll(async () => {
      g = await startLabGateway({
        prefix: `nfvgw-t-${type === 'af_xdp' ? 'x' : 'p'}${workers}`,
        type,
        workers,
      });
    });
    afterAll(async () => g?.stop());

    it('opens its ports as configured', () => {
      const info = g.svc.info;
      expect(info.ports.map((p) => p.kind)).toEqual([type, type]);
      expect(info.workers).toHaveLength(workers);
      if (type === 'af_xdp') expect(info.ports.every((p) => p.xdpMode === 'native')).toBe(true);
    });

    it('answers ping for its own address', async () => {
      const r = await ping(g.lab.hosts[0]!.ns, g.lab.ports[0]!.ip, { count: 3 });
      expect(r.received).toBe(3);
    });

    it('forwards ping between the hosts, losing none', async () => {
      const r = await ping(g.lab.hosts[0]!.ns, g.lab.hosts[1]!.ip, { count: 5 });
      expect(r.received).toBe(5);
      const back = await ping(g.lab.hosts[1]!.ns, g.lab.hosts[0]!.ip, { count: 3 });
      expect(back.received).toBe(3);
    });

    it('carries an HTTP download from a real server intact', async () => {
      const server = await startHttpServer(g.lab.hosts[1]!.ns, g.lab.hosts[1]!.ip, 8080, 4 << 20);
      try {
        const page = await curl(g.lab.hosts[0]!.ns, server.url, { keepBody: true });
        expect(page.status).toBe(200);
        expect(page.body).toContain(`hello from ${g.lab.hosts[1]!.ns}`);
        const blob = await curl(g.lab.hosts[0]!.ns, server.fileUrl);
        expect(blob).toMatchObject({ status: 200, bytes: server.fileBytes });
      } finally {
        await server.stop();
      }
    });

    it('carries iperf3 TCP and UDP', async () => {
      const server = await startIperfServer(g.lab.hosts[1]!.ns, g.lab.hosts[1]!.ip);
      try {
        const tcp = await iperf(g.lab.hosts[0]!.ns, g.lab.hosts[1]!.ip, { seconds: 2 });
        expect(tcp.bitsPerSecond).toBeGreaterThan(0);
        const udp = await iperf(g.lab.hosts[0]!.ns, g.lab.hosts[1]!.ip, {
          seconds: 2,
          udp: true,
          bitrate: '20M',
        });
        expect(udp.packets).toBeGreaterThan(1000);
        expect(udp.lostPackets).toBe(0);
      } finally {
        await server.stop();
      }
    });

    it('counts what it forwarded on every port', () => {
      const s = g.svc.status();
      for (const p of s.ports) {
        expect(p.rxPackets).toBeGreaterThan(1000);
        expect(p.txPackets).toBeGreaterThan(1000);
      }
      expect(s.neighbors.resolved).toBeGreaterThanOrEqual(2);
    });
  });
}
