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
//
// conntrack-10m: the table at 10 000 000 connections, the size the design
// must carry. The connections are made through the pipeline into a table of
// exactly that many (insert_cps: the rate of making them, from empty to
// full), the table's bytes a connection as conntrack-memory reports them,
// and lookups replaying 1000, 1 000 000 and all 10 000 000 established
// flows in a table of that size, each against the floor. Not in the default
// set (bench/run.ts NAMED_ONLY): it takes about two minutes and 4.2-4.3 GB
// resident at its peak besides the table's 738 MiB of huge pages (the 10
// million frames, 1.1 GB and a view of each, are held throughout, and each
// replay copies them).
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compile } from '../src/config/compile.js';
import type { Config } from '../src/config/schema.js';
import { validateConfig } from '../src/config/validate.js';
import { DataplaneGateway } from '../src/dataplane/gateway.js';
import { bpfDir, loadAddon } from '../src/dataplane/native.js';
import { type BenchResult, BURST, lastCore, median, round, sleep } from './common.js';
import { floorResult, type ReplayRun, replay, versusFloor } from './replay.js';
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
    for (let i = 0; i < runs; i++) cps.push((await replay(cfg, 'l3', frames, MILLION)).pps);
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

/** What filling a table with `frames` (a new connection each) gave. */
interface Fill {
  /** Connections made a second, from the first frame to the last. */
  cps: number;
  made: number;
  conntrack: { capacity: number; bytes: number; residentBytes: number };
  /** Whether the table is on huge pages (no fallback was reported). */
  hugePages: boolean;
}

/** Sends each of `frames` once through a gateway of `cfg` (every one a new connection), one busy worker. */
async function fill(cfg: Config, frames: Buffer[]): Promise<Fill> {
  const compiled = compile(cfg, { bpfDir: bpfDir(), generation: 1 });
  const gw = new DataplaneGateway({ ...compiled.spec, burst: BURST });
  try {
    gw.memReplay(0, 0, frames, frames.length);
    gw.memSink(0, 0);
    gw.start(compiled.snapshot);
    let r = gw.replayResult(0, 0);
    const deadline = Date.now() + 300_000;
    while (r.doneNs === 0 && Date.now() < deadline) {
      await sleep(20);
      r = gw.replayResult(0, 0);
    }
    if (r.doneNs === 0)
      throw new Error(`filling the connection table did not finish (${r.received} frames in)`);
    const s = gw.stats();
    const names = loadAddon().events.map((e) => e.name);
    return {
      cps: (r.timed * 1e9) / (r.doneNs - r.startNs),
      made: s.workers[0]!.events[names.indexOf('conntrack_created')]!,
      conntrack: s.conntrack,
      hugePages: !gw.info().warnings.some((w) => w.startsWith('connection table')),
    };
  } finally {
    gw.close();
  }
}

/** The table's bytes a connection after `f`: by its layout, in memory (mincore), in all. */
const tableBytes = (f: Fill) => ({
  bytes_per_flow: round(f.conntrack.bytes / f.conntrack.capacity, 1),
  resident_bytes_per_flow: round(f.conntrack.residentBytes / f.made, 1),
  table_mib: round(f.conntrack.bytes / 2 ** 20, 1),
});

export async function conntrackMemory(): Promise<BenchResult[]> {
  const f = await fill(trackedConfig(undefined, MILLION), vxlanFlows(MILLION));
  return [{ bench: 'conntrack-memory', flows: f.made, ...tableBytes(f), ...kernelBytesPerFlow() }];
}

/**
 * Collects garbage, and lets the finalizers that follow run. A closed
 * gateway keeps its connection table until its JS object is collected (the
 * native Gateway frees the table when it is destroyed, not when it stops),
 * and V8 sees only a small object: at 10 million connections a table is 738
 * MiB of huge pages, and without this up to eight of them were held at once.
 */
async function collect(): Promise<void> {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  await new Promise((r) => setImmediate(r));
}

/**
 * versusFloor's measurement over a large table: the best of `runs`
 * interleaved runs of the floor and the pipeline, each timed after a first
 * pass that makes the connections. The counts are fixed instead of
 * calibrated (a probe is a pass over every flow, and the flows are many):
 * 10 million packets for the pipeline, every flow looked up at least once,
 * and 40 million for the floor. The garbage is collected after each run.
 */
async function lookups(cfg: Config, templates: Buffer[], runs: number) {
  const l3: ReplayRun[] = [];
  const floor: ReplayRun[] = [];
  const warmup = templates.length;
  for (let i = 0; i < runs; i++) {
    floor.push(await replay(cfg, 'floor', templates, Math.max(4 * warmup, 40 * MILLION), warmup));
    await collect();
    l3.push(await replay(cfg, 'l3', templates, Math.max(warmup, 10 * MILLION), warmup));
    await collect();
  }
  return { l3, floor };
}

export async function conntrack10m(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const core = lastCore();
  const runs = opts.runs ?? 3;
  const capacity = 10 * MILLION;
  const cfg = trackedConfig(core, capacity);
  const frames = vxlanFlows(capacity);
  const f = await fill(cfg, frames);
  await collect();
  if (f.made !== capacity) throw new Error(`conntrack-10m: ${f.made} of ${capacity} connections were made`);
  // The first flows of the 10 million are the 1000 and the million of the
  // other benchmarks.
  const out: BenchResult[] = [];
  for (const flows of [1000, MILLION, capacity]) {
    const r = await lookups(cfg, frames.slice(0, flows), runs);
    out.push(floorResult('conntrack-10m', r, { flows, capacity, frame_bytes: 110, core }));
  }
  const at1k = out[0]!.ns_per_pkt!;
  for (const r of out.slice(1)) r.ratio_to_1k = round(r.ns_per_pkt! / at1k);
  Object.assign(out[2]!, { insert_cps: Math.round(f.cps), ...tableBytes(f), huge_pages: f.hugePages });
  return out;
}
