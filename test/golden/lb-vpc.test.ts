// Golden packets for an internal load balancer: a VIP inside a VPC whose
// backends are ENIs, through in-memory ports in VXLAN. nat: the request
// rewritten to a backend, the reply given the VIP back. dr: the request
// sent to the backend ENI's MAC and hypervisor with its IP header as it
// was, the backend's reply from the VIP let through as the connection's.
// fullnat: the request from a local address of the VPC, the reply to it
// translated back. tunnel: the request in IP-in-IP to the backend ENI, the
// reply from the VIP as for dr. The security groups of both sides, ARP for
// the VIP.
// ICMP errors about load-balanced connections, either way, each made the
// one its receiver expects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { arpPayload, ethernet, icmp, ipv4, tcp, vxlanFrame } from '../../src/pkt/build.js';
import { decode, decodeVxlan } from '../../src/pkt/decode.js';
import { MemGateway } from '../support/mem-gateway.js';

const GW = '02:00:00:00:01:01'; // underlay, 192.168.100.1
const ROUTER = '02:00:5e:10:00:01';
const HV = { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' };
const VIP = '10.1.3.100';
const DR_VIP = '10.1.3.200';
const FN_VIP = '10.1.3.150';
const FN_LOCAL = '10.1.3.250';
const TUN_VIP = '10.1.3.210';
const WEB_GATEWAY = '10.1.2.1'; // the backends' subnet's router: the tunnels' source
const ENI = {
  c1: { mac: '02:a0:00:00:00:01', ip: '10.1.1.10' },
  c2: { mac: '02:a0:00:00:00:02', ip: '10.1.2.20' }, // a client on the backends' subnet
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
      securityGroups: [n.startsWith('c') ? 'sg-clients' : 'sg-web'],
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
      {
        id: 'internal-dr',
        vpc: 'vpc-a',
        vip: DR_VIP,
        protocol: 'tcp',
        port: 8080,
        mode: 'dr',
        scheduler: 'rr',
        backends: [{ ip: ENI.b1.ip }, { ip: ENI.b2.ip }],
      },
      {
        id: 'internal-fullnat',
        vpc: 'vpc-a',
        vip: FN_VIP,
        protocol: 'tcp',
        port: 80,
        mode: 'fullnat',
        scheduler: 'rr',
        localIps: [FN_LOCAL],
        backends: [
          { ip: ENI.b1.ip, port: 8080 },
          { ip: ENI.b2.ip, port: 8080 },
        ],
      },
      {
        id: 'internal-tunnel',
        vpc: 'vpc-a',
        vip: TUN_VIP,
        protocol: 'tcp',
        port: 8080,
        mode: 'tunnel',
        scheduler: 'rr',
        backends: [{ ip: ENI.b1.ip }, { ip: ENI.b2.ip }],
      },
      {
        id: 'internal-dr-closed',
        vpc: 'vpc-a',
        vip: DR_VIP,
        protocol: 'tcp',
        port: 9090,
        mode: 'dr',
        backends: [{ ip: ENI.b1.ip }],
      },
    ],
  };
}

/** ENI `from`'s ARP request for `tpa`, and the answer the gateway sent into the VPC (decoded). */
async function arpFor(from: Name, tpa: string) {
  const arp = vxlanFrame({
    dstMac: GW,
    srcMac: HV.mac,
    src: HV.ip,
    dst: '192.168.100.1',
    vni: 1001,
    inner: ethernet(
      { dst: 'ff:ff:ff:ff:ff:ff', src: ENI[from].mac, type: 0x0806 },
      arpPayload({ op: 1, sha: ENI[from].mac, spa: ENI[from].ip, tpa }),
    ),
  });
  return decode(decodeVxlan((await gw.send('underlay', arp)).out.underlay![0]!).innerFrame).arp;
}

const fromEni = (from: Name, dst: string, dstMac: string, l4: Buffer, src = ENI[from].ip, vtep = HV.ip) =>
  vxlanFrame({
    dstMac: GW,
    srcMac: HV.mac,
    src: vtep,
    dst: '192.168.100.1',
    vni: 1001,
    inner: ethernet(
      { dst: dstMac, src: ENI[from].mac, type: 0x0800 },
      ipv4({ src, dst, proto: 6, ttl: 64 }, l4),
    ),
  });
const tcpFrom = (from: Name, dst: string, sport: number, dport: number, flags = 0x02) =>
  fromEni(from, dst, ROUTER, tcp({ src: ENI[from].ip, dst, sport, dport, flags }));
/** The inner IPv4 packet a dr backend sends from the VIP. */
const drReply = (client: string, cport: number, flags = 0x12) =>
  ipv4(
    { src: DR_VIP, dst: client, proto: 6, ttl: 64 },
    tcp({ src: DR_VIP, dst: client, sport: 8080, dport: cport, flags }),
  );
/** That packet from backend `from`'s ENI, to `dstMac`, through hypervisor `vtep`. */
const drReplyFrame = (
  from: Name,
  client: string,
  cport: number,
  dstMac = ROUTER,
  vtep = HV.ip,
  flags = 0x12,
) =>
  vxlanFrame({
    dstMac: GW,
    srcMac: HV.mac,
    src: vtep,
    dst: '192.168.100.1',
    vni: 1001,
    inner: ethernet({ dst: dstMac, src: ENI[from].mac, type: 0x0800 }, drReply(client, cport, flags)),
  });
/** An IPv4 packet with its TTL and header checksum left out: what routing may change. */
const routedView = (l3: Buffer) => Buffer.concat([l3.subarray(0, 8), l3.subarray(9, 10), l3.subarray(12)]);

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
    expect(await arpFor('c1', VIP)).toMatchObject({ op: 2, sha: ROUTER, spa: VIP });
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

describe('internal load balancer, direct routing (dr)', () => {
  const request = (from: Name, sport: number, flags = 0x02, dport = 8080) =>
    ipv4(
      { src: ENI[from].ip, dst: DR_VIP, proto: 6, ttl: 64 },
      tcp({ src: ENI[from].ip, dst: DR_VIP, sport, dport, flags }),
    );
  const send = (from: Name, l3: Buffer) =>
    gw.send(
      'underlay',
      vxlanFrame({
        dstMac: GW,
        srcMac: HV.mac,
        src: HV.ip,
        dst: '192.168.100.1',
        vni: 1001,
        inner: ethernet({ dst: ROUTER, src: ENI[from].mac, type: 0x0800 }, l3),
      }),
    );
  const l3Of = (out: Record<string, Buffer[]>) => {
    inner(out);
    return decodeVxlan(out.underlay![0]!).innerFrame.subarray(14);
  };

  it("sends a connection to the backend ENI's MAC and hypervisor, the IP header as it was", async () => {
    const req = request('c1', 50000);
    const r = await send('c1', req);
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_connection_created: 1, lb_forwarded: 1 });
    const v = decodeVxlan(r.out.underlay![0]!);
    expect(v.outer.ip!.dst).toBe(HV.ip);
    const d = inner(r.out);
    const backend = [ENI.b1, ENI.b2].find((e) => e.mac === d.dst);
    expect(backend).toBeDefined();
    expect(d.src).toBe(ROUTER);
    // The addresses, ports and everything else as the client sent them;
    // only the TTL (a routed hop) and with it the header checksum move.
    const out = l3Of(r.out);
    expect(routedView(out)).toEqual(routedView(req));
    expect(d.ip).toMatchObject({ src: ENI.c1.ip, dst: DR_VIP, ttl: 63 });
    expect(d.tcp).toMatchObject({ sport: 50000, dport: 8080 });
  });

  it("lets the backend's reply from the VIP back to the client as the connection's, untouched", async () => {
    const r = await send('c1', request('c1', 50100));
    const backend = BY_IP[[ENI.b1, ENI.b2].find((e) => e.mac === inner(r.out).dst)!.ip] as Name;
    const before = gw.svc.loadBalancers().find((l) => l.id === 'internal-dr')!;

    // The client's groups take nothing in: only the connection lets it back.
    const reply = drReply(ENI.c1.ip, 50100);
    const back = await gw.send('underlay', drReplyFrame(backend, ENI.c1.ip, 50100));
    expect(back.drops).toEqual({});
    expect(back.events).toMatchObject({ lb_replied: 1, overlay_routed: 1 });
    const d = inner(back.out);
    expect(d.dst).toBe(ENI.c1.mac);
    expect(d.ip).toMatchObject({ src: DR_VIP, dst: ENI.c1.ip, ttl: 63 });
    expect(d.tcp).toMatchObject({ sport: 8080, dport: 50100, flags: 0x12 });
    expect(routedView(l3Of(back.out))).toEqual(routedView(reply));

    // The connection stays on its backend, and the backend's counters move
    // both ways.
    const again = inner((await send('c1', request('c1', 50100, 0x10))).out);
    expect(again.dst).toBe(ENI[backend].mac);
    const after = gw.svc.loadBalancers().find((l) => l.id === 'internal-dr')!;
    const at = (v: typeof before) => v.backends.find((b) => b.ip === ENI[backend].ip)!;
    expect(at(after).packets - at(before).packets).toBe(2);
    expect(at(after).connections).toBeGreaterThanOrEqual(1);
  });

  it('spreads connections over the backends (rr)', async () => {
    const seen = new Set<string>();
    for (let port = 51000; port < 51004; port++)
      seen.add(inner((await send('c1', request('c1', port))).out).dst);
    expect(seen).toEqual(new Set([ENI.b1.mac, ENI.b2.mac]));
  });

  it("switches the backend's reply to a client on its own subnet", async () => {
    const r = await send('c2', request('c2', 52000));
    expect(r.drops).toEqual({});
    const backend = BY_IP[[ENI.b1, ENI.b2].find((e) => e.mac === inner(r.out).dst)!.ip] as Name;
    // The backend knows the client on its link: to its MAC, not the router's.
    const back = await gw.send('underlay', drReplyFrame(backend, ENI.c2.ip, 52000, ENI.c2.mac));
    expect(back.drops).toEqual({});
    expect(back.events).toMatchObject({ lb_replied: 1, overlay_switched: 1 });
    const d = inner(back.out);
    expect(d.dst).toBe(ENI.c2.mac);
    expect(d.ip).toMatchObject({ src: DR_VIP, dst: ENI.c2.ip, ttl: 64 });
  });

  it("asks the client's groups for the VIP and the backend's for the service port", async () => {
    const r = await send('c1', request('c1', 53000, 0x02, 9090));
    expect(r.drops).toEqual({ sg_inbound_denied: 1 });
    expect(r.out).toEqual({});
  });

  it('refuses what sends from the VIP and is no backend of it', async () => {
    // A client ENI, a backend from another hypervisor, a backend of the
    // nat VIP (which it does not hold): all spoofed.
    const fromClient = fromEni(
      'c1',
      ENI.c2.ip,
      ROUTER,
      tcp({ src: DR_VIP, dst: ENI.c2.ip, sport: 8080, dport: 1 }),
      DR_VIP,
    );
    const otherHv = drReplyFrame('b1', ENI.c1.ip, 54000, ROUTER, '192.168.100.12');
    const natVip = fromEni(
      'b1',
      ENI.c1.ip,
      ROUTER,
      tcp({ src: VIP, dst: ENI.c1.ip, sport: 80, dport: 54001 }),
      VIP,
    );
    for (const frame of [fromClient, otherHv, natVip]) {
      const r = await gw.send('underlay', frame);
      expect(r.drops).toEqual({ overlay_spoofed: 1 });
      expect(r.out).toEqual({});
    }
  });

  it("asks the client's groups for a packet from the VIP that is no reply", async () => {
    const r = await gw.send('underlay', drReplyFrame('b1', ENI.c1.ip, 55000, ROUTER, HV.ip, 0x02));
    expect(r.drops).toEqual({ sg_inbound_denied: 1 });
  });

  it('answers ARP for the dr VIP with the router', async () => {
    expect(await arpFor('c1', DR_VIP)).toMatchObject({ op: 2, sha: ROUTER, spa: DR_VIP });
  });

  it('tracks the reply between ENIs whose groups leave nothing to track', async () => {
    const open = config();
    for (const g of open.securityGroups!) g.inbound = [{ protocol: 'all', cidr: '0.0.0.0/0' }];
    const g2 = MemGateway.start(open);
    try {
      const r = await g2.send(
        'underlay',
        fromEni(
          'c1',
          DR_VIP,
          ROUTER,
          tcp({ src: ENI.c1.ip, dst: DR_VIP, sport: 56000, dport: 8080, flags: 0x02 }),
        ),
      );
      const backend = BY_IP[[ENI.b1, ENI.b2].find((e) => e.mac === inner(r.out).dst)!.ip] as Name;
      const back = await g2.send('underlay', drReplyFrame(backend, ENI.c1.ip, 56000));
      expect(back.drops).toEqual({});
      expect(back.events).toMatchObject({ lb_replied: 1 });
      expect(back.events.conntrack_untracked).toBeUndefined();
      expect(inner(back.out).ip!.src).toBe(DR_VIP);
    } finally {
      g2.close();
    }
  });
});

describe('internal load balancer, fullnat', () => {
  it('sends a connection to a backend from a local address, and the reply back from the VIP', async () => {
    const r = await gw.send('underlay', tcpFrom('c1', FN_VIP, 57000, 80));
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_connection_created: 1, lb_forwarded: 1 });
    const d = inner(r.out);
    const backend = BY_IP[d.ip!.dst] as Name;
    expect(['b1', 'b2']).toContain(backend);
    expect(d.dst).toBe(ENI[backend].mac);
    expect(d.ip).toMatchObject({ src: FN_LOCAL, ttl: 63 });
    expect(d.tcp!.dport).toBe(8080);
    const lport = d.tcp!.sport;
    expect(lport).toBeGreaterThanOrEqual(1024);

    // The client's groups take nothing in: only the connection lets it back.
    const back = await gw.send('underlay', tcpFrom(backend, FN_LOCAL, 8080, lport, 0x12));
    expect(back.drops).toEqual({});
    expect(back.events).toMatchObject({ lb_replied: 1 });
    const rep = inner(back.out);
    expect(rep.dst).toBe(ENI.c1.mac);
    expect(rep.ip).toMatchObject({ src: FN_VIP, dst: ENI.c1.ip, ttl: 63 });
    expect(rep.tcp).toMatchObject({ sport: 80, dport: 57000, flags: 0x12 });

    // The connection keeps its backend and local port.
    const again = inner((await gw.send('underlay', tcpFrom('c1', FN_VIP, 57000, 80, 0x10))).out);
    expect(again.ip).toMatchObject({ src: FN_LOCAL, dst: ENI[backend].ip });
    expect(again.tcp!.sport).toBe(lport);
  });

  it('drops what comes to a local address and is no connection', async () => {
    const r = await gw.send('underlay', tcpFrom('b1', FN_LOCAL, 8080, 1999, 0x12));
    expect(r.drops).toEqual({ lb_no_connection: 1 });
    expect(r.out).toEqual({});
  });

  it('answers ARP for a local address with the router', async () => {
    expect(await arpFor('b1', FN_LOCAL)).toMatchObject({ op: 2, sha: ROUTER, spa: FN_LOCAL });
  });
});

describe('ICMP errors about internal load-balanced connections', () => {
  /** An IPv4 packet from ENI `from`, to `dstMac`. */
  const l3From = (from: Name, l3: Buffer, dstMac = ROUTER) =>
    vxlanFrame({
      dstMac: GW,
      srcMac: HV.mac,
      src: HV.ip,
      dst: '192.168.100.1',
      vni: 1001,
      inner: ethernet({ dst: dstMac, src: ENI[from].mac, type: 0x0800 }, l3),
    });
  /** An ICMP error `err` from ENI `from`'s address to `dst`. */
  const errorFrom = (from: Name, dst: string, err: Buffer, dstMac = ROUTER) =>
    l3From(from, ipv4({ src: ENI[from].ip, dst, proto: 1, ttl: 64 }, err), dstMac);
  /** The one ICMP error sent, its checksums checked, and the packet it quotes (whole: checksums checked too). */
  function sentError(out: Record<string, Buffer[]>) {
    expect(out.underlay).toHaveLength(1);
    const v = decodeVxlan(out.underlay![0]!);
    expect(v.vni).toBe(1001);
    const d = decode(v.innerFrame);
    expect(d.ip!.checksumOk).toBe(true);
    expect(d.icmp!.checksumOk).toBe(true);
    const q = decode(Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), d.icmp!.payload]));
    expect(q.ip!.checksumOk).toBe(true);
    expect(q.l4ChecksumOk).toBe(true);
    return { d, q };
  }
  /** A connection from c1 to `vip`:`vport` and the backend's answer: the backend, the request as it got it, the reply as c1 got it. */
  async function connect(vip: string, vport: number, cport: number) {
    const fwd = inner((await gw.send('underlay', tcpFrom('c1', vip, cport, vport))).out);
    const backend = BY_IP[fwd.ip!.dst] as Name;
    const back = await gw.send('underlay', tcpFrom(backend, fwd.ip!.src, 8080, fwd.tcp!.sport, 0x12));
    expect(back.drops).toEqual({});
    return { backend, request: fwd.l3, reply: inner(back.out).l3, lport: fwd.tcp!.sport };
  }

  it("translates the client's fragmentation-needed about a nat reply for the backend", async () => {
    const { backend, reply } = await connect(VIP, 80, 60000);
    const r = await gw.send(
      'underlay',
      errorFrom('c1', VIP, icmp({ type: 3, code: 4, rest: 1400, data: reply })),
    );
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_forwarded: 1, overlay_routed: 1 });
    const { d, q } = sentError(r.out);
    expect(d.dst).toBe(ENI[backend].mac);
    expect(d.ip).toMatchObject({ src: ENI.c1.ip, dst: ENI[backend].ip, ttl: 63 });
    expect(d.icmp).toMatchObject({ type: 3, code: 4, seq: 1400 });
    expect(q.ip).toMatchObject({ src: ENI[backend].ip, dst: ENI.c1.ip });
    expect(q.tcp).toMatchObject({ sport: 8080, dport: 60000, flags: 0x12 });
  });

  it("translates a nat backend's error about a request back to the client, from the VIP", async () => {
    const { backend, request } = await connect(VIP, 80, 60100);
    const r = await gw.send(
      'underlay',
      errorFrom(backend, ENI.c1.ip, icmp({ type: 3, code: 13, data: request })),
    );
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_replied: 1, overlay_routed: 1 });
    const { d, q } = sentError(r.out);
    expect(d.dst).toBe(ENI.c1.mac);
    expect(d.ip).toMatchObject({ src: VIP, dst: ENI.c1.ip, ttl: 63 });
    expect(d.icmp).toMatchObject({ type: 3, code: 13 });
    expect(q.ip).toMatchObject({ src: ENI.c1.ip, dst: VIP });
    expect(q.tcp).toMatchObject({ sport: 60100, dport: 80, flags: 0x02 });
  });

  it("translates a nat backend's error to a client on its own subnet (switched)", async () => {
    const fwd = inner((await gw.send('underlay', tcpFrom('c2', VIP, 60200, 80))).out);
    const backend = BY_IP[fwd.ip!.dst] as Name;
    const r = await gw.send(
      'underlay',
      errorFrom(backend, ENI.c2.ip, icmp({ type: 3, code: 13, data: fwd.l3 }), ENI.c2.mac),
    );
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_replied: 1, overlay_switched: 1 });
    const { d, q } = sentError(r.out);
    expect(d.dst).toBe(ENI.c2.mac);
    expect(d.ip).toMatchObject({ src: VIP, dst: ENI.c2.ip, ttl: 64 });
    expect(q.ip).toMatchObject({ src: ENI.c2.ip, dst: VIP });
    expect(q.tcp).toMatchObject({ sport: 60200, dport: 80 });
  });

  it("translates the client's error about a fullnat reply for the backend, from the local address", async () => {
    const { backend, reply, lport } = await connect(FN_VIP, 80, 60300);
    const r = await gw.send(
      'underlay',
      errorFrom('c1', FN_VIP, icmp({ type: 3, code: 4, rest: 1400, data: reply })),
    );
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_forwarded: 1 });
    const { d, q } = sentError(r.out);
    expect(d.dst).toBe(ENI[backend].mac);
    expect(d.ip).toMatchObject({ src: FN_LOCAL, dst: ENI[backend].ip, ttl: 63 });
    expect(d.icmp).toMatchObject({ type: 3, code: 4, seq: 1400 });
    expect(q.ip).toMatchObject({ src: ENI[backend].ip, dst: FN_LOCAL });
    expect(q.tcp).toMatchObject({ sport: 8080, dport: lport });
  });

  it("translates a fullnat backend's error to the local address back to the client, from the VIP", async () => {
    const { backend, request } = await connect(FN_VIP, 80, 60400);
    const r = await gw.send(
      'underlay',
      errorFrom(backend, FN_LOCAL, icmp({ type: 11, code: 0, data: request })),
    );
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_replied: 1 });
    const { d, q } = sentError(r.out);
    expect(d.dst).toBe(ENI.c1.mac);
    expect(d.ip).toMatchObject({ src: FN_VIP, dst: ENI.c1.ip, ttl: 63 });
    expect(d.icmp).toMatchObject({ type: 11, code: 0 });
    expect(q.ip).toMatchObject({ src: ENI.c1.ip, dst: FN_VIP });
    expect(q.tcp).toMatchObject({ sport: 60400, dport: 80 });
  });

  it("passes the client's error about a dr reply to the backend that sent it, untouched", async () => {
    const fwd = inner((await gw.send('underlay', tcpFrom('c1', DR_VIP, 60500, 8080))).out);
    const backend = [ENI.b1, ENI.b2].find((e) => e.mac === fwd.dst)!;
    const err = ipv4(
      { src: ENI.c1.ip, dst: DR_VIP, proto: 1, ttl: 64 },
      icmp({ type: 3, code: 4, rest: 1400, data: drReply(ENI.c1.ip, 60500) }),
    );
    const r = await gw.send('underlay', l3From('c1', err));
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_forwarded: 1 });
    const { d } = sentError(r.out);
    expect(d.dst).toBe(backend.mac);
    expect(d.ip).toMatchObject({ ttl: 63 });
    expect(routedView(d.l3)).toEqual(routedView(err));
  });

  it("lets a dr backend's error about a request, from the VIP, reach the client as it is", async () => {
    const fwd = inner((await gw.send('underlay', tcpFrom('c1', DR_VIP, 60600, 8080))).out);
    const backend = BY_IP[[ENI.b1, ENI.b2].find((e) => e.mac === fwd.dst)!.ip] as Name;
    const err = ipv4(
      { src: DR_VIP, dst: ENI.c1.ip, proto: 1, ttl: 64 },
      icmp({ type: 3, code: 13, data: fwd.l3 }),
    );
    const r = await gw.send('underlay', l3From(backend, err));
    expect(r.drops).toEqual({});
    const { d } = sentError(r.out);
    expect(d.dst).toBe(ENI.c1.mac);
    expect(routedView(d.l3)).toEqual(routedView(err));
  });

  it.each([
    ['nat', VIP],
    ['fullnat', FN_VIP],
  ])(
    "quotes the client's packet as it sent it in the gateway's own errors (%s: time exceeded)",
    async (_mode, vip) => {
      const req = ipv4(
        { src: ENI.c1.ip, dst: vip, proto: 6, ttl: 1, df: true },
        tcp({ src: ENI.c1.ip, dst: vip, sport: 60800, dport: 80, flags: 0x02 }),
      );
      const r = await gw.send('underlay', l3From('c1', req));
      expect(r.drops).toEqual({ ip4_ttl_expired: 1 });
      const d = sentError(r.out).d;
      expect(d.dst).toBe(ENI.c1.mac);
      expect(d.ip).toMatchObject({ src: '10.1.1.1', dst: ENI.c1.ip });
      expect(d.icmp).toMatchObject({ type: 11, code: 0 });
      expect(d.icmp!.payload).toEqual(req);
    },
  );

  it('drops an error to a VIP about no connection', async () => {
    const reply = ipv4(
      { src: VIP, dst: ENI.c1.ip, proto: 6, ttl: 63 },
      tcp({ src: VIP, dst: ENI.c1.ip, sport: 80, dport: 60999, flags: 0x10 }),
    );
    const r = await gw.send(
      'underlay',
      errorFrom('c1', VIP, icmp({ type: 3, code: 4, rest: 1400, data: reply })),
    );
    expect(r.drops).toEqual({ overlay_no_eni: 1 });
    expect(r.out).toEqual({});
  });
});

describe('internal load balancer, IP-in-IP (tunnel)', () => {
  const request = (sport: number, flags = 0x02, size = 0) =>
    ipv4(
      { src: ENI.c1.ip, dst: TUN_VIP, proto: 6, ttl: 64, df: true, id: 77, tos: 0x10 },
      Buffer.concat([tcp({ src: ENI.c1.ip, dst: TUN_VIP, sport, dport: 8080, flags }), Buffer.alloc(size)]),
    );
  const fromC1 = (l3: Buffer) =>
    vxlanFrame({
      dstMac: GW,
      srcMac: HV.mac,
      src: HV.ip,
      dst: '192.168.100.1',
      vni: 1001,
      inner: ethernet({ dst: ROUTER, src: ENI.c1.mac, type: 0x0800 }, l3),
    });
  /** The backend the one VXLAN frame sent goes to, checking that frame is exactly `l3` in IP-in-IP to it. */
  function tunnelled(out: Record<string, Buffer[]>, l3: Buffer): Name {
    expect(out.underlay).toHaveLength(1);
    const v = decodeVxlan(out.underlay![0]!);
    expect(v.vni).toBe(1001);
    expect(v.outer.ip!.dst).toBe(HV.ip);
    const backend = (['b1', 'b2'] as const).find((n) => ENI[n].mac === v.inner.dst);
    expect(backend).toBeDefined();
    const outer = ipv4(
      { src: WEB_GATEWAY, dst: ENI[backend!].ip, proto: 4, ttl: 64, df: true, tos: 0x10 },
      l3,
    );
    expect(v.innerFrame).toEqual(ethernet({ dst: ENI[backend!].mac, src: ROUTER, type: 0x0800 }, outer));
    return backend!;
  }

  it('sends a connection to the backend ENI in IP-in-IP, the packet as the client sent it', async () => {
    const req = request(61000);
    const r = await gw.send('underlay', fromC1(req));
    expect(r.drops).toEqual({});
    expect(r.events).toMatchObject({ lb_connection_created: 1, lb_forwarded: 1, overlay_routed: 1 });
    const backend = tunnelled(r.out, req);

    // The connection stays on its backend, in the tunnel.
    const ack = request(61000, 0x10);
    expect(tunnelled((await gw.send('underlay', fromC1(ack))).out, ack)).toBe(backend);
  });

  it("lets the backend's reply from the VIP back to the client as the connection's", async () => {
    const backend = tunnelled((await gw.send('underlay', fromC1(request(61100)))).out, request(61100));
    const reply = ipv4(
      { src: TUN_VIP, dst: ENI.c1.ip, proto: 6, ttl: 64 },
      tcp({ src: TUN_VIP, dst: ENI.c1.ip, sport: 8080, dport: 61100, flags: 0x12 }),
    );
    const back = await gw.send(
      'underlay',
      vxlanFrame({
        dstMac: GW,
        srcMac: HV.mac,
        src: HV.ip,
        dst: '192.168.100.1',
        vni: 1001,
        inner: ethernet({ dst: ROUTER, src: ENI[backend].mac, type: 0x0800 }, reply),
      }),
    );
    expect(back.drops).toEqual({});
    expect(back.events).toMatchObject({ lb_replied: 1, overlay_routed: 1 });
    const d = inner(back.out);
    expect(d.dst).toBe(ENI.c1.mac);
    expect(d.ip).toMatchObject({ src: TUN_VIP, dst: ENI.c1.ip, ttl: 63 });
    expect(routedView(d.l3)).toEqual(routedView(reply));
  });

  it('spreads connections over the backends (rr)', async () => {
    const seen = new Set<Name>();
    for (let port = 61200; port < 61204; port++)
      seen.add(tunnelled((await gw.send('underlay', fromC1(request(port)))).out, request(port)));
    expect(seen).toEqual(new Set(['b1', 'b2']));
  });

  it('answers a request too big for the tunnel with fragmentation-needed, the tunnel counted', async () => {
    // 1540 bytes fit the underlay's 1600 in VXLAN, not with 20 more.
    const big = request(61300, 0x02, 1540 - 40);
    const r = await gw.send('underlay', fromC1(big));
    expect(r.drops).toEqual({ overlay_mtu_exceeded: 1 });
    const v = decodeVxlan(r.out.underlay![0]!);
    const d = decode(v.innerFrame);
    expect(d.dst).toBe(ENI.c1.mac);
    expect(d.ip).toMatchObject({ src: '10.1.1.1', dst: ENI.c1.ip, checksumOk: true });
    expect(d.icmp).toMatchObject({ type: 3, code: 4, seq: 1600 - 50 - 20, checksumOk: true });
    // About the packet as the client sent it.
    expect(d.icmp!.payload.subarray(0, 28)).toEqual(big.subarray(0, 28));
  });

  it("passes the client's error about a reply to the backend in the tunnel", async () => {
    const backend = tunnelled((await gw.send('underlay', fromC1(request(61400)))).out, request(61400));
    const reply = ipv4(
      { src: TUN_VIP, dst: ENI.c1.ip, proto: 6, ttl: 63 },
      tcp({ src: TUN_VIP, dst: ENI.c1.ip, sport: 8080, dport: 61400, flags: 0x12 }),
    );
    const err = ipv4(
      { src: ENI.c1.ip, dst: TUN_VIP, proto: 1, ttl: 64 },
      icmp({ type: 3, code: 4, rest: 1400, data: reply }),
    );
    const r = await gw.send('underlay', fromC1(err));
    expect(r.drops).toEqual({});
    const v = decodeVxlan(r.out.underlay![0]!);
    const outer = ipv4({ src: WEB_GATEWAY, dst: ENI[backend].ip, proto: 4, ttl: 64 }, err);
    expect(v.innerFrame).toEqual(ethernet({ dst: ENI[backend].mac, src: ROUTER, type: 0x0800 }, outer));
  });
});
