// The pipeline benchmarks' per-packet counts: a replay reports the worker
// thread's cycles and instructions, as the processor counted them, where
// the kernel gives hardware counters (a PMU that counts both; as root, or
// with perf_event_paranoid <= 2).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lastCore } from '../../bench/common.js';
import { l3Config, l3Frames } from '../../bench/pipeline.js';
import { replay } from '../../bench/replay.js';

const pmu = '/sys/bus/event_source/devices/cpu/events';
const counters =
  existsSync(`${pmu}/cpu-cycles`) &&
  existsSync(`${pmu}/instructions`) &&
  (process.getuid?.() === 0 || Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8')) <= 2);

describe('replay counters', () => {
  it('count the worker thread alone: the forwarding pipeline does more a packet than the floor', async () => {
    const cfg = l3Config(lastCore(), 100);
    const frames = l3Frames(64);
    const l3 = await replay(cfg, 'l3', frames, 200_000, frames.length);
    const floor = await replay(cfg, 'floor', frames, 200_000, frames.length);
    expect(l3.pps).toBeGreaterThan(0);
    if (!counters) {
      expect([l3.instrPerPkt, l3.cyclesPerPkt, floor.instrPerPkt]).toEqual([null, null, null]);
      return;
    }
    // Per packet, not per run: tens to thousands of instructions (the
    // sanitizer build's included), never the whole process's millions.
    for (const r of [l3, floor]) {
      expect(r.instrPerPkt).toBeGreaterThan(10);
      expect(r.instrPerPkt).toBeLessThan(20_000);
      expect(r.cyclesPerPkt).toBeGreaterThan(1);
    }
    expect(l3.instrPerPkt!).toBeGreaterThan(floor.instrPerPkt! + 20);
  });
});
