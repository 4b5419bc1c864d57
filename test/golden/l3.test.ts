// Golden packets through in-memory ports: each case is an input frame, the
// expected verdict (the drop reason, or the port it leaves by) and, where
// the gateway sends something, the exact bytes. Expected frames are built
// with full checksums, so they also check the gateway's incremental ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arpPayload, ethernet, icmp, ipv4, tcp, udp, udpFrame } from '../../src/pkt/build.js';
import { decode } from '../../src/pkt/decode.js';
import { MemGateway } from '../support/mem-gateway.js';

const LAN = '02:00:00:00:00:01';
const WAN = '02:00:00:00:00:02';
const TAG = '02:00:00:00:00:03';
const HOST = '02:aa:00:00:00:02'; // 10.0.1.2 on lan
const ROUTER = '02:bb:00:00:00:fe'; // 192.0.2.254 on wan
const LAN_ROUTER = '02:aa:00:00:00:fe'; // 10.0.1.254 on lan
const TAG_HOST = '02:cc:00:00:00:02'; // 10.0.3.2 on the VLAN port
const BCAST = 'ff:ff:ff:ff:ff:ff';

const config = {
  workers: [{ pollMode: 'adaptive' as const }],
  ports: [
    { name: 'lan', type: 'mem' as const, mac: LAN, addresses: ['10.0.1.1/24'] },
    { name: 'wan', type: 'mem' as const, mac: WAN, addresses: ['192.0.2.1/24'], mtu: 1400 },
    { name: 'tagged', type: 'mem' as const, mac: TAG, addresses: ['10.0.3.1/24'], vlan: 100 },
  ],
  routes: [
    { destination: '8.0.0.0/8', via: '192.0.2.254' },
    { destination: '10.9.0.0/16', via: '10.0.1.254' },
    { destination: '198.51.100.0/24', type: 'blackhole' as const },
    { destination: '203.0.113.0/24', type: 'unreachable' as const },
  ],
  neighbors: [
    { port: 'wan', address: '192.0.2.254', mac: ROUTER },
    { port: 'lan', address: '10.0.1.2', mac: HOST },
    { port: 'lan', address: '10.0.1.254', mac: LAN_ROUTER },
    { port: 'tagged', address: '10.0.3.2', mac: TAG_HOST },
  ],
  icmp: { errorsPerSecond: 1000, burst: 1000 },
  neighborTimers: { reachableMs: 30_000, expireMs: 90_000, retryMs: 300 },
};

let gw: MemGateway;
beforeAll(() => {
  gw = MemGateway.start(config);
});
afterAll(() => gw?.close());

/** A UDP datagram from the LAN host, as a frame to the gateway. */
function fromHost(dst: string, o: { ttl?: number; df?: boolean; len?: number; src?: string } = {}) {
  return udpFrame({
    dstMac: LAN,
    srcMac: HOST,
    src: o.src ?? '10.0.1.2',
    dst,
    ttl: o.ttl,
    df: o.df,
    frameLen: o.len ?? 60,
  });
}

/** What a forwarded frame must look like: new MACs, TTL one less, full checksum. */
function forwarded(
  dst: string,
  dstMac: string,
  srcMac: string,
  o: { ttl?: number; vlan?: number; src?: string } = {},
) {
  return udpFrame({
    dstMac,
    srcMac,
    src: o.src ?? '10.0.1.2',
    dst,
    ttl: (o.ttl ?? 64) - 1,
    vlan: o.vlan,
    frameLen: o.vlan ? 64 : 60,
  });
}

describe('golden packets: ARP', () => {
  it('answers a request for its address on the receiving port', async () => {
    const req = ethernet(
      { dst: BCAST, src: HOST, type: 0x0806 },
      arpPayload({ op: 1, sha: HOST, spa: '10.0.1.2', tpa: '10.0.1.1' }),
    );
    const r = await gw.send('lan', req);
    const reply = ethernet(
      { dst: HOST, src: LAN, type: 0x0806 },
      arpPayload({ op: 2, sha: LAN, spa: '10.0.1.1', tha: HOST, tpa: '10.0.1.2' }),
    );
    expect(r.drops).toEqual({});
    expect(r.out).toEqual({ lan: [reply] });
    expect(r.events.arp_reply_sent).toBe(1);
  });

  it('answers with the tag on a VLAN port', async () => {
    const req = ethernet(
      { dst: BCAST, src: TAG_HOST, type: 0x0806, vlan: 100 },
      arpPayload({ op: 1, sha: TAG_HOST, spa: '10.0.3.2', tpa: '10.0.3.1' }),
    );
    const r = await gw.send('tagged', req);
    const reply = ethernet(
      { dst: TAG_HOST, src: TAG, type: 0x0806, vlan: 100 },
      arpPayload({ op: 2, sha: TAG, spa: '10.0.3.1', tha: TAG_HOST, tpa: '10.0.3.2' }),
    );
    expect(r.out).toEqual({ tagged: [reply] });
  });

  const drops: [string, string, Buffer][] = [
    [
      'a request for an address that is not ours',
      'arp_not_for_us',
      ethernet(
        { dst: BCAST, src: HOST, type: 0x0806 },
        arpPayload({ op: 1, sha: HOST, spa: '10.0.1.2', tpa: '10.0.1.99' }),
      ),
    ],
    [
      'a request for our address on another port (arp_ignore=1)',
      'arp_not_for_us',
      ethernet(
        { dst: BCAST, src: HOST, type: 0x0806 },
        arpPayload({ op: 1, sha: HOST, spa: '10.0.1.2', tpa: '192.0.2.1' }),
      ),
    ],
    [
      'a truncated ARP packet',
      'arp_malformed',
      ethernet(
        { dst: BCAST, src: HOST, type: 0x0806 },
        arpPayload({ op: 1, sha: HOST, spa: '10.0.1.2', tpa: '10.0.1.1' }).subarray(0, 20),
      ),
    ],
    [
      'an ARP packet for another protocol',
      'arp_malformed',
      ethernet(
        { dst: BCAST, src: HOST, type: 0x0806 },
        Buffer.from(
          arpPayload({ op: 1, sha: HOST, spa: '10.0.1.2', tpa: '10.0.1.1' }).map((b, i) =>
            i === 2 ? 0x86 : b,
          ),
        ),
      ),
    ],
  ];
  for (const [name, reason, frame] of drops) {
    it(`drops ${name} (${reason})`, async () => {
      const r = await gw.send('lan', frame);
      expect(r.drops).toEqual({ [reason]: 1 });
      expect(r.out).toEqual({});
    });
  }
});

describe('golden packets: ICMP for the gateway', () => {
  it('answers an echo request with an echo reply', async () => {
    const data = Buffer.from('nfvgw golden echo payload 0123456789');
    const req = ethernet(
      { dst: LAN, src: HOST, type: 0x0800 },
      ipv4(
        { src: '10.0.1.2', dst: '10.0.1.1', proto: 1, ttl: 64, id: 0x1234 },
        icmp({ type: 8, id: 77, seq: 3, data }),
      ),
    );
    const r = await gw.send('lan', req);
    const reply = ethernet(
      { dst: HOST, src: LAN, type: 0x0800 },
      ipv4(
        { src: '10.0.1.1', dst: '10.0.1.2', proto: 1, ttl: 64, id: 0x1234 },
        icmp({ type: 0, id: 77, seq: 3, data }),
      ),
    );
    expect(r.drops).toEqual({});
    expect(r.out).toEqual({ lan: [reply] });
  });

  it('drops an echo request with a bad ICMP checksum', async () => {
    const body = icmp({ type: 8, id: 1, seq: 1 });
    body.writeUInt16BE(body.readUInt16BE(2) ^ 0xff, 2);
    const req = ethernet(
      { dst: LAN, src: HOST, type: 0x0800 },
      ipv4({ src: '10.0.1.2', dst: '10.0.1.1', proto: 1 }, body),
    );
    expect((await gw.send('lan', req)).drops).toEqual({ icmp_bad_checksum: 1 });
  });

  it('answers UDP to its address with port unreachable', async () => {
    const r = await gw.send('lan', fromHost('10.0.1.1'));
    expect(r.drops).toEqual({ local_unsupported: 1 });
    const d = decode(r.out.lan![0]!);
    expect(d.ip).toMatchObject({ src: '10.0.1.1', dst: '10.0.1.2', proto: 1, checksumOk: true });
    expect(d.icmp).toMatchObject({ type: 3, code: 3, checksumOk: true });
  });

  it('drops a truncated UDP header to its address (l4_truncated)', async () => {
    const bad = udp({ src: '10.0.1.2', dst: '10.0.1.1', sport: 1, dport: 2, data: Buffer.alloc(4) });
    bad.writeUInt16BE(200, 4); // a UDP length beyond the packet
    const frame = ethernet(
      { dst: LAN, src: HOST, type: 0x0800 },
      ipv4({ src: '10.0.1.2', dst: '10.0.1.1', proto: 17 }, bad),
    );
    const r = await gw.send('lan', frame);
    expect(r.drops).toEqual({ l4_truncated: 1 });
    expect(r.out).toEqual({});
  });

  it('drops TCP to its address without an answer', async () => {
    const seg = tcp({ src: '10.0.1.2', dst: '10.0.1.1', sport: 40000, dport: 22 });
    const frame = ethernet(
      { dst: LAN, src: HOST, type: 0x0800 },
      ipv4({ src: '10.0.1.2', dst: '10.0.1.1', proto: 6 }, seg),
    );
    const r = await gw.send('lan', frame);
    expect(r.drops).toEqual({ local_unsupported: 1 });
    expect(r.out).toEqual({});
  });
});

describe('golden packets: forwarding', () => {
  it('forwards to a next-hop router with TTL and checksum updated', async () => {
    const r = await gw.send('lan', fromHost('8.8.8.8'));
    expect(r.drops).toEqual({});
    expect(r.out).toEqual({ wan: [forwarded('8.8.8.8', ROUTER, WAN)] });
    expect(r.events.ip4_forwarded).toBe(1);
  });

  it('updates the header checksum right whatever it was: 65 536 datagrams, one per IP identification', async () => {
    // The identification moves the checksum through every value, so the
    // TTL's incremental update (ip4DecrementTtl) meets each, including
    // the carry around 0xffff.
    const datagram = (id: number, ttl: number) =>
      ipv4(
        { src: '10.0.1.2', dst: '8.8.8.8', proto: 17, ttl, id },
        udp({ src: '10.0.1.2', dst: '8.8.8.8', sport: 1024, dport: 9, data: Buffer.alloc(18) }),
      );
    for (let from = 0; from < 65_536; from += 512) {
      const ids = Array.from({ length: 512 }, (_, k) => from + k);
      const r = await gw.send(
        'lan',
        ...ids.map((id) => ethernet({ dst: LAN, src: HOST, type: 0x0800 }, datagram(id, 64))),
      );
      const want = ids.map((id) => ethernet({ dst: ROUTER, src: WAN, type: 0x0800 }, datagram(id, 63)));
      const wrong = (r.out.wan ?? []).findIndex((f, k) => !f.equals(want[k]!));
      expect({ from, sent: r.out.wan?.length, wrong }).toEqual({ from, sent: 512, wrong: -1 });
    }
  });

  it('forwards back out of the receiving port (hairpin)', async () => {
    const r = await gw.send('lan', fromHost('10.9.1.1'));
    expect(r.out).toEqual({ lan: [forwarded('10.9.1.1', LAN_ROUTER, LAN)] });
  });

  it('adds the VLAN tag towards a tagged port and removes it from one', async () => {
    const r = await gw.send('lan', fromHost('10.0.3.2'));
    expect(r.out).toEqual({ tagged: [forwarded('10.0.3.2', TAG_HOST, TAG, { vlan: 100 })] });
    const back = udpFrame({
      dstMac: TAG,
      srcMac: TAG_HOST,
      src: '10.0.3.2',
      dst: '10.0.1.2',
      vlan: 100,
      frameLen: 64,
    });
    const r2 = await gw.send('tagged', back);
    expect(r2.out).toEqual({
      lan: [udpFrame({ dstMac: HOST, srcMac: LAN, src: '10.0.3.2', dst: '10.0.1.2', ttl: 63, frameLen: 60 })],
    });
  });

  it('keeps IP options and a zero UDP checksum as they are', async () => {
    const options = Buffer.from([0x01, 0x01, 0x01, 0x00]); // NOP NOP NOP EOL
    const l4 = udp({
      src: '10.0.1.2',
      dst: '8.1.2.3',
      sport: 5,
      dport: 6,
      data: Buffer.alloc(10, 7),
      zeroChecksum: true,
    });
    const frame = ethernet(
      { dst: LAN, src: HOST, type: 0x0800 },
      ipv4({ src: '10.0.1.2', dst: '8.1.2.3', proto: 17, options }, l4),
    );
    const r = await gw.send('lan', frame);
    const expected = ethernet(
      { dst: ROUTER, src: WAN, type: 0x0800 },
      ipv4({ src: '10.0.1.2', dst: '8.1.2.3', proto: 17, options, ttl: 63 }, l4),
    );
    expect(r.out).toEqual({ wan: [expected] });
  });

  it('trims Ethernet padding off a forwarded frame', async () => {
    const frame = Buffer.concat([fromHost('8.8.4.4', { len: 42 }), Buffer.alloc(18)]);
    const r = await gw.send('lan', frame);
    expect(r.out.wan![0]!.length).toBe(42);
  });

  it('sends time exceeded for TTL 1, quoting the packet', async () => {
    const orig = fromHost('8.8.8.8', { ttl: 1 });
    const r = await gw.send('lan', orig);
    expect(r.drops).toEqual({ ip4_ttl_expired: 1 });
    expect(r.out.lan).toHaveLength(1);
    const d = decode(r.out.lan![0]!);
    expect(d.dst).toBe(HOST);
    expect(d.ip).toMatchObject({ src: '10.0.1.1', dst: '10.0.1.2', ttl: 64, checksumOk: true });
    expect(d.icmp).toMatchObject({ type: 11, code: 0, checksumOk: true });
    expect(d.icmp!.payload.equals(orig.subarray(14))).toBe(true);
  });

  it('sends fragmentation needed with the next-hop MTU for DF packets over the MTU', async () => {
    const r = await gw.send('lan', fromHost('8.8.8.8', { df: true, len: 1464 }));
    expect(r.drops).toEqual({ ip4_mtu_exceeded: 1 });
    const d = decode(r.out.lan![0]!);
    expect(d.icmp).toMatchObject({ type: 3, code: 4, seq: 1400, checksumOk: true });
    expect(d.ip!.totalLength).toBe(576);
  });

  it('drops packets over the MTU without DF, silently', async () => {
    const r = await gw.send('lan', fromHost('8.8.8.8', { len: 1464 }));
    expect(r.drops).toEqual({ ip4_mtu_exceeded: 1 });
    expect(r.out).toEqual({});
  });

  it('sends net unreachable when there is no route', async () => {
    const r = await gw.send('lan', fromHost('1.1.1.1'));
    expect(r.drops).toEqual({ ip4_no_route: 1 });
    expect(decode(r.out.lan![0]!).icmp).toMatchObject({ type: 3, code: 0 });
  });

  it('sends host unreachable for an unreachable route', async () => {
    const r = await gw.send('lan', fromHost('203.0.113.9'));
    expect(r.drops).toEqual({ ip4_unreachable: 1 });
    expect(decode(r.out.lan![0]!).icmp).toMatchObject({ type: 3, code: 1 });
  });

  it('drops silently into a blackhole', async () => {
    const r = await gw.send('lan', fromHost('198.51.100.7'));
    expect(r.drops).toEqual({ ip4_blackhole: 1 });
    expect(r.out).toEqual({});
  });

  it('never answers an ICMP error with an ICMP error', async () => {
    const err = icmp({ type: 3, code: 1, rest: 0, data: Buffer.alloc(28) });
    const frame = ethernet(
      { dst: LAN, src: HOST, type: 0x0800 },
      ipv4({ src: '10.0.1.2', dst: '8.8.8.8', proto: 1, ttl: 1 }, err),
    );
    const r = await gw.send('lan', frame);
    expect(r.drops).toEqual({ ip4_ttl_expired: 1 });
    expect(r.out).toEqual({});
  });
});

describe('golden packets: malformed and unwanted frames', () => {
  const ip = (o: Partial<Parameters<typeof ipv4>[0]>, payload = Buffer.alloc(8)) =>
    ethernet(
      { dst: LAN, src: HOST, type: 0x0800 },
      ipv4({ src: '10.0.1.2', dst: '8.8.8.8', proto: 17, ...o }, payload),
    );
  const cases: [string, string, Buffer][] = [
    ['a frame shorter than an Ethernet header', 'eth_truncated', Buffer.alloc(10, 0xab)],
    ['a frame longer than the port MTU allows', 'frame_too_long', fromHost('8.8.8.8', { len: 1600 })],
    [
      'an unknown EtherType',
      'unknown_ethertype',
      ethernet({ dst: LAN, src: HOST, type: 0x88b5 }, Buffer.alloc(46)),
    ],
    ['IPv6', 'unknown_ethertype', ethernet({ dst: LAN, src: HOST, type: 0x86dd }, Buffer.alloc(46))],
    [
      'a multicast destination MAC',
      'l2_multicast',
      ethernet({ dst: '01:00:5e:00:00:05', src: HOST, type: 0x0800 }, Buffer.alloc(46)),
    ],
    [
      'a unicast MAC of another host',
      'l2_not_for_us',
      ethernet({ dst: '02:00:00:00:99:99', src: HOST, type: 0x0800 }, Buffer.alloc(46)),
    ],
    [
      'a tagged frame on an untagged port',
      'vlan_mismatch',
      udpFrame({ dstMac: LAN, srcMac: HOST, src: '10.0.1.2', dst: '8.8.8.8', vlan: 100 }),
    ],
    [
      'an IPv4 header cut short',
      'ip4_truncated',
      ethernet({ dst: LAN, src: HOST, type: 0x0800 }, Buffer.alloc(12, 0x45)),
    ],
    ['IP version 5', 'ip4_bad_version', ip({ version: 5 })],
    ['IHL 4 (16 bytes)', 'ip4_bad_ihl', ip({ ihl: 4 })],
    ['a wrong header checksum', 'ip4_bad_checksum', ip({ checksum: 0x1234 })],
    ['a total length beyond the frame', 'ip4_truncated', ip({ totalLength: 200 })],
    ['a total length below the header', 'ip4_bad_length', ip({ totalLength: 16 })],
    ['a loopback source', 'ip4_martian_source', ip({ src: '127.0.0.1' })],
    ['a multicast source', 'ip4_martian_source', ip({ src: '224.0.0.1' })],
    ['the limited broadcast destination', 'ip4_martian_destination', ip({ dst: '255.255.255.255' })],
    ['a directed broadcast to a connected subnet', 'ip4_martian_destination', ip({ dst: '10.0.3.255' })],
  ];
  for (const [name, reason, frame] of cases) {
    it(`drops ${name} (${reason})`, async () => {
      const r = await gw.send('lan', frame);
      expect(r.drops).toEqual({ [reason]: 1 });
      expect(r.out).toEqual({});
    });
  }

  it('accepts a header with exactly its right checksum, of all 65 536 values', async () => {
    const good = fromHost('8.8.8.8');
    const right = good.readUInt16BE(24);
    expect(right).not.toBe(0); // 0 and 0xffff would both be right
    let through = 0;
    let bad = 0;
    for (let from = 0; from < 65_536; from += 512) {
      const frames = Array.from({ length: 512 }, (_, k) => {
        const f = Buffer.from(good);
        f.writeUInt16BE(from + k, 24);
        return f;
      });
      const r = await gw.send('lan', ...frames);
      through += r.out.wan?.length ?? 0;
      bad += r.drops.ip4_bad_checksum ?? 0;
      if (right >= from && right < from + 512) expect(r.out.wan).toEqual([forwarded('8.8.8.8', ROUTER, WAN)]);
    }
    expect({ through, bad }).toEqual({ through: 1, bad: 65_535 });
  });

  it('drops a tagged frame for another VLAN and an untagged one on a VLAN port', async () => {
    const other = udpFrame({ dstMac: TAG, srcMac: TAG_HOST, src: '10.0.3.2', dst: '8.8.8.8', vlan: 200 });
    const untagged = udpFrame({ dstMac: TAG, srcMac: TAG_HOST, src: '10.0.3.2', dst: '8.8.8.8' });
    const r = await gw.send('tagged', other, untagged);
    expect(r.drops).toEqual({ vlan_mismatch: 2 });
  });

  it('keeps forwarding after a burst of garbage', async () => {
    const garbage = Array.from({ length: 200 }, (_, i) => {
      const b = fromHost('8.8.8.8');
      const k = 14 + (i % 30); // corrupt a byte of the IPv4 or UDP header
      b.writeUInt8(b.readUInt8(k) ^ 0x5a, k);
      return b;
    });
    await gw.send('lan', ...garbage);
    const r = await gw.send('lan', fromHost('8.8.8.8'));
    expect(r.out).toEqual({ wan: [forwarded('8.8.8.8', ROUTER, WAN)] });
  });
});

describe('golden packets: neighbor resolution', () => {
  it('holds a packet while it resolves the next hop, then sends it', async () => {
    const r = await gw.send('lan', fromHost('10.0.1.77'));
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ arp_request_sent: 1, neighbor_wait: 1 });
    const req = decode(r.out.lan![0]!);
    expect(req.dst).toBe(BCAST);
    expect(req.arp).toEqual({ op: 1, sha: LAN, spa: '10.0.1.1', tha: '00:00:00:00:00:00', tpa: '10.0.1.77' });

    const mac77 = '02:aa:00:00:00:77';
    const reply = ethernet(
      { dst: LAN, src: mac77, type: 0x0806 },
      arpPayload({ op: 2, sha: mac77, spa: '10.0.1.77', tha: LAN, tpa: '10.0.1.1' }),
    );
    const r2 = await gw.send('lan', reply);
    expect(r2.events).toMatchObject({ arp_received: 1, neighbor_learned: 1, ip4_forwarded: 1 });
    expect(r2.out).toEqual({ lan: [forwarded('10.0.1.77', mac77, LAN)] });
    expect(gw.svc.neighbors()).toContainEqual(
      expect.objectContaining({ address: '10.0.1.77', mac: mac77, state: 'resolved' }),
    );
  });

  it('drops the held packet when the neighbor does not answer', async () => {
    const before = gw.counters();
    const sent = await gw.send('lan', fromHost('10.0.1.88'));
    expect(decode(sent.out.lan![0]!).arp?.tpa).toBe('10.0.1.88');
    await new Promise((res) => setTimeout(res, 400)); // retryMs is 300
    await gw.settle();
    const r = gw.collect(before);
    expect(r.events).toMatchObject({ neighbor_wait: 1 });
    expect(r.drops).toEqual({ neighbor_unresolved: 1 });
  });
});

describe('golden packets: configuration changes', () => {
  it('limits the rate of ICMP errors', async () => {
    await gw.svc.replaceConfig({ ...config, icmp: { errorsPerSecond: 1, burst: 3 } });
    const frames = Array.from({ length: 10 }, () => fromHost('8.8.8.8', { ttl: 1 }));
    const r = await gw.send('lan', ...frames);
    expect(r.drops).toEqual({ ip4_ttl_expired: 10 });
    expect(r.events.icmp_error_sent).toBe(3);
    expect(r.events.icmp_error_ratelimited).toBe(7);
    await gw.svc.replaceConfig(config);
  });

  it('routes by the new table as soon as a change is applied', async () => {
    const before = gw.svc.generation;
    const res = await gw.svc.replaceConfig({ ...config, routes: config.routes.slice(1) });
    expect(res).toEqual({ generation: before + 1, changed: true });
    expect((await gw.send('lan', fromHost('8.8.8.8'))).drops).toEqual({ ip4_no_route: 1 });
    await gw.svc.replaceConfig(config);
    expect((await gw.send('lan', fromHost('8.8.8.8'))).out.wan).toHaveLength(1);
  });

  it('reports an unchanged configuration without a new generation', async () => {
    const g = gw.svc.generation;
    expect(await gw.svc.replaceConfig(config)).toEqual({ generation: g, changed: false });
  });
});
