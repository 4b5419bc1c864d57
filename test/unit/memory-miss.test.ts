// The memory probe behind the bench's memory-miss line: it walks a table
// past the caches one line at a time and a burst's worth at once, and
// refuses arguments it cannot use. No time is asserted (a shared machine):
// only that both walks ran and were timed.
import { describe, expect, it } from 'vitest';
import { BURST, lastCore } from '../../bench/common.js';
import { loadAddon } from '../../src/dataplane/native.js';

describe('memory probe', () => {
  it('times a random line of a 64 MiB table alone and with a burst in flight', () => {
    const m = loadAddon().memoryMiss(64 << 20, BURST, 1_000_000, lastCore());
    for (const ns of [m.dependentNs, m.parallelNs]) {
      expect(Number.isFinite(ns)).toBe(true);
      expect(ns).toBeGreaterThan(0);
    }
    expect(typeof m.hugePages).toBe('boolean');
  });

  it('says which arguments it needs', () => {
    const probe = loadAddon().memoryMiss as unknown as (...a: unknown[]) => unknown;
    expect(() => probe(64 << 20, BURST)).toThrow(/memoryMiss\(bytes, chains, loads, core\): four numbers/);
    expect(() => probe('64M', BURST, 1_000_000, 0)).toThrow(/four numbers/);
  });
});
