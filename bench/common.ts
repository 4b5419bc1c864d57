import { availableParallelism } from 'node:os';

// What every benchmark reports, and how: one result per scenario with
// packets per second, nanoseconds per packet, and where a baseline ran in
// the same process and the same minute, the ratio to it.

export interface BenchResult {
  bench: string;
  /** Packet scenarios: millions of packets per second and nanoseconds per packet. */
  mpps?: number;
  ns_per_pkt?: number;
  /** Our ns/packet divided by the in-memory floor's (lower is better, 1 is the floor). */
  ratio_to_floor?: number;
  /** Our delivered packets per second divided by the kernel's (higher is better). */
  ratio_to_kernel?: number;
  [extra: string]: unknown;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The burst the in-memory pipelines run with: the gateway's default (`burst` in the config). */
export const BURST = 32;

/** The last core: benchmarks pin the measured worker there, the generator on core 0. */
export function lastCore(): number {
  return Math.max(0, availableParallelism() - 1);
}
