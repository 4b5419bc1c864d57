// Replaying frames through a gateway on in-memory ports, pinned to one core
// in busy mode: the measurement under the pipeline benchmarks. Port 0
// receives `count` frames cycling through the templates; every port counts
// what it transmits instead of keeping it.
import { compile } from '../src/config/compile.js';
import type { Config } from '../src/config/schema.js';
import { DataplaneGateway } from '../src/dataplane/gateway.js';
import { bpfDir } from '../src/dataplane/native.js';
import { type BenchResult, BURST, median, round, sleep } from './common.js';

/**
 * One replay's figures: packets per second, and per packet the worker
 * thread's cycles and instructions as the processor counted them (null
 * where the kernel gives no hardware counters). On a shared machine the
 * first moves by half from run to run; instructions hold still, and cycles
 * show what the core itself spent.
 */
export interface ReplayRun {
  pps: number;
  cyclesPerPkt: number | null;
  instrPerPkt: number | null;
}

/**
 * `pipeline` over `count` replayed frames (the "floor" swaps MACs
 * instead), timed after the first `warmup` of them.
 */
export async function replay(
  cfg: Config,
  pipeline: 'l3' | 'floor',
  templates: Buffer[],
  count: number,
  warmup = 0,
): Promise<ReplayRun> {
  const compiled = compile(cfg, { bpfDir: bpfDir(), generation: 1 });
  const gw = new DataplaneGateway({ ...compiled.spec, pipeline, burst: BURST });
  try {
    gw.memReplay(0, 0, templates, count + warmup, warmup);
    for (let p = 1; p < compiled.spec.ports.length; p++) gw.memSink(p, 0);
    gw.start(compiled.snapshot);
    let r = gw.replayResult(0, 0);
    const deadline = Date.now() + 120_000;
    while (r.doneNs === 0 && Date.now() < deadline) {
      await sleep(20);
      r = gw.replayResult(0, 0);
    }
    if (r.doneNs === 0) throw new Error(`${pipeline} replay did not finish`);
    const s = gw.stats();
    const sent = s.ports.reduce((a, p) => a + p.queues.reduce((b, q) => b + q.txPackets, 0), 0);
    if (sent < (count + warmup) * 0.999) {
      const drops = s.workers[0]!.drops.map((n, i) => [i, n]).filter(([, n]) => n);
      throw new Error(
        `${pipeline}: only ${sent} of ${count} frames came out (drops by index: ${JSON.stringify(drops)})`,
      );
    }
    const counted = r.instructions > 0 && r.timed > 0;
    return {
      pps: (r.timed * 1e9) / (r.doneNs - r.startNs),
      cyclesPerPkt: counted ? r.cycles / r.timed : null,
      instrPerPkt: counted ? r.instructions / r.timed : null,
    };
  } finally {
    gw.close();
  }
}

/**
 * Best-of-`runs` packets per second for the pipeline and for the floor,
 * interleaved, each run sized to about a second by a short calibration and
 * timed after one pass over the templates (every flow seen once: tables
 * filled, as in a steady state).
 */
export async function versusFloor(cfg: Config, templates: Buffer[], runs: number) {
  const warmup = templates.length;
  const probe = await replay(cfg, 'l3', templates, 500_000, warmup);
  const floorProbe = await replay(cfg, 'floor', templates, 500_000, warmup);
  const count = Math.max(500_000, Math.round(probe.pps));
  const floorCount = Math.max(500_000, Math.round(floorProbe.pps));
  const l3: ReplayRun[] = [];
  const floor: ReplayRun[] = [];
  for (let i = 0; i < runs; i++) {
    floor.push(await replay(cfg, 'floor', templates, floorCount, warmup));
    l3.push(await replay(cfg, 'l3', templates, count, warmup));
  }
  return { l3, floor };
}

/** The run with the most packets per second. */
export const fastest = (runs: ReplayRun[]) => runs.reduce((a, b) => (b.pps > a.pps ? b : a));

/** A per-packet count as a result field `name`, left out when it was not counted. */
export const perPkt = (name: string, x: number | null) => (x === null ? {} : { [name]: round(x, 1) });

/**
 * A pipeline's result line from versusFloor's runs: the best run (on a
 * shared machine noise only ever slows a run down, so the fastest is the
 * closest to what the code can do; both sides are measured alike,
 * interleaved), its ratio to the floor's best, and the median. Where the
 * processor counted them, the best runs' cycles and instructions a packet
 * on the worker, the pipeline's and the floor's: the ratio of the cycles
 * is the same comparison with the wall clock's noise taken out (what is
 * left is what the core shared with others), the instructions say what
 * the pipeline does in all.
 */
export function floorResult(
  bench: string,
  runs: { l3: ReplayRun[]; floor: ReplayRun[] },
  extra: Record<string, unknown>,
): BenchResult {
  const best = fastest(runs.l3);
  const floorBest = fastest(runs.floor);
  return {
    bench,
    mpps: round(best.pps / 1e6),
    ns_per_pkt: round(1e9 / best.pps, 2),
    ratio_to_floor: round(floorBest.pps / best.pps),
    floor_mpps: round(floorBest.pps / 1e6),
    median_mpps: round(median(runs.l3.map((r) => r.pps)) / 1e6),
    runs: runs.l3.length,
    ...perPkt('cycles_per_pkt', best.cyclesPerPkt),
    ...perPkt('instr_per_pkt', best.instrPerPkt),
    ...perPkt('floor_cycles_per_pkt', floorBest.cyclesPerPkt),
    ...perPkt('floor_instr_per_pkt', floorBest.instrPerPkt),
    ...extra,
  };
}
