// Compiling a valid configuration into what the data plane takes: the
// gateway spec (ports and workers: fixed while the gateway runs) and a
// snapshot (addresses, routes, neighbors, timers: replaced while it runs).
// Connected and local routes are derived here from the port addresses, so
// one route lookup in the data plane classifies every packet.
import type { GatewaySpec, SnapshotSpec } from '../dataplane/native.js';
import { BackendSlots, compileLb, lbAddresses, lbNeighbors } from './compile-lb.js';
import { compileOverlay } from './compile-vpc.js';
import { broadcastOf, networkOf, parseIp4, parsePrefix } from './ip.js';
import type { Config } from './schema.js';

export type NextHopKind = SnapshotSpec['nexthops'][number]['kind'];

/** A route as the data plane will see it, for display (`GET /v1/routes`). */
export interface CompiledRoute {
  prefix: number;
  length: number;
  kind: NextHopKind;
  port?: number;
  gateway?: number;
  origin: 'local' | 'connected' | 'config' | 'lb';
}

export interface Compiled {
  spec: GatewaySpec;
  snapshot: SnapshotSpec;
  routes: CompiledRoute[];
}

/** The parts of a configuration that can only change with a restart. */
export function staticPart(cfg: Config) {
  return {
    workers: cfg.workers,
    burst: cfg.burst,
    txDrainUs: cfg.txDrainUs,
    hugepages: cfg.hugepages,
    maxConnections: cfg.conntrack.maxConnections,
    ports: cfg.ports.map((p) => ({
      name: p.name,
      type: p.type,
      interface: p.interface,
      netns: p.netns,
      xdpMode: p.xdpMode,
      zeroCopy: p.zeroCopy,
      ringSize: p.ringSize,
      mac: p.mac,
    })),
  };
}

export function defaultMemMac(index: number): string {
  return `02:00:00:00:${((index >> 8) & 255).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`;
}

export interface CompileOptions {
  bpfDir: string;
  generation: number;
  /** Load-balancer backends' slots (kept across applies by the service) and health. */
  lb?: { slots: BackendSlots; up: (key: string) => boolean };
}

export function compile(cfg: Config, opts: CompileOptions): Compiled {
  const spec: GatewaySpec = {
    bpfDir: opts.bpfDir,
    burst: cfg.burst,
    txDrainUs: cfg.txDrainUs,
    hugepages: cfg.hugepages,
    workers: cfg.workers.map((w) => ({ core: w.core ?? -1, pollMode: w.pollMode })),
    conntrackCapacity: cfg.conntrack.maxConnections,
    ports: cfg.ports.map((p, i) => ({
      name: p.name,
      kind: p.type,
      interface: p.interface,
      netns: p.netns,
      xdpMode: p.xdpMode,
      zeroCopy: p.zeroCopy,
      ringSize: p.ringSize,
      mac: p.type === 'mem' ? (p.mac ?? defaultMemMac(i + 1)) : undefined,
    })),
  };

  const portIndex = new Map(cfg.ports.map((p, i) => [p.name, i]));
  const nexthops: SnapshotSpec['nexthops'] = [{ kind: 'none' }];
  const nexthopIndex = new Map<string, number>();
  const nexthop = (nh: SnapshotSpec['nexthops'][number]): number => {
    const key = `${nh.kind}/${nh.port ?? ''}/${nh.gateway ?? ''}/${nh.broadcast ?? ''}`;
    let i = nexthopIndex.get(key);
    if (i === undefined) {
      i = nexthops.length;
      nexthops.push(nh);
      nexthopIndex.set(key, i);
    }
    return i;
  };

  const routes: CompiledRoute[] = [];
  const prefixes: number[] = [];
  const lengths: number[] = [];
  const hops: number[] = [];
  const addRoute = (prefix: number, length: number, nh: number, origin: CompiledRoute['origin']) => {
    prefixes.push(prefix);
    lengths.push(length);
    hops.push(nh);
    const h = nexthops[nh]!;
    routes.push({ prefix, length, kind: h.kind, port: h.port, gateway: h.gateway, origin });
  };

  const portsSnap: SnapshotSpec['ports'] = cfg.ports.map((p, i) => {
    const addresses = p.addresses.map((a) => {
      const pre = parsePrefix(a)!;
      return { ip: pre.ip, prefixLen: pre.len };
    });
    for (const a of addresses) {
      if (a.prefixLen < 32) {
        const bcast = a.prefixLen < 31 ? broadcastOf(a.ip, a.prefixLen) : 0;
        addRoute(
          networkOf(a.ip, a.prefixLen),
          a.prefixLen,
          nexthop({ kind: 'connected', port: i, broadcast: bcast }),
          'connected',
        );
      }
      addRoute(a.ip, 32, nexthop({ kind: 'local', port: i }), 'local');
    }
    return { mtu: p.mtu ?? (p.type === 'mem' ? 1500 : 0), vlan: p.vlan ?? 0, addresses };
  });

  // A next-hop router's port: the one named, else the one whose subnet has it
  // (validation made sure there is one).
  const portOf = (via: number): number => {
    for (let i = 0; i < portsSnap.length; i++) {
      for (const a of portsSnap[i]!.addresses) {
        if (networkOf(via, a.prefixLen) === networkOf(a.ip, a.prefixLen)) return i;
      }
    }
    throw new Error(`no port for next hop ${via}`);
  };

  for (const r of cfg.routes) {
    const pre = parsePrefix(r.destination)!;
    let nh: number;
    if (r.type === 'blackhole') nh = nexthop({ kind: 'blackhole' });
    else if (r.type === 'unreachable') nh = nexthop({ kind: 'unreachable' });
    else if (r.via !== undefined) {
      const via = parseIp4(r.via)!;
      const port = r.port !== undefined ? portIndex.get(r.port)! : portOf(via);
      nh = nexthop({ kind: 'via', port, gateway: via });
    } else {
      nh = nexthop({ kind: 'connected', port: portIndex.get(r.port!)!, broadcast: 0 });
    }
    addRoute(networkOf(pre.ip, pre.len), pre.len, nh, 'config');
  }

  if (cfg.loadBalancers.length) {
    const lb = nexthop({ kind: 'lb' });
    for (const ip of lbAddresses(cfg)) addRoute(ip, 32, lb, 'lb');
  }

  const snapshot: SnapshotSpec = {
    generation: opts.generation,
    ports: portsSnap,
    nexthops,
    routes: {
      prefix: Uint32Array.from(prefixes),
      length: Uint8Array.from(lengths),
      nexthop: Uint32Array.from(hops),
    },
    neighbors: [
      ...cfg.neighbors.map((n) => ({
        port: portIndex.get(n.port)!,
        ip: parseIp4(n.address)!,
        mac: n.mac.toLowerCase(),
      })),
      ...lbNeighbors(cfg, portIndex),
    ],
    icmp: { errorsPerSecond: cfg.icmp.errorsPerSecond, burst: cfg.icmp.burst },
    neighborTimers: { ...cfg.neighborTimers },
    conntrack: Object.fromEntries(
      Object.entries(cfg.conntrack.timeouts).map(([k, sec]) => [k, sec * 1000]),
    ) as SnapshotSpec['conntrack'],
    overlay: compileOverlay(cfg, portIndex),
    lb: compileLb(cfg, opts.lb?.slots ?? new BackendSlots(), opts.lb?.up ?? (() => true)),
  };
  return { spec, snapshot, routes };
}
