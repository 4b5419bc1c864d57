// Golden packets for the internet side of the VPCs, through in-memory
// ports: a NAT gateway (source NAT with port translation, endpoint-
// independent mappings, replies translated back, unsolicited packets
// refused, port exhaustion) and elastic IPs (1:1 both ways, security groups
// on what comes in), with every checksum checked after translation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { arpPayload, ethernet, icmp, ipv4, tcp, udp, vxlanFrame } from '../../src/pkt/build.js';
import { decode, decodeVxlan } from '../../src/pkt/decode.js';
import { MemGateway } from '../support/mem-gateway.js';

const GW = '02:00:00:00:01:01'; // underlay, 192.168.100.1
const UPLINK = '02:00:00:00:02:01'; // 203.0.113.1
const UPSTREAM = { ip: '203.0.113.254', mac: '02:ee:00:00:00:fe' };
const ROUTER = '02:00:5e:10:00:01';
const HV = { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' };
const NAT_IP = '198.51.100.10';
const EIP = '198.51.100.20';
const ENI = {
  v1: { mac: '02:a0:00:00:00:01', ip: '10.1.1.10' },
  v2: { mac: '02:a0:00:00:00:02', ip: '10.1.1.20' },
  w1: { mac: '02:a0:00:00:00:03', ip: '10.1.2.10' },
  w2: { mac: '02:a0:00:00:00:04', ip: '10.1.2.20' },
};
type Name = keyof typeof ENI;

function config(natPorts = '1024-65535'): ConfigInput {
  return {
    workers: [{ pollMode: 'adaptive' }],
    ports: [
      { name: 'underlay', type: 'mem', mac: GW, mtu: 1600, addresses: ['192.168.100.1/24'] },
      { name: 'uplink', type: 'mem', mac: UPLINK, addresses: ['203.0.113.1/24'] },
    ],
    routes: [{ destination: '0.0.0.0/0', via: UPSTREAM.ip }],
    neighbors: [
      { port: 'underlay', address: HV.ip, mac: HV.mac },
      { port: 'uplink', address: UPSTREAM.ip, mac: UPSTREAM.mac },
    ],
    overlay: { port: 'underlay' },
    internet: { port: 'uplink' },
    vpcs: [{ id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] }],
    subnets: [
      { id: 'private', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt-private' },
      { id: 'public', vpc: 'vpc-a', cidr: '10.1.2.0/24', routeTable: 'rt-public' },
    ],
    routeTables: [
      { id: 'rt-private', vpc: 'vpc-a', routes: [{ destination: '0.0.0.0/0', target: 'nat:ngw-1' }] },
      { id: 'rt-public', vpc: 'vpc-a', routes: [{ destination: '0.0.0.0/0', target: 'igw' }] },
    ],
    natGateways: [
      {
        id: 'ngw-1',
        vpc: 'vpc-a',
        publicIps: [NAT_IP],
        ports: natPorts,
        portForwards: [{ protocol: 'tcp', publicPort: 22, eni: 'eni-v1' }],
      },
    ],
    eips: [{ id: 'eip-1', publicIp: EIP, eni: 'eni-w1' }],
    enis: Object.entries(ENI).map(([n, e]) => ({
      id: `eni-${n}`,
      subnet: n.startsWith('v') ? 'private' : 'public',
      mac: e.mac,
      ip: e.ip,
      vtep: HV.ip,
      securityGroups: ['sg-a'],
    })),
    securityGroups: [
      { id: 'sg-a', vpc: 'vpc-a', inbound: [{ protocol: 'tcp', ports: 22, cidr: '0.0.0.0/0' }] },
    ],
  };
}

/** An IPv4 packet from ENI `from` to an internet address, in VXLAN from its hypervisor. */
function fromEni(from: Name, dst: string, proto: number, l4: Buffer): Buffer {
  const inner = ethernet(
    { dst: ROUTER, src: ENI[from].mac, type: 0x0800 },
    ipv4({ src: ENI[from].ip, dst, proto, ttl: 64 }, l4),
  );
  return vxlanFrame({ dstMac: GW, srcMac: HV.mac, src: HV.ip, dst: '192.168.100.1', vni: 1001, inner });
}
const udpOut = (from: Name, sport: number, dst: string, dport: number) =>
  fromEni(from, dst, 17, udp({ src: ENI[from].ip, dst, sport, dport, data: Buffer.from('hello') }));
const tcpOut = (from: Name, sport: number, dst: string, dport: number, flags: number) =>
  fromEni(from, dst, 6, tcp({ src: ENI[from].ip, dst, sport, dport, flags }));

/** An IPv4 packet from the internet, as the upstream router sends it on the uplink. */
function fromInternet(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  return ethernet({ dst: UPLINK, src: UPSTREAM.mac, type: 0x0800 }, ipv4({ src, dst, proto, ttl: 50 }, l4));
}
const udpIn = (src: string, sport: number, dst: string, dport: number) =>
  fromInternet(src, dst, 17, udp({ src, dst, sport, dport, data: Buffer.from('world') }));

/** The one frame sent to the internet, decoded and checked (addresses, TTL, checksums). */
function toInternet(out: Record<string, Buffer[]>) {
  expect(Object.keys(out)).toEqual(['uplink']);
  expect(out.uplink).toHaveLength(1);
  const d = decode(out.uplink![0]!);
  expect(d.dst).toBe(UPSTREAM.mac);
  expect(d.src).toBe(UPLINK);
  expect(d.ip).toMatchObject({ ttl: 63, checksumOk: true });
  if (d.ip!.proto === 6 || d.ip!.proto === 17) expect(d.l4ChecksumOk).toBe(true);
  return d;
}

/** The one VXLAN frame sent into the VPC to `to`, its inner packet decoded and checked. */
function toEni(out: Record<string, Buffer[]>, to: Name, ttl = 49) {
  expect(Object.keys(out)).toEqual(['underlay']);
  expect(out.underlay).toHaveLength(1);
  const v = decodeVxlan(out.underlay![0]!);
  expect(v.vni).toBe(1001);
  expect(v.outer.ip).toMatchObject({ dst: HV.ip, checksumOk: true });
  const d = decode(v.innerFrame);
  expect(d.dst).toBe(ENI[to].mac);
  expect(d.src).toBe(ROUTER);
  expect(d.ip).toMatchObject({ dst: ENI[to].ip, ttl, checksumOk: true });
  if (d.ip!.proto === 6 || d.ip!.proto === 17) expect(d.l4ChecksumOk).toBe(true);
  return d;
}

let gw: MemGateway;
beforeAll(() => {
  gw = MemGateway.start(config());
});
afterAll(() => gw?.close());

describe('NAT gateway', () => {
  it('translates the source to its public address, keeping the port when it is free', async () => {
    const r = await gw.send('underlay', udpOut('v1', 5000, '8.8.8.8', 53));
    expect(r.drops).toEqual({});
    const d = toInternet(r.out);
    expect(d.ip).toMatchObject({ src: NAT_IP, dst: '8.8.8.8' });
    expect(d.udp).toMatchObject({ sport: 5000, dport: 53 });
    expect(r.events).toMatchObject({ nat_mapping_created: 1, conntrack_created: 1, nat_to_internet: 1 });
  });

  it('translates the reply back to the VM', async () => {
    const r = await gw.send('uplink', udpIn('8.8.8.8', 53, NAT_IP, 5000));
    expect(r.drops).toEqual({});
    const d = toEni(r.out, 'v1');
    expect(d.ip!.src).toBe('8.8.8.8');
    expect(d.udp).toMatchObject({ sport: 53, dport: 5000 });
    expect(r.events).toMatchObject({ nat_from_internet: 1 });
  });

  it('keeps one mapping for one inside socket whatever the destination (RFC 4787 EIM)', async () => {
    const r = await gw.send('underlay', udpOut('v1', 5000, '1.1.1.1', 53));
    expect(toInternet(r.out).udp!.sport).toBe(5000);
    expect(r.events.nat_mapping_created).toBeUndefined();
  });

  it('gives another inside socket on the same port another public port', async () => {
    const r = await gw.send('underlay', udpOut('v2', 5000, '8.8.8.8', 53));
    const d = toInternet(r.out);
    expect(d.ip!.src).toBe(NAT_IP);
    expect(d.udp!.sport).not.toBe(5000);
    const back = await gw.send('uplink', udpIn('8.8.8.8', 53, NAT_IP, d.udp!.sport));
    expect(toEni(back.out, 'v2').udp!.dport).toBe(5000);
  });

  it('refuses what comes to a public port from an endpoint it did not talk to', async () => {
    const r = await gw.send('uplink', udpIn('9.9.9.9', 53, NAT_IP, 5000));
    expect(r.drops).toEqual({ nat_no_connection: 1 });
    expect(r.out).toEqual({});
  });

  it('translates TCP with its checksum, both ways', async () => {
    const out = toInternet((await gw.send('underlay', tcpOut('v1', 40000, '93.184.216.34', 80, 0x02))).out);
    expect(out.ip!.src).toBe(NAT_IP);
    const sport = out.tcp!.sport;
    const back = await gw.send(
      'uplink',
      fromInternet(
        '93.184.216.34',
        NAT_IP,
        6,
        tcp({ src: '93.184.216.34', dst: NAT_IP, sport: 80, dport: sport, flags: 0x12 }),
      ),
    );
    expect(toEni(back.out, 'v1').tcp).toMatchObject({ sport: 80, dport: 40000, flags: 0x12 });
  });

  it('translates ICMP echo by identifier', async () => {
    const out = toInternet(
      (await gw.send('underlay', fromEni('v2', '8.8.4.4', 1, icmp({ type: 8, id: 4242, seq: 1 })))).out,
    );
    expect(out.icmp).toMatchObject({ type: 8, checksumOk: true });
    const back = await gw.send(
      'uplink',
      fromInternet('8.8.4.4', NAT_IP, 1, icmp({ type: 0, id: out.icmp!.id, seq: 1 })),
    );
    expect(toEni(back.out, 'v2').icmp).toMatchObject({ type: 0, id: 4242, checksumOk: true });
  });

  it('translates protocols without ports (IP-in-IP, GRE) by address, one inside address per remote', async () => {
    // An IP-in-IP packet: what the far end of a tunnel gets, payload untouched.
    const payload = ipv4(
      { src: '172.16.0.1', dst: '172.16.0.2', proto: 1 },
      icmp({ type: 8, id: 1, seq: 1 }),
    );
    const out = toInternet((await gw.send('underlay', fromEni('v1', '192.0.2.50', 4, payload))).out);
    expect(out.ip).toMatchObject({ src: NAT_IP, dst: '192.0.2.50', proto: 4 });
    expect(out.l3.subarray(20)).toEqual(payload);
    const back = await gw.send('uplink', fromInternet('192.0.2.50', NAT_IP, 4, payload));
    expect(back.drops).toEqual({});
    expect(toEni(back.out, 'v1').ip).toMatchObject({ src: '192.0.2.50', proto: 4 });
    // Another inside address to the same remote address and protocol would
    // share the public address and its replies: refused, counted.
    const taken = await gw.send('underlay', fromEni('v2', '192.0.2.50', 4, payload));
    expect(taken.drops).toEqual({ nat_address_taken: 1 });
    // To another remote address, or in another protocol (GRE), it goes.
    expect(
      toInternet((await gw.send('underlay', fromEni('v2', '192.0.2.51', 4, payload))).out).ip,
    ).toMatchObject({
      src: NAT_IP,
    });
    const gre = Buffer.concat([Buffer.from([0, 0, 0x08, 0x00]), payload]);
    expect(
      toInternet((await gw.send('underlay', fromEni('v2', '192.0.2.50', 47, gre))).out).ip,
    ).toMatchObject({
      src: NAT_IP,
      proto: 47,
    });
    // Unsolicited, from a remote address nothing went to: refused.
    const stray = await gw.send('uplink', fromInternet('192.0.2.99', NAT_IP, 47, gre));
    expect(stray.drops).toEqual({ nat_no_connection: 1 });
  });

  it('answers ARP for its public address on the uplink', async () => {
    const req = ethernet(
      { dst: 'ff:ff:ff:ff:ff:ff', src: UPSTREAM.mac, type: 0x0806 },
      arpPayload({ op: 1, sha: UPSTREAM.mac, spa: UPSTREAM.ip, tpa: NAT_IP }),
    );
    const r = await gw.send('uplink', req);
    expect(decode(r.out.uplink![0]!).arp).toMatchObject({ op: 2, sha: UPLINK, spa: NAT_IP });
  });

  it('drops new connections, and counts them, when its ports run out', async () => {
    const g = MemGateway.start(config('2000-2001'));
    try {
      const sent = [];
      for (const port of [7001, 7002, 7003])
        sent.push(await g.send('underlay', udpOut('v1', port, '8.8.8.8', 53)));
      expect(sent.map((r) => r.out.uplink?.length ?? 0)).toEqual([1, 1, 0]);
      expect(sent[2]!.drops).toEqual({ nat_port_exhausted: 1 });
      expect(new Set(sent.slice(0, 2).map((r) => decode(r.out.uplink![0]!).udp!.sport))).toEqual(
        new Set([2000, 2001]),
      );
      // The mappings made go on.
      expect((await g.send('underlay', udpOut('v1', 7001, '8.8.8.8', 53))).out.uplink).toHaveLength(1);
      expect(g.svc.natPorts().find((p) => p.protocol === 'udp')).toMatchObject({
        natGateway: 'ngw-1',
        publicIp: NAT_IP,
        inUse: 2,
        capacity: 2,
        allocationFailures: 1,
      });
      expect(g.svc.natPorts().find((p) => p.protocol === 'tcp')).toMatchObject({ allocationFailures: 0 });
      expect(g.svc.flows({ protocol: 'udp' }).flows.filter((f) => f.kind === 'mapping')).toHaveLength(2);
    } finally {
      g.close();
    }
  });
});

describe('NAT gateway: port forwards, hairpinning, ICMP errors', () => {
  it('forwards a public port to an ENI (DNAT), the answer going out from it', async () => {
    const syn = fromInternet(
      '9.9.9.9',
      NAT_IP,
      6,
      tcp({ src: '9.9.9.9', dst: NAT_IP, sport: 42000, dport: 22, flags: 0x02 }),
    );
    const r = await gw.send('uplink', syn);
    expect(toEni(r.out, 'v1').tcp).toMatchObject({ sport: 42000, dport: 22 });
    const back = toInternet((await gw.send('underlay', tcpOut('v1', 22, '9.9.9.9', 42000, 0x12))).out);
    expect(back.ip!.src).toBe(NAT_IP);
    expect(back.tcp).toMatchObject({ sport: 22, dport: 42000 });
  });

  it('lets a VM reach a public address of its own gateway (hairpinning)', async () => {
    const r = await gw.send('underlay', tcpOut('v2', 43000, NAT_IP, 22, 0x02));
    const d = toEni(r.out, 'v1', 62); // two routed hops
    expect(d.ip!.src).toBe(NAT_IP); // v2 as the internet sees it
    const sport = d.tcp!.sport;
    const back = await gw.send('underlay', tcpOut('v1', 22, NAT_IP, sport, 0x12));
    const v = decodeVxlan(back.out.underlay![0]!);
    const inner = decode(v.innerFrame);
    expect(inner.ip).toMatchObject({ src: NAT_IP, dst: ENI.v2.ip, checksumOk: true });
    expect(inner.tcp).toMatchObject({ sport: 22, dport: 43000 });
    expect(inner.l4ChecksumOk).toBe(true);
  });

  it('translates an ICMP error about a connection back inside, quoted header included', async () => {
    const out = toInternet((await gw.send('underlay', udpOut('v1', 33434, '8.8.8.8', 33434))).out);
    // What a router on the way sends back: time exceeded, quoting the packet as it left.
    const quoted = out.l3.subarray(0, out.ip!.headerLength + 8);
    const r = await gw.send(
      'uplink',
      fromInternet('192.0.2.77', NAT_IP, 1, icmp({ type: 11, code: 0, data: quoted })),
    );
    expect(r.drops).toEqual({});
    const v = decodeVxlan(r.out.underlay![0]!);
    const d = decode(v.innerFrame);
    expect(d.ip).toMatchObject({ src: '192.0.2.77', dst: ENI.v1.ip, checksumOk: true });
    expect(d.icmp).toMatchObject({ type: 11, checksumOk: true });
    const q = decode(Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), d.icmp!.payload]));
    expect(q.ip).toMatchObject({ src: ENI.v1.ip, dst: '8.8.8.8', checksumOk: true });
    expect(q.udp).toMatchObject({ sport: 33434, dport: 33434 });
  });

  it("translates a VM's ICMP error about a packet that came in through NAT on its way out", async () => {
    // w1 (behind its elastic IP) asks 9.9.9.9 something; the answer comes in.
    const out = toInternet((await gw.send('underlay', udpOut('w1', 7777, '9.9.9.9', 5353))).out);
    expect(out.ip!.src).toBe(EIP);
    const answer = fromInternet(
      '9.9.9.9',
      EIP,
      17,
      udp({ src: '9.9.9.9', dst: EIP, sport: 5353, dport: 7777 }),
    );
    const inside = toEni((await gw.send('uplink', answer)).out, 'w1');
    // w1 has closed its socket: port unreachable, quoting the answer as it arrived (to its private address).
    const quoted = inside.l3.subarray(0, inside.ip!.headerLength + 8);
    const err = fromEni('w1', '9.9.9.9', 1, icmp({ type: 3, code: 3, data: quoted }));
    const r = await gw.send('underlay', err);
    expect(r.drops).toEqual({});
    const d = toInternet(r.out);
    expect(d.ip).toMatchObject({ src: EIP, dst: '9.9.9.9' });
    expect(d.icmp).toMatchObject({ type: 3, code: 3, checksumOk: true });
    const q = decode(Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), d.icmp!.payload]));
    expect(q.ip).toMatchObject({ src: '9.9.9.9', dst: EIP, checksumOk: true });
    expect(q.udp).toMatchObject({ sport: 5353, dport: 7777 });
  });

  it('drops an ICMP error about nothing it knows', async () => {
    const quoted = ipv4(
      { src: NAT_IP, dst: '8.8.8.8', proto: 17 },
      udp({ src: NAT_IP, dst: '8.8.8.8', sport: 61111, dport: 53 }),
    ).subarray(0, 28);
    const r = await gw.send(
      'uplink',
      fromInternet('192.0.2.77', NAT_IP, 1, icmp({ type: 3, code: 3, data: quoted })),
    );
    expect(r.drops).toEqual({ nat_untranslatable: 1 });
  });
});

describe('elastic IP and internet gateway', () => {
  it('sends out with the elastic IP as source, ports untouched', async () => {
    const r = await gw.send('underlay', udpOut('w1', 6000, '8.8.8.8', 53));
    const d = toInternet(r.out);
    expect(d.ip!.src).toBe(EIP);
    expect(d.udp!.sport).toBe(6000);
    const back = await gw.send('uplink', udpIn('8.8.8.8', 53, EIP, 6000));
    expect(toEni(back.out, 'w1').udp!.dport).toBe(6000);
  });

  it('refuses the internet gateway to an ENI without one', async () => {
    const r = await gw.send('underlay', udpOut('w2', 6000, '8.8.8.8', 53));
    expect(r.drops).toEqual({ igw_no_public_ip: 1 });
  });

  it('lets connections in to the elastic IP as the security groups allow', async () => {
    const syn = (dport: number) =>
      fromInternet('9.9.9.9', EIP, 6, tcp({ src: '9.9.9.9', dst: EIP, sport: 41000, dport, flags: 0x02 }));
    const r = await gw.send('uplink', syn(22));
    expect(toEni(r.out, 'w1').tcp).toMatchObject({ sport: 41000, dport: 22 });
    // The answer goes out with the elastic IP, through the connection.
    const ack = await gw.send('underlay', tcpOut('w1', 22, '9.9.9.9', 41000, 0x12));
    expect(toInternet(ack.out).ip!.src).toBe(EIP);
    expect((await gw.send('uplink', syn(80))).drops).toEqual({ sg_inbound_denied: 1 });
  });
});
