// Golden packets for the VPC overlay, through in-memory ports: VXLAN in from
// a hypervisor (VTEP), and what the gateway sends back out, byte by byte
// where it matters. Edge cases of decapsulation, anti-spoofing, proxy ARP,
// switching and routing (local, peering, transit, appliance), network ACLs,
// ICMP errors, MTU, and the underlay's own ARP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arpPayload, ethernet, ipv4, tcp, udpFrame, vxlanFrame } from '../../src/pkt/build.js';
import { decode, decodeVxlan } from '../../src/pkt/decode.js';
import { MemGateway } from '../support/mem-gateway.js';

const GW = '02:00:00:00:01:01'; // the underlay port, 192.168.100.1
const GW2 = '02:00:00:00:01:02'; // a second underlay port with a smaller MTU, 192.168.200.1
const ROUTER = '02:00:5e:10:00:01'; // the VMs' gateway MAC (default)
const HV = {
  hv1: { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' },
  hv2: { ip: '192.168.100.12', mac: '02:cc:00:00:00:12' },
  hv3: { ip: '192.168.200.13', mac: '02:cc:00:00:00:13' }, // behind the small-MTU port
  hv4: { ip: '192.168.100.14', mac: '02:cc:00:00:00:14' }, // no static neighbor: resolved by ARP
};
type Hv = keyof typeof HV;
const ENI = {
  a1: { mac: '02:a0:00:00:00:01', ip: '10.1.1.10', hv: 'hv1' as Hv, vni: 1001 },
  a2: { mac: '02:a0:00:00:00:02', ip: '10.1.1.20', hv: 'hv2' as Hv, vni: 1001 },
  a3: { mac: '02:a0:00:00:00:03', ip: '10.1.2.10', hv: 'hv2' as Hv, vni: 1001 },
  a4: { mac: '02:a0:00:00:00:04', ip: '10.1.2.40', hv: 'hv3' as Hv, vni: 1001 },
  a5: { mac: '02:a0:00:00:00:05', ip: '10.1.2.50', hv: 'hv4' as Hv, vni: 1001 },
  fw: { mac: '02:a0:00:00:00:fe', ip: '10.1.2.100', hv: 'hv1' as Hv, vni: 1001 },
  b1: { mac: '02:b0:00:00:00:01', ip: '10.2.1.10', hv: 'hv1' as Hv, vni: 1002 },
  c1: { mac: '02:c0:00:00:00:01', ip: '10.1.1.10', hv: 'hv2' as Hv, vni: 1003 },
  d1: { mac: '02:d0:00:00:00:01', ip: '10.4.1.10', hv: 'hv2' as Hv, vni: 1004 },
};
type EniName = keyof typeof ENI;

const config = {
  workers: [{ pollMode: 'adaptive' as const }],
  ports: [
    { name: 'underlay', type: 'mem' as const, mac: GW, mtu: 1600, addresses: ['192.168.100.1/24'] },
    { name: 'underlay2', type: 'mem' as const, mac: GW2, mtu: 1400, addresses: ['192.168.200.1/24'] },
  ],
  neighbors: [
    { port: 'underlay', address: HV.hv1.ip, mac: HV.hv1.mac },
    { port: 'underlay', address: HV.hv2.ip, mac: HV.hv2.mac },
    { port: 'underlay2', address: HV.hv3.ip, mac: HV.hv3.mac },
  ],
  overlay: { port: 'underlay' },
  vpcs: [
    { id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] },
    { id: 'vpc-b', vni: 1002, cidrs: ['10.2.0.0/16'] },
    { id: 'vpc-c', vni: 1003, cidrs: ['10.1.0.0/16'] }, // the same space as vpc-a
    { id: 'vpc-d', vni: 1004, cidrs: ['10.4.0.0/16'] },
  ],
  subnets: [
    { id: 'a1', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt-a' },
    { id: 'a2', vpc: 'vpc-a', cidr: '10.1.2.0/24', routeTable: 'rt-a', networkAcl: 'acl-a2' },
    { id: 'b1', vpc: 'vpc-b', cidr: '10.2.1.0/24', routeTable: 'rt-b' },
    { id: 'c1', vpc: 'vpc-c', cidr: '10.1.1.0/24', routeTable: 'rt-c' },
    { id: 'd1', vpc: 'vpc-d', cidr: '10.4.1.0/24', routeTable: 'rt-d' },
  ],
  enis: [
    ...(['a1', 'a2', 'a3', 'a4', 'a5', 'fw', 'b1', 'c1', 'd1'] as EniName[]).map((n) => ({
      id: `eni-${n}`,
      subnet: `${n[0]}${n === 'fw' ? '2' : ENI[n].ip.split('.')[2]}`.replace(/^f2$/, 'a2'),
      mac: ENI[n].mac,
      ip: ENI[n].ip,
      secondaryIps: n === 'a3' ? ['10.1.2.11'] : [],
      vtep: HV[ENI[n].hv].ip,
      securityGroups: [`sg-${n === 'fw' ? 'a' : n[0]}`],
    })),
    {
      id: 'eni-x', // detached: no VTEP
      subnet: 'a1',
      mac: '02:a0:00:00:00:99',
      ip: '10.1.1.30',
      secondaryIps: [] as string[],
      vtep: undefined as string | undefined,
      securityGroups: ['sg-a'],
    },
  ],
  routeTables: [
    {
      id: 'rt-a',
      vpc: 'vpc-a',
      routes: [
        { destination: '10.2.0.0/16', target: 'peering:pcx-ab' },
        { destination: '10.4.0.0/16', target: 'transit:tgw-1' },
        { destination: '10.1.66.0/24', target: 'blackhole' },
        { destination: '10.5.0.0/16', target: 'eni:eni-fw' },
      ],
    },
    { id: 'rt-b', vpc: 'vpc-b', routes: [{ destination: '10.1.0.0/16', target: 'peering:pcx-ab' }] },
    { id: 'rt-c', vpc: 'vpc-c' },
    { id: 'rt-d', vpc: 'vpc-d', routes: [{ destination: '10.1.0.0/16', target: 'transit:tgw-1' }] },
  ],
  peerings: [{ id: 'pcx-ab', vpcs: ['vpc-a', 'vpc-b'] as [string, string] }],
  transitGateways: [
    {
      id: 'tgw-1',
      attachments: ['vpc-a', 'vpc-d'],
      routes: [
        { destination: '10.1.0.0/16', target: 'vpc:vpc-a' },
        { destination: '10.4.0.0/16', target: 'vpc:vpc-d' },
      ],
    },
  ],
  networkAcls: [
    {
      id: 'acl-a2',
      vpc: 'vpc-a',
      inbound: [
        { rule: 100, action: 'deny' as const, protocol: 'tcp' as const, ports: 8080, cidr: '10.1.1.0/24' },
        { rule: 200, action: 'allow' as const, cidr: '0.0.0.0/0' },
      ],
      outbound: [{ rule: 100, action: 'allow' as const, cidr: '0.0.0.0/0' }],
    },
  ],
  // Open groups (everything in and out): the overlay alone, nothing tracked;
  // secgroup.test.ts has the stateful side.
  securityGroups: ['a', 'b', 'c', 'd'].map((v) => ({
    id: `sg-${v}`,
    vpc: `vpc-${v}`,
    inbound: [{ protocol: 'all' as const, cidr: '0.0.0.0/0' }],
  })),
};

let gw: MemGateway;
beforeAll(() => {
  gw = MemGateway.start(config);
});
afterAll(() => gw?.close());

/** A frame from ENI `from` as its hypervisor sends it to the gateway. */
function fromEni(from: EniName, inner: Buffer, o: { hv?: Hv; vni?: number; flags?: number } = {}): Buffer {
  const hv = HV[o.hv ?? ENI[from].hv];
  return vxlanFrame({
    dstMac: GW,
    srcMac: hv.mac,
    src: hv.ip,
    dst: '192.168.100.1',
    vni: o.vni ?? ENI[from].vni,
    inner,
    flags: o.flags,
  });
}

/** An inner UDP packet from an ENI; to the router unless `dstMac` says otherwise. */
function udpFrom(
  from: EniName,
  dst: string,
  o: { dstMac?: string; src?: string; ttl?: number; df?: boolean; len?: number } = {},
) {
  return udpFrame({
    dstMac: o.dstMac ?? ROUTER,
    srcMac: ENI[from].mac,
    src: o.src ?? ENI[from].ip,
    dst,
    ttl: o.ttl,
    df: o.df,
    frameLen: o.len ?? 60,
  }).subarray(0, o.len ?? 60);
}

function arpFrom(from: EniName, tpa: string, o: { spa?: string; sha?: string } = {}) {
  return ethernet(
    { dst: 'ff:ff:ff:ff:ff:ff', src: ENI[from].mac, type: 0x0806 },
    arpPayload({ op: 1, sha: o.sha ?? ENI[from].mac, spa: o.spa ?? ENI[from].ip, tpa }),
  );
}

/** The single VXLAN frame the gateway sent, decoded, checked to be well formed and sent to `to`'s VTEP. */
function sentTo(out: Record<string, Buffer[]>, to: EniName, port = 'underlay') {
  expect(Object.keys(out)).toEqual([port]);
  expect(out[port]).toHaveLength(1);
  const v = decodeVxlan(out[port]![0]!);
  const hv = HV[ENI[to].hv];
  expect(v.outer.dst).toBe(hv.mac);
  expect(v.outer.src).toBe(port === 'underlay' ? GW : GW2);
  expect(v.outer.ip).toMatchObject({
    src: '192.168.100.1', // the VTEP address, whichever port the packet leaves by
    dst: hv.ip,
    ttl: 64,
    df: true,
    proto: 17,
    checksumOk: true,
  });
  expect(v.dport).toBe(4789);
  expect(v.sport).toBeGreaterThanOrEqual(49152);
  expect(v.udpChecksum).toBe(0);
  expect(v.flags).toBe(0x08);
  expect(v.vni).toBe(ENI[to].vni);
  expect(v.outer.ip!.totalLength).toBe(36 + v.innerFrame.length);
  return v;
}

describe('overlay: proxy ARP', () => {
  it('answers ARP for the subnet gateway with the router MAC', async () => {
    const r = await gw.send('underlay', fromEni('a1', arpFrom('a1', '10.1.1.1')));
    expect(r.drops).toEqual({});
    const v = sentTo(r.out, 'a1');
    expect(v.inner.dst).toBe(ENI.a1.mac);
    expect(v.inner.arp).toEqual({ op: 2, sha: ROUTER, spa: '10.1.1.1', tha: ENI.a1.mac, tpa: ENI.a1.ip });
    expect(r.events).toMatchObject({
      vxlan_decapsulated: 1,
      overlay_arp_reply_sent: 1,
      vxlan_encapsulated: 1,
    });
  });

  it('answers ARP for another ENI of the subnet with its MAC (proxy ARP)', async () => {
    const r = await gw.send('underlay', fromEni('a1', arpFrom('a1', ENI.a2.ip)));
    const v = sentTo(r.out, 'a1');
    expect(v.inner.arp).toMatchObject({ op: 2, sha: ENI.a2.mac, spa: ENI.a2.ip, tpa: ENI.a1.ip });
  });

  const drops: [string, string, () => Buffer][] = [
    [
      'ARP for an address no ENI holds',
      'overlay_arp_unknown',
      () => fromEni('a1', arpFrom('a1', '10.1.1.99')),
    ],
    [
      'ARP for an ENI of another subnet',
      'overlay_arp_unknown',
      () => fromEni('a1', arpFrom('a1', ENI.a3.ip)),
    ],
    [
      'an ARP probe (no sender address)',
      'overlay_arp_unknown',
      () => fromEni('a1', arpFrom('a1', '10.1.1.1', { spa: '0.0.0.0' })),
    ],
    [
      'ARP claiming another address',
      'overlay_spoofed',
      () => fromEni('a1', arpFrom('a1', '10.1.1.1', { spa: '10.1.1.77' })),
    ],
  ];
  for (const [name, reason, frame] of drops) {
    it(`drops ${name} (${reason})`, async () => {
      const r = await gw.send('underlay', frame());
      expect(r.drops).toEqual({ [reason]: 1 });
      expect(r.out).toEqual({});
    });
  }
});

describe('overlay: switching and routing', () => {
  it('switches within a subnet: the inner frame arrives untouched', async () => {
    const inner = udpFrom('a1', ENI.a2.ip, { dstMac: ENI.a2.mac, len: 80 });
    const r = await gw.send('underlay', fromEni('a1', inner));
    expect(r.drops).toEqual({});
    const v = sentTo(r.out, 'a2');
    expect(v.innerFrame.equals(inner)).toBe(true);
    expect(r.events).toMatchObject({ overlay_switched: 1 });
  });

  it('routes between subnets: TTL one less, router MAC as source, checksums right', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.a3.ip, { len: 80 })));
    const v = sentTo(r.out, 'a3');
    const expected = udpFrame({
      dstMac: ENI.a3.mac,
      srcMac: ROUTER,
      src: ENI.a1.ip,
      dst: ENI.a3.ip,
      ttl: 63,
      frameLen: 80,
    });
    expect(v.innerFrame.equals(expected)).toBe(true);
    expect(r.events).toMatchObject({ overlay_routed: 1 });
  });

  it('keeps overlapping VPCs apart: 10.1.1.10 in vpc-a is not 10.1.1.10 in vpc-c', async () => {
    const r = await gw.send('underlay', fromEni('a3', udpFrom('a3', '10.1.1.10')));
    const v = sentTo(r.out, 'a1');
    expect(v.vni).toBe(1001);
    expect(v.inner.dst).toBe(ENI.a1.mac);
    const fromC = await gw.send('underlay', fromEni('c1', udpFrom('c1', '10.1.1.20')));
    expect(fromC.drops).toEqual({ overlay_no_eni: 1 }); // vpc-c has no 10.1.1.20
    const err = decodeVxlan(fromC.out.underlay![0]!);
    expect(err.vni).toBe(1003);
    expect(err.inner.icmp).toMatchObject({ type: 3, code: 1 });
  });

  it('routes across a peering, into the peer VNI', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.b1.ip)));
    const v = sentTo(r.out, 'b1');
    expect(v.inner).toMatchObject({
      dst: ENI.b1.mac,
      src: ROUTER,
      ip: { src: ENI.a1.ip, dst: ENI.b1.ip, ttl: 63 },
    });
    const back = await gw.send('underlay', fromEni('b1', udpFrom('b1', ENI.a1.ip)));
    expect(sentTo(back.out, 'a1').vni).toBe(1001);
  });

  it('routes through a transit gateway', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.d1.ip)));
    expect(sentTo(r.out, 'd1').inner.ip).toMatchObject({ src: ENI.a1.ip, dst: ENI.d1.ip });
    const back = await gw.send('underlay', fromEni('d1', udpFrom('d1', ENI.a3.ip)));
    expect(sentTo(back.out, 'a3').vni).toBe(1001);
  });

  it('routes to an appliance ENI, destination address unchanged', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', '10.5.0.7')));
    const v = sentTo(r.out, 'fw');
    expect(v.inner).toMatchObject({ dst: ENI.fw.mac, ip: { dst: '10.5.0.7' } });
  });

  it('accepts traffic from a secondary address', async () => {
    const r = await gw.send('underlay', fromEni('a3', udpFrom('a3', ENI.a1.ip, { src: '10.1.2.11' })));
    expect(sentTo(r.out, 'a1').inner.ip!.src).toBe('10.1.2.11');
  });

  it('spreads flows over outer source ports and keeps one flow on one', async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 16; i++) {
      const inner = udpFrame({
        dstMac: ROUTER,
        srcMac: ENI.a1.mac,
        src: ENI.a1.ip,
        dst: ENI.a3.ip,
        sport: 2000 + i,
      });
      const r = await gw.send('underlay', fromEni('a1', inner));
      ports.add(decodeVxlan(r.out.underlay![0]!).sport);
    }
    expect(ports.size).toBeGreaterThan(8);
    const again = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.a3.ip)));
      again.add(decodeVxlan(r.out.underlay![0]!).sport);
    }
    expect(again.size).toBe(1);
  });
});

describe('overlay: network ACLs', () => {
  const tcpFrom = (from: EniName, dst: string, dport: number) =>
    ethernet(
      { dst: ROUTER, src: ENI[from].mac, type: 0x0800 },
      ipv4({ src: ENI[from].ip, dst, proto: 6 }, tcp({ src: ENI[from].ip, dst, sport: 40000, dport })),
    );

  it('denies what the entered subnet denies (tcp/8080 from a1 into a2)', async () => {
    const r = await gw.send('underlay', fromEni('a1', tcpFrom('a1', ENI.a3.ip, 8080)));
    expect(r.drops).toEqual({ acl_inbound_denied: 1 });
    expect(r.out).toEqual({});
  });

  it('allows the rest (tcp/80)', async () => {
    const r = await gw.send('underlay', fromEni('a1', tcpFrom('a1', ENI.a3.ip, 80)));
    expect(sentTo(r.out, 'a3').inner.ip!.proto).toBe(6);
  });

  it('denies by the implicit rule when nothing matches, leaving as entering', async () => {
    const cfg = structuredClone(config);
    cfg.networkAcls[0]!.outbound = [
      { rule: 10, action: 'allow', protocol: 'udp' as never, ports: 53, cidr: '0.0.0.0/0' },
    ] as never;
    await gw.svc.replaceConfig(cfg);
    const r = await gw.send('underlay', fromEni('a3', tcpFrom('a3', ENI.a1.ip, 22)));
    expect(r.drops).toEqual({ acl_outbound_denied: 1 });
    await gw.svc.replaceConfig(config);
  });
});

describe('overlay: anti-spoofing', () => {
  const cases: [string, () => Buffer][] = [
    [
      'a known MAC through the wrong hypervisor',
      () => fromEni('a1', udpFrom('a1', ENI.a3.ip), { hv: 'hv2' }),
    ],
    [
      'a known MAC with an address that is not its own',
      () => fromEni('a1', udpFrom('a1', ENI.a3.ip, { src: '10.1.1.99' })),
    ],
    [
      'a known MAC with another ENI address',
      () => fromEni('a1', udpFrom('a1', ENI.a3.ip, { src: ENI.a2.ip })),
    ],
    [
      'an unknown MAC',
      () =>
        fromEni(
          'a1',
          udpFrame({ dstMac: ROUTER, srcMac: '02:66:66:66:66:66', src: ENI.a1.ip, dst: ENI.a3.ip }),
        ),
    ],
    ['a known MAC in another VPC', () => fromEni('a1', udpFrom('a1', ENI.a3.ip), { vni: 1003 })],
  ];
  for (const [name, frame] of cases) {
    it(`drops ${name} (overlay_spoofed)`, async () => {
      const r = await gw.send('underlay', frame());
      expect(r.drops).toEqual({ overlay_spoofed: 1 });
      expect(r.out).toEqual({});
    });
  }
});

describe('overlay: errors and edge cases', () => {
  it('sends net unreachable back to the VM for no route, from its subnet gateway', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', '8.8.8.8')));
    expect(r.drops).toEqual({ overlay_no_route: 1 });
    const v = sentTo(r.out, 'a1');
    expect(v.inner).toMatchObject({ dst: ENI.a1.mac, src: ROUTER });
    expect(v.inner.ip).toMatchObject({ src: '10.1.1.1', dst: ENI.a1.ip, checksumOk: true });
    expect(v.inner.icmp).toMatchObject({ type: 3, code: 0, checksumOk: true });
  });

  it('sends time exceeded for TTL 1', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.a3.ip, { ttl: 1 })));
    expect(r.drops).toEqual({ ip4_ttl_expired: 1 });
    expect(sentTo(r.out, 'a1').inner.icmp).toMatchObject({ type: 11, code: 0 });
  });

  it('drops into a blackhole', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', '10.1.66.5')));
    expect(r.drops).toEqual({ overlay_blackhole: 1 });
  });

  it('drops traffic to a detached ENI', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', '10.1.1.30')));
    expect(r.drops).toEqual({ overlay_eni_detached: 1 });
  });

  it('sends fragmentation needed when the frame would not fit the underlay MTU, with DF', async () => {
    // a4 lives behind underlay2 (MTU 1400): 1400 - 50 = 1350 is the inner path MTU
    const big = udpFrom('a1', ENI.a4.ip, { df: true, len: 14 + 1380 });
    const r = await gw.send('underlay', fromEni('a1', big));
    expect(r.drops).toEqual({ overlay_mtu_exceeded: 1 });
    expect(sentTo(r.out, 'a1').inner.icmp).toMatchObject({ type: 3, code: 4, seq: 1350 });
    const fits = await gw.send(
      'underlay',
      fromEni('a1', udpFrom('a1', ENI.a4.ip, { df: true, len: 14 + 1350 })),
    );
    expect(fits.drops).toEqual({});
    expect(sentTo(fits.out, 'a4', 'underlay2').outer.ip!.totalLength).toBe(1400);
  });

  it('drops an oversize frame without DF silently', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.a4.ip, { len: 14 + 1380 })));
    expect(r.drops).toEqual({ overlay_mtu_exceeded: 1 });
    expect(r.out).toEqual({});
  });

  it('resolves a VTEP on the underlay by ARP, holding the packet meanwhile', async () => {
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.a5.ip)));
    expect(r.drops).toEqual({});
    const req = decode(r.out.underlay![0]!);
    expect(req.arp).toMatchObject({ op: 1, spa: '192.168.100.1', tpa: HV.hv4.ip });
    const reply = ethernet(
      { dst: GW, src: HV.hv4.mac, type: 0x0806 },
      arpPayload({ op: 2, sha: HV.hv4.mac, spa: HV.hv4.ip, tha: GW, tpa: '192.168.100.1' }),
    );
    const r2 = await gw.send('underlay', reply);
    expect(sentTo(r2.out, 'a5').inner.ip!.dst).toBe(ENI.a5.ip);
  });

  const inner = udpFrom('a1', ENI.a3.ip);
  const cases: [string, string, () => Buffer][] = [
    ['a VXLAN header without the I flag', 'vxlan_bad_flags', () => fromEni('a1', inner, { flags: 0 })],
    ['an unknown VNI', 'vxlan_unknown_vni', () => fromEni('a1', inner, { vni: 4242 })],
    [
      'a UDP length beyond the packet',
      'vxlan_truncated',
      () => {
        const f = fromEni('a1', inner);
        f.writeUInt16BE(f.readUInt16BE(38) + 100, 38);
        return f;
      },
    ],
    [
      'an inner frame cut below an Ethernet header',
      'vxlan_truncated',
      () => {
        const f = fromEni('a1', inner.subarray(0, 10));
        return f;
      },
    ],
    ['an inner IPv4 header cut short', 'ip4_truncated', () => fromEni('a1', inner.subarray(0, 14 + 12))],
    [
      'an inner 802.1Q tag',
      'overlay_inner_vlan',
      () =>
        fromEni(
          'a1',
          udpFrame({ dstMac: ROUTER, srcMac: ENI.a1.mac, src: ENI.a1.ip, dst: ENI.a3.ip, vlan: 5 }),
        ),
    ],
    [
      'an inner broadcast that is not ARP',
      'overlay_broadcast',
      () => fromEni('a1', udpFrom('a1', ENI.a2.ip, { dstMac: 'ff:ff:ff:ff:ff:ff' })),
    ],
    [
      'an inner frame to an unknown MAC',
      'overlay_unknown_destination',
      () => fromEni('a1', udpFrom('a1', ENI.a2.ip, { dstMac: '02:77:00:00:00:01' })),
    ],
    [
      'an inner frame to an ENI MAC of another subnet',
      'overlay_unknown_destination',
      () => fromEni('a1', udpFrom('a1', ENI.a3.ip, { dstMac: ENI.a3.mac })),
    ],
    [
      'an outer fragment',
      'vxlan_fragmented',
      () => {
        const f = fromEni('a1', inner);
        const ip = f.subarray(14, 34);
        ip.writeUInt16BE(0x2000, 6); // MF
        ip.writeUInt16BE(0, 10);
        let s = 0;
        for (let i = 0; i < 20; i += 2) s += ip.readUInt16BE(i);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        ip.writeUInt16BE(~s & 0xffff, 10);
        return f;
      },
    ],
  ];
  for (const [name, reason, frame] of cases) {
    it(`drops ${name} (${reason})`, async () => {
      const r = await gw.send('underlay', frame());
      expect(r.drops).toEqual({ [reason]: 1 });
      expect(r.out).toEqual({});
    });
  }

  it('still forwards plain IPv4 on the underlay, and VXLAN to another port is not the overlay', async () => {
    const r = await gw.send(
      'underlay',
      vxlanFrame({
        dstMac: GW,
        srcMac: HV.hv1.mac,
        src: HV.hv1.ip,
        dst: '192.168.100.1',
        vni: 1001,
        inner,
        dport: 4790,
      }),
    );
    expect(r.drops).toEqual({ local_unsupported: 1 }); // UDP to the gateway on another port
  });
});

describe('overlay: configuration changes', () => {
  it('follows an ENI moved to another hypervisor at once', async () => {
    const moved = structuredClone(config);
    moved.enis.find((e) => e.id === 'eni-a3')!.vtep = HV.hv1.ip;
    await gw.svc.replaceConfig(moved);
    const r = await gw.send('underlay', fromEni('a1', udpFrom('a1', ENI.a3.ip)));
    expect(decodeVxlan(r.out.underlay![0]!).outer.ip!.dst).toBe(HV.hv1.ip);
    // and its own traffic now comes from there
    const fromNew = await gw.send('underlay', fromEni('a3', udpFrom('a3', ENI.a1.ip), { hv: 'hv1' }));
    expect(fromNew.drops).toEqual({});
    const fromOld = await gw.send('underlay', fromEni('a3', udpFrom('a3', ENI.a1.ip), { hv: 'hv2' }));
    expect(fromOld.drops).toEqual({ overlay_spoofed: 1 });
    await gw.svc.replaceConfig(config);
  });

  it('releases a secondary address in one change', async () => {
    const released = structuredClone(config);
    released.enis.find((e) => e.id === 'eni-a3')!.secondaryIps = [];
    await gw.svc.replaceConfig(released);
    const r = await gw.send('underlay', fromEni('a3', udpFrom('a3', ENI.a1.ip, { src: '10.1.2.11' })));
    expect(r.drops).toEqual({ overlay_spoofed: 1 });
    await gw.svc.replaceConfig(config);
  });
});

describe('overlay: the subnet gateway', () => {
  it('answers ping for the subnet gateway address', async () => {
    const { icmp } = await import('../../src/pkt/build.js');
    const data = Buffer.from('ping the router');
    const req = ethernet(
      { dst: ROUTER, src: ENI.a1.mac, type: 0x0800 },
      ipv4({ src: ENI.a1.ip, dst: '10.1.1.1', proto: 1, id: 7 }, icmp({ type: 8, id: 9, seq: 1, data })),
    );
    const r = await gw.send('underlay', fromEni('a1', req));
    expect(r.drops).toEqual({});
    const v = sentTo(r.out, 'a1');
    const reply = ethernet(
      { dst: ENI.a1.mac, src: ROUTER, type: 0x0800 },
      ipv4({ src: '10.1.1.1', dst: ENI.a1.ip, proto: 1, id: 7 }, icmp({ type: 0, id: 9, seq: 1, data })),
    );
    expect(v.innerFrame.equals(reply)).toBe(true);
  });
});
