// Connection tracking's benchmarks over in-memory ports, on the overlay of
// pipeline-vxlan-route with tracked security groups (the destinations take
// new connections from vpc-a only, so every packet is looked up in the
// connection table and every new flow makes an entry):
//
// pipeline-conntrack: VXLAN decapsulation, anti-spoofing, network ACLs,
// routing, the security groups with connection tracking, encapsulation;
// 1, 1000, 10 000 and 1 000 000 flows; against the floor on the same
// frames. Each run is timed after a first pass over the flows, which
// creates them: what is measured is the steady state, lookups.
//
// pipeline-cps: every packet a new connection (1 000 000 distinct flows,
// each sent once): connections made per second on one core, with the
// destinations' groups holding 1 rule and 1000 rules (the new connection's
// rule check is one LPM and one binary search either way).
//
// pipeline-nat: the same overlay, vpc-a's default route through a NAT
// gateway of 64 public addresses to an uplink port: VXLAN decapsulation,
// anti-spoofing, routing, the security groups, connection tracking, source
// NAT (a mapping per inside socket) and the route out of the uplink; 1,
// 10 000 and 1 000 000 flows to distinct internet addresses.
//
// conntrack-memory: the bytes a connection costs, by the table's layout
// (entry and index) and as measured (the table's resident pages, by
// mincore(), after 1 000 000 connections), with the Linux kernel's for
// reference (its nf_conntrack slab object and hash share on this machine).
import { readFileSync } from 'node:fs';
import { compile } from '../src/config/compile.js';
import { validateConfig } from '../src/config/validate.js';
import { DataplaneGateway } from '../src/dataplane/gateway.js';
import { bpfDir } from '../src/dataplane/native.js';
import { type BenchResult, lastCore, median, round, sleep } from './common.js';
import { floorResult, replay, versusFloor } from './replay.js';
import { vxlanBenchConfig, vxlanFlows } from './vxlan.js';

const MILLION = 1_000_000;

function trackedConfig(core: number | undefined, maxConnections = 2 * MILLION, rules = 1) {
  const cfg = vxlanBenchConfig(core, 100, undefined, undefined, 'tracked', maxConnections);
  if (rules > 1) {
    // 999 UDP rules for other networks before the one that lets the
    // benchmark's flows in.
    const inbound = Array.from({ length: rules - 1 }, (_, i) => ({
      protocol: 'udp' as const,
      ports: 1 + i * 7,
      cidr: `${100 + (i >> 8)}.${i & 255}.0.0/16`,
    }));
    cfg.securityGroups = cfg.securityGroups!.map((g) =>
      g.id === 'sg-b' ? { ...g, inbound: [...inbound, ...(g.inbound ?? [])] } : g,
    );
  }
  return validateConfig(cfg);
}

/** vpc-a to the internet through a NAT gateway of 64 addresses, out of an uplink port. */
function natConfig(core: number) {
  const cfg = vxlanBenchConfig(core, 100, undefined, undefined, 'tracked', 4 * MILLION);
  return validateConfig({
    ...cfg,
    ports: [
      ...cfg.ports,
      { name: 'uplink', type: 'mem', mac: '02:00:00:00:02:01', mtu: 1500, addresses: ['203.0.113.1/24'] },
    ],
    routes: [{ destination: '0.0.0.0/0', via: '203.0.113.254' }],
    neighbors: [
      ...(cfg.neighbors ?? []),
      { port: 'uplink', address: '203.0.113.254', mac: '02:ee:00:00:00:fe' },
    ],
    internet: { port: 'uplink' },
    natGateways: [
      { id: 'ngw', vpc: 'vpc-a', publicIps: Array.from({ length: 64 }, (_, i) => `198.51.100.${i + 1}`) },
    ],
    routeTables: cfg.routeTables!.map((t) =>
      t.id === 'rt-a'
        ? { ...t, routes: [...(t.routes ?? []), { destination: '0.0.0.0/0', target: 'nat:ngw' }] }
        : t,
    ),
  });
}

/** An internet address per flow. */
const internet = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;

export async function pipelineNat(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const core = lastCore();
  const runs = opts.runs ?? 3;
  const cfg = natConfig(core);
  const out: BenchResult[] = [];
  for (const flows of [1, 10_000, MILLION]) {
    const r = await versusFloor(cfg, vxlanFlows(flows, undefined, internet), runs);
    out.push(floorResult('pipeline-nat', r, { flows, frame_bytes: 110, core }));
  }
  return out;
}

export async function pipelineConntrack(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const core = lastCore();
  const runs = opts.runs ?? 3;
  const cfg = trackedConfig(core);
  const out: BenchResult[] = [];
  for (const flows of [1, 1000, 10_000, MILLION]) {
    const r = await versusFloor(cfg, vxlanFlows(flows), runs);
    out.push(floorResult('pipeline-conntrack', r, { flows, frame_bytes: 110, core }));
  }
  return out;
}

export async function pipelineCps(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const core = lastCore();
  const runs = opts.runs ?? 3;
  const frames = vxlanFlows(MILLION);
  const out: BenchResult[] = [];
  for (const rules of [1, 1000]) {
    const cfg = trackedConfig(core, 2 * MILLION, rules);
    const cps: number[] = [];
    for (let i = 0; i < runs; i++) cps.push(await replay(cfg, 'l3', frames, MILLION));
    const best = Math.max(...cps);
    out.push({
      bench: 'pipeline-cps',
      cps: Math.round(best),
      mpps: round(best / 1e6),
      ns_per_pkt: round(1e9 / best, 2),
      median_cps: Math.round(median(cps)),
      rules,
      connections: MILLION,
      core,
      runs,
    });
  }
  return out;
}

/**
 * The Linux kernel's cost of a connection on this machine, for reference:
 * its nf_conntrack slab object and its share of the hash buckets (one
 * pointer each). Nothing when the kernel has no conntrack.
 */
function kernelBytesPerFlow(): Record<string, number> {
  try {
    const slab = /^nf_conntrack\s+\d+\s+\d+\s+(\d+)/m.exec(readFileSync('/proc/slabinfo', 'utf8'));
    const buckets = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_buckets', 'utf8'));
    const max = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'));
    if (!slab || !buckets || !max) return {};
    return { kernel_bytes_per_flow: round(Number(slab[1]) + (8 * buckets) / max, 1) };
  } catch {
    return {};
  }
}

export async function conntrackMemory(): Promise<BenchResult[]> {
  const cfg = trackedConfig(undefined, MILLION);
  const frames = vxlanFlows(MILLION);
  const compiled = compile(cfg, { bpfDir: bpfDir(), generation: 1 });
  const gw = new DataplaneGateway({ ...compiled.spec, burst: 32 });
  try {
    gw.memReplay(0, 0, frames, MILLION);
    gw.memSink(0, 0);
    gw.start(compiled.snapshot);
    while (gw.replayResult(0, 0).doneNs === 0) await sleep(20);
    const s = gw.stats();
    const events = s.workers[0]!.events;
    const names = (await import('../src/dataplane/native.js')).loadAddon().events.map((e) => e.name);
    const made = events[names.indexOf('conntrack_created')]!;
    return [
      {
        bench: 'conntrack-memory',
        flows: made,
        bytes_per_flow: round(s.conntrack.bytes / s.conntrack.capacity, 1),
        resident_bytes_per_flow: round(s.conntrack.residentBytes / made, 1),
        table_mib: round(s.conntrack.bytes / 2 ** 20, 1),
        ...kernelBytesPerFlow(),
      },
    ];
  } finally {
    gw.close();
  }
}
