// Golden packets for an internal load balancer: a VIP inside a VPC whose
// backends are ENIs (nat mode), through in-memory ports in VXLAN: the
// request rewritten to a backend, the reply given the VIP back, the
// security groups of both sides, ARP for the VIP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { arpPayload, ethernet, ipv4, tcp, vxlanFrame } from '../../src/pkt/build.js';
import { decode, decodeVxlan } from '../../src/pkt/decode.js';
import { MemGateway } from '../support/mem-gateway.js';

const GW = '02:00:00:00:01:01'; // underlay, 192.168.100.1
const ROUTER = '02:00:5e:10:00:01';
const HV = { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' };
const VIP = '10.1.3.100';
const ENI = {
  c1: { mac: '02:a0:00:00:00:01', ip: '10.1.1.10' },
  b1: { mac: '02:a0:00:00:00:11', ip: '10.1.2.11' },
  b2: { mac: '02:a0:00:00:00:12', ip: '10.1.2.12' },
};
type Name = keyof typeof ENI;
const BY_IP = Object.fromEntries(Object.entries(ENI).map(([n, e]) => [e.ip, n]));

function config(): ConfigInput {
  return {
    ports: [{ name: 'underlay', type: 'mem', mac: GW, mtu: 1600, addresses: ['192.168.100.1/24'] }],
    neighbors: [{ port: 'underlay', address: HV.ip, mac: HV.mac }],
    overlay: { port: 'underlay' },
    vpcs: [{ id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] }],
    subnets: [
      { id: 'clients', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt' },
      { id: 'web', vpc: 'vpc-a', cidr: '10.1.2.0/24', routeTable: 'rt' },
    ],
    routeTables: [{ id: 'rt', vpc: 'vpc-a' }],
    enis: Object.entries(ENI).map(([n, e]) => ({
      id: `eni-${n}`,
      subnet: n === 'c1' ? 'clients' : 'web',
      mac: e.mac,
      ip: e.ip,
      vtep: HV.ip,
      securityGroups: [n === 'c1' ? 'sg-clients' : 'sg-web'],
    })),
    securityGroups: [
      { id: 'sg-clients', vpc: 'vpc-a' },
      { id: 'sg-web', vpc: 'vpc-a', inbound: [{ protocol: 'tcp', ports: 8080, cidr: '10.1.0.0/16' }] },
    ],
    loadBalancers: [
      {
        id: 'internal-web',
        vpc: 'vpc-a',
        vip: VIP,
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        scheduler: 'rr',
        backends: [
          { ip: ENI.b1.ip, port: 8080 },
          { ip: ENI.b2.ip, port: 8080 },
        ],
      },
      {
        id: 'internal-closed',
        vpc: 'vpc-a',
        vip: VIP,
        protocol: 'tcp',
        port: 81,
        mode: 'nat',
        backends: [{ ip: ENI.b1.ip, port: 9090 }],
      },
    ],
  };
}

const fromEni = (from: Name, dst: string, dstMac: string, l4: Buffer) =>
  vxlanFrame({
    dstMac: GW,
    srcMac: HV.mac,
    src: HV.ip,
    dst: '192.168.100.1',
    vni: 1001,
    inner: ethernet(
      { dst: dstMac, src: ENI[from].mac, type: 0x0800 },
      ipv4({ src: ENI[from].ip, dst, proto: 6, ttl: 64 }, l4),
    ),
  });
const tcpFrom = (from: Name, dst: string, sport: number, dport: number, flags = 0x02) =>
  fromEni(from, dst, ROUTER, tcp({ src: ENI[from].ip, dst, sport, dport, flags }));

/** The inner frame of the one VXLAN frame sent, decoded and checked. */
function inner(out: Record<string, Buffer[]>) {
  expect(out.underlay).toHaveLength(1);
  const v = decodeVxlan(out.underlay![0]!);
  expect(v.vni).toBe(1001);
  const d = decode(v.innerFrame);
  expect(d.ip!.checksumOk).toBe(true);
  expect(d.l4ChecksumOk).toBe(true);
  return d;
}

let gw: MemGateway;
beforeAll(() => {
  gw = MemGateway.start(config());
});
afterAll(() => gw?.close());

describe('internal load balancer', () => {
  it('sends a connection to the VIP to a backend ENI, and the reply back from the VIP', async () => {
    const r = await gw.send('underlay', tcpFrom('c1', VIP, 40000, 80));
    expect(r.drops).toEqual({});
    const d = inner(r.out);
    const backend = BY_IP[d.ip!.dst] as Name;
    expect(['b1', 'b2']).toContain(backend);
    expect(d.dst).toBe(ENI[backend].mac);
    expect(d.ip).toMatchObject({ src: ENI.c1.ip, ttl: 63 });
    expect(d.tcp).toMatchObject({ sport: 40000, dport: 8080 });
    expect(r.events).toMatchObject({ lb_connection_created: 1, lb_forwarded: 1 });

    const back = await gw.send('underlay', tcpFrom(backend, ENI.c1.ip, 8080, 40000, 0x12));
    expect(back.drops).toEqual({});
    const rep = inner(back.out);
    expect(rep.dst).toBe(ENI.c1.mac);
    expect(rep.ip).toMatchObject({ src: VIP, dst: ENI.c1.ip });
    expect(rep.tcp).toMatchObject({ sport: 80, dport: 40000, flags: 0x12 });
    expect(back.events).toMatchObject({ lb_replied: 1 });

    // The connection stays on its backend.
    const again = inner((await gw.send('underlay', tcpFrom('c1', VIP, 40000, 80, 0x10))).out);
    expect(again.ip!.dst).toBe(ENI[backend].ip);
  });

  it('spreads connections over the backends (rr)', async () => {
    const seen = new Set<string>();
    for (let port = 41000; port < 41004; port++)
      seen.add(inner((await gw.send('underlay', tcpFrom('c1', VIP, port, 80))).out).ip!.dst);
    expect(seen).toEqual(new Set([ENI.b1.ip, ENI.b2.ip]));
  });

  it("asks the backend's security groups, on the backend's port", async () => {
    const r = await gw.send('underlay', tcpFrom('c1', VIP, 42000, 81));
    expect(r.drops).toEqual({ sg_inbound_denied: 1 });
  });

  it('answers ARP for the VIP with the router', async () => {
    const arp = vxlanFrame({
      dstMac: GW,
      srcMac: HV.mac,
      src: HV.ip,
      dst: '192.168.100.1',
      vni: 1001,
      inner: ethernet(
        { dst: 'ff:ff:ff:ff:ff:ff', src: ENI.c1.mac, type: 0x0806 },
        arpPayload({ op: 1, sha: ENI.c1.mac, spa: ENI.c1.ip, tpa: VIP }),
      ),
    });
    const r = await gw.send('underlay', arp);
    const d = decode(decodeVxlan(r.out.underlay![0]!).innerFrame);
    expect(d.arp).toMatchObject({ op: 2, sha: ROUTER, spa: VIP });
  });

  it('refuses a port the VIP does not serve as it would an address without an ENI', async () => {
    const r = await gw.send('underlay', tcpFrom('c1', VIP, 43000, 443));
    expect(r.drops).toEqual({ overlay_no_eni: 1 });
  });

  it('gives a reply the VIP back also between ENIs whose groups leave nothing to track', async () => {
    const open = config();
    for (const g of open.securityGroups!) g.inbound = [{ protocol: 'all', cidr: '0.0.0.0/0' }];
    const g2 = MemGateway.start(open);
    try {
      const d = inner((await g2.send('underlay', tcpFrom('c1', VIP, 44000, 80))).out);
      const backend = BY_IP[d.ip!.dst] as Name;
      const rep = inner((await g2.send('underlay', tcpFrom(backend, ENI.c1.ip, 8080, 44000, 0x12))).out);
      expect(rep.ip!.src).toBe(VIP);
      // Between the client and the backend directly, nothing is tracked.
      const direct = await g2.send('underlay', tcpFrom('c1', ENI.b1.ip, 44001, 8080));
      expect(direct.events).toMatchObject({ conntrack_untracked: 1 });
    } finally {
      g2.close();
    }
  });
});
