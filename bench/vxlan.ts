// The VPC overlay's benchmarks over in-memory ports:
//
// pipeline-vxlan-route: VXLAN from 16 hypervisors, decapsulated, checked
// against the ENIs (anti-spoofing), through the network ACLs of both
// subnets, routed by the source subnet's table across a peering into a
// peer VPC of 1000 ENIs, and encapsulated again: 110-byte frames (a 60-byte
// inner frame), with 1 flow and 10 000 flows, and 100 and 100 000 routes in
// the route table (the destinations sit under /24 routes deep in the big
// table). Against the floor on the same frames, in the same run.
//
// route-apply-100k: how long a running gateway takes to take a
// configuration of 100 000 routes (validation, compilation, tables built
// off the fast path, published), and one route changed after that.
import { compile } from '../src/config/compile.js';
import { formatIp4, parseIp4 } from '../src/config/ip.js';
import type { ConfigInput } from '../src/config/schema.js';
import { validateConfig } from '../src/config/validate.js';
import { bpfDir } from '../src/dataplane/native.js';
import { silentLogger } from '../src/log/logger.js';
import { udpFrame, vxlanFrame } from '../src/pkt/build.js';
import { GatewayService } from '../src/service/gateway-service.js';
import { type BenchResult, lastCore, round } from './common.js';
import { floorResult, versusFloor } from './replay.js';

const ROUTER = '02:00:5e:10:00:01';

/** A VXLAN tunnel endpoint on the underlay: the gateway or a hypervisor. */
export interface Vtep {
  ip: string;
  mac: string;
}

/** Where the benchmark's ENIs live: source ENIs on `src` hypervisors, destinations on `dst`. */
export interface Placement {
  gateway: Vtep;
  src: Vtep[];
  dst: Vtep[];
}

const MEM_VTEPS = Array.from({ length: 16 }, (_, i) => ({
  ip: `192.168.100.${11 + i}`,
  mac: `02:cc:00:00:00:${(0x11 + i).toString(16)}`,
}));
/** In memory: 16 hypervisors, each with sources and destinations. */
const MEM_PLACEMENT: Placement = {
  gateway: { ip: '192.168.100.1', mac: '02:00:00:00:01:01' },
  src: MEM_VTEPS,
  dst: MEM_VTEPS,
};

/** 100 source ENIs in vpc-a and 1000 destination ENIs in vpc-b, spread over the placement's hypervisors. */
function enis(place: Placement) {
  const src = Array.from({ length: 100 }, (_, i) => ({
    ip: `10.0.1.${1 + i}`,
    mac: `02:0a:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
    vtep: place.src[i % place.src.length]!,
  }));
  const dst = Array.from({ length: 1000 }, (_, i) => ({
    ip: `20.${i >> 8}.${i & 255}.10`,
    mac: `02:14:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    vtep: place.dst[(i * 7) % place.dst.length]!,
  }));
  return { src, dst };
}

/**
 * The benchmark VPCs with `routes` routes in the source subnet's table, the
 * ENIs placed by `place`, on an in-memory underlay port unless `port` says
 * otherwise.
 */
export function vxlanBenchConfig(
  core: number | undefined,
  routes: number,
  place: Placement = MEM_PLACEMENT,
  port: Record<string, unknown> = { type: 'mem', mac: MEM_PLACEMENT.gateway.mac },
  groups: 'open' | 'tracked' = 'open',
  maxConnections = 262_144,
): ConfigInput {
  const { src, dst } = enis(place);
  const vteps = [...new Map([...place.src, ...place.dst].map((v) => [v.ip, v])).values()];
  const table = [{ destination: '20.0.0.0/7', target: 'peering:pcx' }];
  // Every destination's /24 first, then other /24s of the peer's space.
  const seen = new Set<string>();
  for (const d of dst) {
    if (table.length >= routes) break;
    const p = `${d.ip.split('.').slice(0, 3).join('.')}.0/24`;
    if (!seen.has(p)) {
      seen.add(p);
      table.push({ destination: p, target: 'peering:pcx' });
    }
  }
  // 20.0.0.0/7 holds 131 072 of them: enough for 100 000 routes.
  for (let i = 0; table.length < routes; i++) {
    const p = `${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;
    if (!seen.has(p)) {
      seen.add(p);
      table.push({ destination: p, target: 'peering:pcx' });
    }
  }
  return {
    workers: [{ ...(core === undefined ? {} : { core }), pollMode: 'busy' }],
    ports: [{ name: 'underlay', type: 'mem', ...port, mtu: 1600, addresses: [`${place.gateway.ip}/24`] }],
    neighbors: vteps.map((v) => ({ port: 'underlay', address: v.ip, mac: v.mac })),
    overlay: { port: 'underlay', routerMac: ROUTER },
    conntrack: { maxConnections },
    vpcs: [
      { id: 'vpc-a', vni: 100, cidrs: ['10.0.0.0/16'] },
      { id: 'vpc-b', vni: 200, cidrs: ['20.0.0.0/7'] },
    ],
    subnets: [
      { id: 'a1', vpc: 'vpc-a', cidr: '10.0.0.0/20', routeTable: 'rt-a', networkAcl: 'acl-a' },
      { id: 'b1', vpc: 'vpc-b', cidr: '20.0.0.0/7', routeTable: 'rt-b', networkAcl: 'acl-b' },
    ],
    enis: [
      ...src.map((s, i) => ({
        id: `src-${i}`,
        subnet: 'a1',
        mac: s.mac,
        ip: s.ip,
        vtep: s.vtep.ip,
        securityGroups: ['sg-a'],
      })),
      ...dst.map((d, i) => ({
        id: `dst-${i}`,
        subnet: 'b1',
        mac: d.mac,
        ip: d.ip,
        vtep: d.vtep.ip,
        securityGroups: ['sg-b'],
      })),
    ],
    routeTables: [
      { id: 'rt-a', vpc: 'vpc-a', routes: table },
      { id: 'rt-b', vpc: 'vpc-b', routes: [{ destination: '10.0.0.0/16', target: 'peering:pcx' }] },
    ],
    peerings: [{ id: 'pcx', vpcs: ['vpc-a', 'vpc-b'] }],
    networkAcls: [
      {
        id: 'acl-a',
        vpc: 'vpc-a',
        inbound: [{ rule: 100, action: 'allow', cidr: '0.0.0.0/0' }],
        outbound: [
          { rule: 100, action: 'deny', protocol: 'tcp', ports: 25, cidr: '0.0.0.0/0' },
          { rule: 200, action: 'allow', cidr: '0.0.0.0/0' },
        ],
      },
      {
        id: 'acl-b',
        vpc: 'vpc-b',
        inbound: [
          { rule: 100, action: 'deny', protocol: 'tcp', ports: 22, cidr: '0.0.0.0/0' },
          { rule: 200, action: 'allow', cidr: '0.0.0.0/0' },
        ],
        outbound: [{ rule: 100, action: 'allow', cidr: '0.0.0.0/0' }],
      },
    ],
    // Open groups: no connection is tracked. Tracked: the destinations take
    // new connections from vpc-a only, so every flow is looked up (and made
    // at first) in the connection table.
    securityGroups: [
      { id: 'sg-a', vpc: 'vpc-a', inbound: [{ protocol: 'all', cidr: '0.0.0.0/0' }] },
      {
        id: 'sg-b',
        vpc: 'vpc-b',
        inbound: [{ protocol: 'all', cidr: groups === 'open' ? '0.0.0.0/0' : '10.0.0.0/16' }],
      },
    ],
  };
}

// Where a benchmark frame's fields sit: the outer Ethernet, IPv4 and UDP
// headers and VXLAN, then the inner Ethernet, IPv4 and UDP headers and 18
// bytes of payload (a 60-byte inner frame).
const FRAME_BYTES = 110;
const OUTER_SPORT = 34;
const INNER_IP = 64;
const INNER_UDP = 84;

/** The sum of the 16-bit words of `buf[from, to)`, from `initial`, folded to 16 bits. */
function sum16(buf: Buffer, from: number, to: number, initial = 0): number {
  let s = initial;
  for (let i = from; i < to; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * `count` VXLAN frames of distinct flows (source ENI, destination ENI, ports)
 * to the gateway; `to` picks other destinations (the internet). The frames
 * are views of one buffer.
 */
export function vxlanFlows(
  count: number,
  place: Placement = MEM_PLACEMENT,
  to?: (i: number) => string,
): Buffer[] {
  const { src, dst } = enis(place);
  const frame = (i: number) => {
    const s = src[i % src.length]!;
    const d = dst[(i * 7) % dst.length]!;
    const inner = udpFrame({
      dstMac: ROUTER,
      srcMac: s.mac,
      src: s.ip,
      dst: to ? to(i) : d.ip,
      sport: 1024 + (i & 0x7fff),
      dport: to ? 9 : 9 + (i >> 15),
      frameLen: 60,
    });
    return vxlanFrame({
      dstMac: place.gateway.mac,
      srcMac: s.vtep.mac,
      src: s.vtep.ip,
      dst: place.gateway.ip,
      vni: 100,
      inner,
      sport: 49152 + (i % 16384),
    });
  };
  // The source and destination ENIs repeat every `period` flows. The frames
  // of one period are built in full and the others copied from them with
  // the ports (and the destination) changed and the checksums made again:
  // 10 million flows take 1.1 GB and seconds this way, where a Buffer each,
  // built field by field, took 7 GB and over a minute.
  const period = Math.min(count, (src.length * dst.length) / gcd(src.length, dst.length));
  const first = Array.from({ length: period }, (_, i) => frame(i));
  const all = Buffer.allocUnsafe(count * FRAME_BYTES);
  for (let i = 0; i < count; i++) {
    const at = i * FRAME_BYTES;
    first[i % period]!.copy(all, at);
    all.writeUInt16BE(49152 + (i % 16384), at + OUTER_SPORT);
    if (to) {
      all.writeUInt32BE(parseIp4(to(i))!, at + INNER_IP + 16);
      all.writeUInt16BE(0, at + INNER_IP + 10);
      all.writeUInt16BE(~sum16(all, at + INNER_IP, at + INNER_UDP) & 0xffff, at + INNER_IP + 10);
    }
    // Distinct for every i below 2^31 (source ports 1024-33791, destination
    // ports from 9 up: 314 at 10 million); to the internet the destinations
    // differ and the port stays 9 (the sink's).
    all.writeUInt16BE(1024 + (i & 0x7fff), at + INNER_UDP);
    all.writeUInt16BE(to ? 9 : 9 + (i >> 15), at + INNER_UDP + 2);
    // The UDP checksum, over the pseudo-header (addresses, protocol, length)
    // and the datagram.
    all.writeUInt16BE(0, at + INNER_UDP + 6);
    const pseudo = sum16(all, at + INNER_IP + 12, at + INNER_UDP, 17 + FRAME_BYTES - INNER_UDP);
    const c = ~sum16(all, at + INNER_UDP, at + FRAME_BYTES, pseudo) & 0xffff;
    all.writeUInt16BE(c === 0 ? 0xffff : c, at + INNER_UDP + 6);
  }
  return Array.from({ length: count }, (_, i) => all.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES));
}

export async function pipelineVxlanRoute(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const core = lastCore();
  const runs = opts.runs ?? 3;
  const out: BenchResult[] = [];
  for (const routes of [100, 100_000]) {
    const cfg = validateConfig(vxlanBenchConfig(core, routes));
    for (const flows of [1, 10_000]) {
      const r = await versusFloor(cfg, vxlanFlows(flows), runs);
      // routes: the table's and the VPC's local route and rt-b's
      out.push(floorResult('pipeline-vxlan-route', r, { flows, routes: routes + 2, frame_bytes: 110, core }));
    }
  }
  return out;
}

export async function routeApply100k(): Promise<BenchResult[]> {
  const base = vxlanBenchConfig(undefined, 100);
  const big = vxlanBenchConfig(undefined, 100_000);
  const svc = GatewayService.start(base, silentLogger());
  try {
    // The parts, timed on their own (the same functions replaceConfig runs).
    let t = performance.now();
    const cfg = validateConfig(big);
    const validateMs = performance.now() - t;
    t = performance.now();
    const compiled = compile(cfg, { bpfDir: bpfDir(), generation: 1 });
    const compileMs = performance.now() - t;
    // The whole change, as an API call makes it.
    t = performance.now();
    const r = await svc.replaceConfig(big);
    const applyMs = performance.now() - t;
    if (!r.changed) throw new Error('the 100k-route configuration was not applied');
    // One route more through the whole document, after that.
    const oneMore = structuredClone(big) as {
      routeTables: { routes: { destination: string; target: string }[] }[];
    };
    oneMore.routeTables[0]!.routes.push({ destination: formatIp4(0x14fe0000) + '/16', target: 'blackhole' });
    t = performance.now();
    await svc.replaceConfig(oneMore);
    const oneMs = performance.now() - t;
    // One route at a time, as a controller moves them (GatewayService.setRoute:
    // checked on its own, the data plane's table updated in place of a rebuild).
    const single: number[] = [];
    for (let i = 0; i < 51; i++) {
      t = performance.now();
      await svc.setRoute({ routeTable: 'rt-a', destination: `30.${i}.0.0/16`, target: 'blackhole' });
      single.push(performance.now() - t);
    }
    single.sort((a, b) => a - b);
    return [
      {
        bench: 'route-apply-100k',
        apply_ms: round(applyMs, 1),
        validate_ms: round(validateMs, 1),
        compile_ms: round(compileMs, 1),
        one_route_ms: round(single[25]!, 2),
        one_route_p90_ms: round(single[45]!, 2),
        one_route_more_ms: round(oneMs, 1),
        routes: compiled.snapshot.overlay!.routes.table.length,
        enis: 1100,
      },
    ];
  } finally {
    svc.close();
  }
}
