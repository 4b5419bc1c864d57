// Malformed and hostile frames sent over a real veth into the gateway
// (AF_XDP): each is dropped and counted by its reason, real tools see the
// ICMP errors the gateway owes them, and forwarding goes on. Needs root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ping } from '../../src/lab/traffic.js';
import { ethernet, ipv4, udpFrame } from '../../src/pkt/build.js';
import { dropsByReason, type LabGateway, sendRaw, sleep, startLabGateway } from '../support/lab.js';

let g: LabGateway;
let gwMac: string;

beforeAll(async () => {
  // lan-a runs with a 1000-byte MTU so that oversize frames are possible on
  // a veth whose own MTU is 1500.
  g = await startLabGateway({ prefix: 'nfvgw-t-bad', type: 'af_xdp' });
  const cfg = structuredClone(g.config) as { ports: { mtu?: number }[] };
  cfg.ports[0]!.mtu = 1000;
  await g.svc.replaceConfig(cfg);
  gwMac = g.svc.info.ports[0]!.mac;
});
afterAll(async () => g?.stop());

describe('bad input on the wire (root, netns, af_xdp)', () => {
  const h1 = () => g.lab.hosts[0]!;
  const h2 = () => g.lab.hosts[1]!;
  const frame = (o: Partial<Parameters<typeof ipv4>[0]> = {}, payload = Buffer.alloc(26)) =>
    ethernet(
      { dst: gwMac, src: h1().mac, type: 0x0800 },
      ipv4({ src: h1().ip, dst: h2().ip, proto: 17, ...o }, payload),
    );

  const cases: [string, string, () => Buffer[]][] = [
    [
      'Ethernet header only',
      'ip4_truncated',
      () => [ethernet({ dst: gwMac, src: h1().mac, type: 0x0800 }, Buffer.alloc(0))],
    ],
    ['a bad IHL', 'ip4_bad_ihl', () => [frame({ ihl: 3 })]],
    ['a bad IPv4 checksum', 'ip4_bad_checksum', () => [frame({ checksum: 0xbeef })]],
    ['a total length beyond the frame', 'ip4_truncated', () => [frame({ totalLength: 1400 })]],
    [
      'an unknown EtherType',
      'unknown_ethertype',
      () => [ethernet({ dst: gwMac, src: h1().mac, type: 0x88b5 }, Buffer.alloc(50))],
    ],
    [
      'a frame over the port MTU',
      'frame_too_long',
      () => [udpFrame({ dstMac: gwMac, srcMac: h1().mac, src: h1().ip, dst: h2().ip, frameLen: 1200 })],
    ],
    ['TTL 1', 'ip4_ttl_expired', () => [frame({ ttl: 1 })]],
    [
      'a flood of garbage',
      'ip4_bad_checksum',
      () => Array.from({ length: 500 }, (_, i) => frame({ checksum: i })),
    ],
  ];

  for (const [name, reason, make] of cases) {
    it(`drops ${name} and counts it as ${reason}`, async () => {
      const frames = make();
      const before = dropsByReason(g.svc)[reason] ?? 0;
      await sendRaw(h1().ns, h1().iface, frames);
      let after = before;
      for (let i = 0; i < 100 && after < before + frames.length; i++) {
        await sleep(20);
        after = dropsByReason(g.svc)[reason] ?? 0;
      }
      expect(after - before).toBe(frames.length);
      expect((await ping(h1().ns, h2().ip, { count: 2 })).received).toBe(2);
    });
  }

  it('tells traceroute-style probes that their TTL expired (ping -t 1)', async () => {
    const r = await ping(h1().ns, h2().ip, { count: 1, ttl: 1 });
    expect(r.output).toMatch(/From 10\.11\.1\.1 icmp_seq=1 Time to live exceeded/);
  });

  it('tells a DF sender the path MTU (ping -M do)', async () => {
    const r = await ping(h2().ns, h1().ip, { count: 1, size: 1200, df: true });
    expect(r.output).toMatch(/From 10\.11\.2\.1 icmp_seq=1 Frag needed and DF set \(mtu = 1000\)/);
  });

  it('still forwards both ways after all of it', async () => {
    expect((await ping(h1().ns, h2().ip, { count: 3 })).received).toBe(3);
    expect((await ping(h2().ns, h1().ip, { count: 3, size: 900 })).received).toBe(3);
    expect(g.svc.status().drops.byReason.ip4_bad_checksum).toBeGreaterThanOrEqual(501);
  });
});
