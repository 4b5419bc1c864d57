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
// each sent once): connections made per second on one core.
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

function trackedConfig(core: number | undefined, maxConnections = 2 * MILLION) {
  return validateConfig({
    ...vxlanBenchConfig(core, 100, undefined, undefined, 'tracked', maxConnections),
    hugepages: 'off',
  });
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
  const cfg = trackedConfig(core);
  const frames = vxlanFlows(MILLION);
  const cps: number[] = [];
  for (let i = 0; i < runs; i++) cps.push(await replay(cfg, 'l3', frames, MILLION));
  const best = Math.max(...cps);
  return [
    {
      bench: 'pipeline-cps',
      cps: Math.round(best),
      mpps: round(best / 1e6),
      ns_per_pkt: round(1e9 / best, 2),
      median_cps: Math.round(median(cps)),
      connections: MILLION,
      core,
      runs,
    },
  ];
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
