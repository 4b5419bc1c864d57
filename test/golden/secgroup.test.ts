// Golden packets for stateful security groups and connection tracking,
// through in-memory ports: new connections need rules, replies pass by the
// connection table, TCP states follow the flags, ICMP errors about a
// tracked connection pass, rule changes leave live connections alone,
// connections expire, a full table refuses only new connections, and a
// reply arriving on another worker's queue finds the connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { ethernet, icmp, ipv4, tcp, udp, vxlanFrame } from '../../src/pkt/build.js';
import { decodeVxlan } from '../../src/pkt/decode.js';
import { MemGateway } from '../support/mem-gateway.js';

const GW = '02:00:00:00:01:01';
const ROUTER = '02:00:5e:10:00:01';
const HV = { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' };
const ENI = {
  client: { mac: '02:a0:00:00:00:01', ip: '10.1.1.10', group: 'sg-client' },
  web: { mac: '02:a0:00:00:00:02', ip: '10.1.1.20', group: 'sg-web' },
  app: { mac: '02:a0:00:00:00:03', ip: '10.1.2.10', group: 'sg-app' },
  db: { mac: '02:a0:00:00:00:04', ip: '10.1.2.20', group: 'sg-db' },
};
type Name = keyof typeof ENI;

type SgRules = NonNullable<ConfigInput['securityGroups']>[number]['inbound'];

function config(
  o: { webInbound?: SgRules; workers?: number; maxConnections?: number; udpUnreplied?: number } = {},
): ConfigInput {
  return {
    workers: Array.from({ length: o.workers ?? 1 }, () => ({ pollMode: 'adaptive' as const })),
    ports: [{ name: 'underlay', type: 'mem', mac: GW, mtu: 1600, addresses: ['192.168.100.1/24'] }],
    neighbors: [{ port: 'underlay', address: HV.ip, mac: HV.mac }],
    overlay: { port: 'underlay' },
    conntrack: {
      maxConnections: o.maxConnections ?? 4096,
      timeouts: { udpUnreplied: o.udpUnreplied ?? 30 },
    },
    vpcs: [{ id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] }],
    subnets: [
      { id: 'a1', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt-a' },
      { id: 'a2', vpc: 'vpc-a', cidr: '10.1.2.0/24', routeTable: 'rt-a' },
    ],
    routeTables: [{ id: 'rt-a', vpc: 'vpc-a' }],
    enis: Object.entries(ENI).map(([n, e]) => ({
      id: `eni-${n}`,
      subnet: e.ip.startsWith('10.1.1.') ? 'a1' : 'a2',
      mac: e.mac,
      ip: e.ip,
      vtep: HV.ip,
      securityGroups: [e.group],
    })),
    securityGroups: [
      // No inbound rule: takes no new connection, answers its own.
      { id: 'sg-client', vpc: 'vpc-a' },
      {
        id: 'sg-web',
        vpc: 'vpc-a',
        inbound: o.webInbound ?? [
          { protocol: 'tcp', ports: 80, cidr: '0.0.0.0/0' },
          { protocol: 'udp', ports: 53, cidr: '0.0.0.0/0' },
          { protocol: 'icmp', cidr: '10.1.0.0/16' },
        ],
      },
      { id: 'sg-app', vpc: 'vpc-a', inbound: [{ protocol: 'tcp', ports: '8080-8081', group: 'sg-web' }] },
      // Takes connections from the app tier and opens none.
      {
        id: 'sg-db',
        vpc: 'vpc-a',
        inbound: [{ protocol: 'tcp', ports: 5432, group: 'sg-app' }],
        outbound: [],
      },
    ],
  };
}

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;

/** Inner frame from ENI `from` to `to` (routed when the subnets differ, else switched). */
function inner(from: Name, to: Name, proto: number, l4: Buffer): Buffer {
  const routed = ENI[from].ip.split('.')[2] !== ENI[to].ip.split('.')[2];
  return ethernet(
    { dst: routed ? ROUTER : ENI[to].mac, src: ENI[from].mac, type: 0x0800 },
    ipv4({ src: ENI[from].ip, dst: ENI[to].ip, proto }, l4),
  );
}
function wrap(frame: Buffer): Buffer {
  return vxlanFrame({
    dstMac: GW,
    srcMac: HV.mac,
    src: HV.ip,
    dst: '192.168.100.1',
    vni: 1001,
    inner: frame,
  });
}
function tcpPkt(from: Name, to: Name, sport: number, dport: number, flags: number): Buffer {
  return wrap(inner(from, to, 6, tcp({ src: ENI[from].ip, dst: ENI[to].ip, sport, dport, flags })));
}
function udpPkt(from: Name, to: Name, sport: number, dport: number): Buffer {
  return wrap(inner(from, to, 17, udp({ src: ENI[from].ip, dst: ENI[to].ip, sport, dport })));
}
function echo(from: Name, to: Name, type: 0 | 8, id: number): Buffer {
  return wrap(inner(from, to, 1, icmp({ type, id, seq: 1 })));
}

let gw: MemGateway;
beforeAll(() => {
  gw = MemGateway.start(config());
});
afterAll(() => gw?.close());

/** Sends and says whether the packet came out (checked to be one VXLAN frame) or which drop it was. */
async function verdict(g: MemGateway, frame: Buffer, queue = 0): Promise<string> {
  const r = queue ? await g.sendOnQueue('underlay', queue, frame) : await g.send('underlay', frame);
  const drops = Object.keys(r.drops);
  if (drops.length) return drops.join(',');
  expect(r.out.underlay).toHaveLength(1);
  decodeVxlan(r.out.underlay![0]!);
  return 'passed';
}

function flows(g: MemGateway, port: number) {
  return g.svc.flows({ port: String(port) }).flows;
}

describe('security groups: new connections and replies', () => {
  it('lets a new TCP connection in by rule, and its reply back without one', async () => {
    expect(await verdict(gw, tcpPkt('client', 'web', 40001, 80, SYN))).toBe('passed');
    expect(flows(gw, 40001)).toMatchObject([
      {
        protocol: 'tcp',
        state: 'syn_sent',
        original: { vpc: 'vpc-a', src: ENI.client.ip, dst: ENI.web.ip, sport: 40001, dport: 80 },
        reply: { vpc: 'vpc-a', src: ENI.web.ip, dst: ENI.client.ip, sport: 80, dport: 40001 },
      },
    ]);
    // The client's groups take no new connection: the SYN-ACK passes as a reply.
    expect(await verdict(gw, tcpPkt('web', 'client', 80, 40001, SYN | ACK))).toBe('passed');
    expect(flows(gw, 40001)[0]!.state).toBe('syn_recv');
  });

  it('refuses a port no rule allows, and a connection into a group without inbound rules', async () => {
    expect(await verdict(gw, tcpPkt('client', 'web', 40002, 22, SYN))).toBe('sg_inbound_denied');
    expect(await verdict(gw, udpPkt('web', 'client', 5000, 5000))).toBe('sg_inbound_denied');
    expect(flows(gw, 40002)).toEqual([]);
  });

  it('tracks UDP: the answer passes, the same packet unsolicited does not', async () => {
    expect(await verdict(gw, udpPkt('client', 'web', 40003, 53))).toBe('passed');
    expect(flows(gw, 40003)[0]!.state).toBe('unreplied');
    expect(await verdict(gw, udpPkt('web', 'client', 53, 40003))).toBe('passed');
    expect(flows(gw, 40003)[0]!.state).toBe('replied');
    expect(await verdict(gw, udpPkt('web', 'client', 53, 40004))).toBe('sg_inbound_denied');
  });

  it('tracks ICMP echo by identifier', async () => {
    expect(await verdict(gw, echo('client', 'web', 8, 777))).toBe('passed');
    expect(await verdict(gw, echo('web', 'client', 0, 777))).toBe('passed');
    expect(await verdict(gw, echo('web', 'client', 0, 778))).toBe('sg_inbound_denied');
    expect(await verdict(gw, echo('web', 'client', 8, 779))).toBe('sg_inbound_denied');
  });

  it('lets in members of a referenced group only', async () => {
    expect(await verdict(gw, tcpPkt('web', 'app', 40005, 8081, SYN))).toBe('passed');
    expect(await verdict(gw, tcpPkt('client', 'app', 40006, 8080, SYN))).toBe('sg_inbound_denied');
    expect(await verdict(gw, tcpPkt('app', 'db', 40007, 5432, SYN))).toBe('passed');
    expect(await verdict(gw, tcpPkt('db', 'app', 5432, 40007, SYN | ACK))).toBe('passed');
  });

  it('refuses what the source may not open (empty outbound rules)', async () => {
    expect(await verdict(gw, tcpPkt('db', 'web', 40008, 80, SYN))).toBe('sg_outbound_denied');
  });

  it('passes an ICMP error about a tracked connection, not one about nothing', async () => {
    const quoted = (sport: number) =>
      ipv4(
        { src: ENI.client.ip, dst: ENI.web.ip, proto: 17 },
        udp({ src: ENI.client.ip, dst: ENI.web.ip, sport, dport: 53 }),
      );
    const unreachable = (sport: number) =>
      wrap(inner('web', 'client', 1, icmp({ type: 3, code: 3, data: quoted(sport).subarray(0, 28) })));
    expect(await verdict(gw, udpPkt('client', 'web', 40009, 53))).toBe('passed');
    expect(await verdict(gw, unreachable(40009))).toBe('passed');
    expect(await verdict(gw, unreachable(40010))).toBe('sg_inbound_denied');
  });
});

describe('connection tracking: TCP states', () => {
  it('follows a connection from SYN to TIME_WAIT', async () => {
    const p = 41000;
    const states: string[] = [];
    const step = async (from: Name, to: Name, sport: number, dport: number, flags: number) => {
      expect(await verdict(gw, tcpPkt(from, to, sport, dport, flags))).toBe('passed');
      states.push(flows(gw, p)[0]!.state);
    };
    await step('client', 'web', p, 80, SYN);
    await step('web', 'client', 80, p, SYN | ACK);
    await step('client', 'web', p, 80, ACK);
    await step('client', 'web', p, 80, FIN | ACK);
    await step('web', 'client', 80, p, FIN | ACK);
    expect(states).toEqual(['syn_sent', 'syn_recv', 'established', 'fin_wait', 'time_wait']);
  });

  it('closes on RST, and a RST opens nothing', async () => {
    expect(await verdict(gw, tcpPkt('client', 'web', 41001, 80, SYN))).toBe('passed');
    expect(await verdict(gw, tcpPkt('web', 'client', 80, 41001, RST))).toBe('passed');
    expect(flows(gw, 41001)[0]!.state).toBe('close');
    expect(await verdict(gw, tcpPkt('client', 'web', 41002, 80, RST))).toBe('passed');
    expect(flows(gw, 41002)).toEqual([]);
  });

  it('picks up a connection in the middle (after a restart) as established', async () => {
    expect(await verdict(gw, tcpPkt('client', 'web', 41003, 80, ACK))).toBe('passed');
    expect(flows(gw, 41003)[0]!.state).toBe('established');
  });
});

describe('connection tracking: lifecycle', () => {
  it('keeps a live connection through a rule change; new ones meet the new rules', async () => {
    const g = MemGateway.start(config());
    try {
      expect(await verdict(g, tcpPkt('client', 'web', 42000, 80, SYN))).toBe('passed');
      await g.svc.replaceConfig(config({ webInbound: [{ protocol: 'tcp', ports: 443, cidr: '0.0.0.0/0' }] }));
      expect(await verdict(g, tcpPkt('client', 'web', 42000, 80, ACK))).toBe('passed');
      expect(await verdict(g, tcpPkt('client', 'web', 42001, 80, SYN))).toBe('sg_inbound_denied');
      expect(await verdict(g, tcpPkt('client', 'web', 42002, 443, SYN))).toBe('passed');
    } finally {
      g.close();
    }
  });

  it('forgets connections after their timeout, and flushes on request', async () => {
    const g = MemGateway.start(config({ udpUnreplied: 1 }));
    try {
      expect(await verdict(g, udpPkt('client', 'web', 42100, 53))).toBe('passed');
      expect(await verdict(g, udpPkt('client', 'web', 42101, 53))).toBe('passed');
      expect(g.svc.flushFlows({ port: '42101' })).toEqual({ flushed: 1 });
      expect(flows(g, 42101)).toEqual([]);
      // Expiry goes round the table about once a second.
      for (let i = 0; i < 100 && g.svc.status().conntrack.entries > 0; i++) await g.settleFor(100);
      expect(g.svc.status().conntrack.entries).toBe(0);
      expect(await verdict(g, udpPkt('web', 'client', 53, 42100))).toBe('sg_inbound_denied');
    } finally {
      g.close();
    }
  });

  it('refuses only new connections when the table is full', async () => {
    const g = MemGateway.start(config({ maxConnections: 1024 }));
    try {
      const frames = Array.from({ length: 1100 }, (_, i) => udpPkt('client', 'web', 10000 + i, 53));
      let passed = 0;
      let full = 0;
      for (let i = 0; i < frames.length; i += 100) {
        const r = await g.send('underlay', ...frames.slice(i, i + 100));
        passed += r.out.underlay?.length ?? 0;
        full += r.drops.conntrack_full ?? 0;
      }
      expect(passed).toBe(1024);
      expect(full).toBe(76);
      expect(g.svc.status().conntrack).toEqual({ entries: 1024, capacity: 1024 });
      // The connections already made go on.
      expect(await verdict(g, udpPkt('web', 'client', 53, 10000))).toBe('passed');
      expect(await verdict(g, udpPkt('client', 'web', 10500, 53))).toBe('passed');
    } finally {
      g.close();
    }
  });

  it('passes over expired connections at once and takes new ones once the full table gives their room back', async () => {
    const g = MemGateway.start(config({ maxConnections: 1024, udpUnreplied: 1 }));
    try {
      const frames = Array.from({ length: 1024 }, (_, i) => udpPkt('client', 'web', 20000 + i, 53));
      for (let i = 0; i < frames.length; i += 128) await g.send('underlay', ...frames.slice(i, i + 128));
      expect(await verdict(g, udpPkt('client', 'web', 30000, 53))).toBe('conntrack_full');
      await g.settleFor(1100);
      // Expired: a reply finds no connection, whether or not the sweep has
      // given the entry back yet, and the listing shows none.
      expect(await verdict(g, udpPkt('web', 'client', 53, 20000))).toBe('sg_inbound_denied');
      expect(g.svc.flows({}).matched).toBe(0);
      let verdictNow = 'conntrack_full';
      for (let i = 0; i < 50 && verdictNow === 'conntrack_full'; i++) {
        verdictNow = await verdict(g, udpPkt('client', 'web', 30001 + i, 53));
        if (verdictNow === 'conntrack_full') await g.settleFor(100);
      }
      expect(verdictNow).toBe('passed');
    } finally {
      g.close();
    }
  });

  it('finds a connection from a reply that lands on another worker', async () => {
    const g = MemGateway.start(config({ workers: 2 }));
    try {
      expect(await verdict(g, tcpPkt('client', 'web', 42200, 80, SYN), 0)).toBe('passed');
      expect(await verdict(g, tcpPkt('web', 'client', 80, 42200, SYN | ACK), 1)).toBe('passed');
      expect(await verdict(g, tcpPkt('client', 'web', 42200, 80, ACK), 0)).toBe('passed');
      expect(flows(g, 42200)[0]!.state).toBe('established');
      expect(await verdict(g, udpPkt('web', 'client', 53, 42201), 1)).toBe('sg_inbound_denied');
    } finally {
      g.close();
    }
  });
});

describe('connection tracking: the API and metrics', () => {
  it('lists and flushes by filter, refuses bad filters, and exports the table fill', async () => {
    const { createApiServer } = await import('../../src/api/server.js');
    const { MetricsExporter } = await import('../../src/metrics/metrics.js');
    const { silentLogger } = await import('../../src/log/logger.js');
    const g = MemGateway.start(config());
    const app = createApiServer(g.svc, new MetricsExporter(g.svc), silentLogger());
    try {
      expect(await verdict(g, tcpPkt('client', 'web', 43000, 80, SYN))).toBe('passed');
      expect(await verdict(g, udpPkt('client', 'web', 43001, 53))).toBe('passed');
      const list = await app.inject({ method: 'GET', url: '/v1/flows?vpc=vpc-a&protocol=tcp' });
      expect(list.statusCode).toBe(200);
      expect(list.json()).toMatchObject({ matched: 1, flows: [{ protocol: 'tcp', state: 'syn_sent' }] });
      for (const [url, message] of [
        ['/v1/flows?vpc=vpc-x', /no VPC is named vpc-x/],
        ['/v1/flows?ip=10.1.1', /not an IPv4 address/],
        ['/v1/flows?port=70000', /port/],
        ['/v1/flows?state=open', /not one of/],
        ['/v1/flows?colour=red', /unknown filter colour/],
      ] as const) {
        const r = await app.inject({ method: 'GET', url });
        expect(r.statusCode).toBe(400);
        expect(r.json().error.message).toMatch(message);
      }
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^nfvgw_conntrack_entries 2$/m);
      expect(metrics).toMatch(/^nfvgw_conntrack_capacity 4096$/m);
      const del = await app.inject({ method: 'DELETE', url: '/v1/flows?protocol=udp' });
      expect(del.json()).toEqual({ flushed: 1 });
      expect(g.svc.flows({}).matched).toBe(1);
    } finally {
      await app.close();
      g.close();
    }
  });

  it('needs a restart to resize the table', async () => {
    const g = MemGateway.start(config());
    try {
      await expect(g.svc.replaceConfig(config({ maxConnections: 8192 }))).rejects.toMatchObject({
        code: 'NFVGW_ERR_RESTART_REQUIRED',
        details: [{ path: '$.conntrack.maxConnections', message: 'changed from 4096 to 8192' }],
      });
    } finally {
      g.close();
    }
  });
});
