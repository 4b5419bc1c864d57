// `npm run bench -- [--json] [--report] [scenario...]`: runs the benchmark
// scenarios and prints one line per result (a JSON object per line with
// --json); --report also writes bench/REPORT.md and bench/report.png
// (bench/report.ts), going on past scenarios that fail. Later issues add
// scenarios to SCENARIOS; those in NAMED_ONLY run only when named.

import { apiStatus } from './api.js';
import { type BenchResult, round } from './common.js';
import { conntrack10m, conntrackMemory, pipelineConntrack, pipelineCps, pipelineNat } from './conntrack.js';
import { apiRouteUpdate, configApplyLarge, scrapeCost } from './control-plane.js';
import { e2eL3fwd } from './e2e.js';
import { e2eNat, e2eVxlan } from './e2e-vxlan.js';
import { e2eLb, maglevBuild1000, pipelineLb } from './lb.js';
import { memoryMiss, pipelineL3fwd } from './pipeline.js';
import type { ScenarioOutcome } from './report.js';
import { pipelineVxlanRoute, routeApply100k } from './vxlan.js';

export const SCENARIOS: Record<string, () => Promise<BenchResult[]>> = {
  'pipeline-l3fwd': () => pipelineL3fwd(),
  'memory-miss': () => memoryMiss(),
  'pipeline-vxlan-route': () => pipelineVxlanRoute(),
  'route-apply-100k': () => routeApply100k(),
  'pipeline-conntrack': () => pipelineConntrack(),
  'pipeline-cps': () => pipelineCps(),
  'pipeline-nat': () => pipelineNat(),
  'conntrack-memory': () => conntrackMemory(),
  'conntrack-10m': () => conntrack10m(),
  'e2e-l3fwd': () => e2eL3fwd({ transport: 'af_xdp' }),
  'e2e-l3fwd-af_packet': () => e2eL3fwd({ transport: 'af_packet' }),
  'e2e-vxlan': () => e2eVxlan(),
  'e2e-nat': () => e2eNat('nat'),
  'e2e-cps': () => e2eNat('cps'),
  'pipeline-lb-dr': () => pipelineLb('dr'),
  'pipeline-lb-fullnat': () => pipelineLb('fullnat'),
  'maglev-build-1000': () => maglevBuild1000(),
  'e2e-lb': () => e2eLb(),
  'api-status': () => apiStatus(),
  'config-apply-large': () => configApplyLarge(),
  'api-route-update': () => apiRouteUpdate(),
  'scrape-cost': () => scrapeCost(),
};

/** Too long or too big for every run (minutes, gigabytes): run when named, not by default. */
export const NAMED_ONLY = new Set(['conntrack-10m']);

function human(r: BenchResult): string {
  if (r.mpps === undefined) {
    const fields = Object.entries(r)
      .filter(([k]) => k !== 'bench')
      .map(([k, v]) => `${k} ${v}`);
    return `${r.bench.padEnd(22)} ${fields.join('  ')}`;
  }
  const extra = [
    r.ratio_to_floor !== undefined ? `${r.ratio_to_floor}x the floor's ns/packet` : '',
    r.ratio_to_kernel !== undefined
      ? `${r.ratio_to_kernel}x the kernel's packets/s (kernel ${r.kernel_mpps} Mpps)`
      : '',
    r.cycles_per_pkt !== undefined
      ? `${r.cycles_per_pkt} cycles and ${r.instr_per_pkt} instructions a packet on the worker` +
        (r.floor_cycles_per_pkt !== undefined
          ? ` (the floor ${r.floor_cycles_per_pkt} and ${r.floor_instr_per_pkt})`
          : '')
      : '',
  ].filter(Boolean);
  return `${r.bench.padEnd(22)} ${String(round(r.mpps, 3)).padStart(8)} Mpps ${String(r.ns_per_pkt).padStart(9)} ns/packet  ${extra.join(', ')}`;
}

export async function runBenchmarks(opts: {
  json: boolean;
  scenarios: string[];
  report?: boolean;
}): Promise<void> {
  const names = opts.scenarios.length
    ? opts.scenarios
    : Object.keys(SCENARIOS).filter((n) => !NAMED_ONLY.has(n));
  for (const n of names) {
    if (!SCENARIOS[n])
      throw new Error(`unknown benchmark ${n}; there are: ${Object.keys(SCENARIOS).join(', ')}`);
  }
  const outcomes: ScenarioOutcome[] = [];
  for (const n of names) {
    if (!opts.json) console.log(`running ${n} ...`);
    const t = performance.now();
    try {
      const results = await SCENARIOS[n]!();
      for (const r of results) console.log(opts.json ? JSON.stringify(r) : human(r));
      outcomes.push({ scenario: n, results, seconds: (performance.now() - t) / 1000 });
    } catch (e) {
      // For a report, a scenario that fails is written down and the others go on.
      if (!opts.report) throw e;
      const error = (e as Error).message ?? String(e);
      console.error(`${n} failed: ${error}`);
      outcomes.push({ scenario: n, results: [], error, seconds: (performance.now() - t) / 1000 });
    }
  }
  if (opts.report) {
    const { writeReport } = await import('./report.js');
    for (const path of await writeReport(outcomes)) console.error(`wrote ${path}`);
  }
}
