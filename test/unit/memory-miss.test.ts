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
    expect(() => probe(1 << 20, BURST, 1_000_000, 0)).toThrow(/bytes must be from 64 MiB to 4 GiB/);
    expect(() => probe(2 ** 50, BURST, 1_000_000, 0)).toThrow(/bytes must be from 64 MiB to 4 GiB/);
    expect(() => probe(64 << 20, 0, 1_000_000, 0)).toThrow(/chains must be from 1 to 64/);
    expect(() => probe(64 << 20, BURST, 10, 0)).toThrow(/loads must be from 1M to 1G/);
    expect(() => probe(64 << 20, BURST, 1_000_000, -2)).toThrow(/core must be a core number/);
  });
});
