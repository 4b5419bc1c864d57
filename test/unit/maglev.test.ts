// The data plane's Maglev table (native/nf/lb/maglev.cc), checked for what
// consistent hashing promises: the table depends only on the backends,
// shares follow the weights, and removing one backend of N moves its own
// slots and very few others.
import { describe, expect, it } from 'vitest';
import { maglevTableSize } from '../../src/config/compile-lb.js';
import { loadAddon } from '../../src/dataplane/native.js';

const addon = loadAddon();
const backends = (n: number, weight = (_i: number) => 1) =>
  Array.from({ length: n }, (_, i) => ({ ip: 0x0a500000 + i + 1, port: 80, weight: weight(i) }));

/** Slots per backend (by address). */
function shares(bs: { ip: number }[], table: Uint16Array): Map<number, number> {
  const out = new Map<number, number>();
  for (const i of table) out.set(bs[i]!.ip, (out.get(bs[i]!.ip) ?? 0) + 1);
  return out;
}

describe('maglev', () => {
  it('fills every slot and gives equal backends nearly equal shares', () => {
    const bs = backends(10);
    const { table } = addon.maglevBuild(bs, 65537);
    expect(table.length).toBe(65537);
    const s = [...shares(bs, table).values()];
    expect(s).toHaveLength(10);
    expect(s.reduce((a, b) => a + b, 0)).toBe(65537);
    expect(Math.max(...s) / Math.min(...s)).toBeLessThan(1.02);
  });

  it('is the same table whoever builds it', () => {
    const a = addon.maglevBuild(backends(7), 65537).table;
    const b = addon.maglevBuild(backends(7), 65537).table;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('follows the weights', () => {
    const bs = backends(4, (i) => [1, 2, 3, 4][i]!);
    const s = shares(bs, addon.maglevBuild(bs, 65537).table);
    for (const [i, b] of bs.entries()) {
      const want = (65537 * b.weight) / 10;
      expect(Math.abs(s.get(b.ip)! - want) / want, `backend ${i}`).toBeLessThan(0.02);
    }
  });

  it('moves about 1/N of the slots when one of N backends goes, almost none between the others', () => {
    const n = 20;
    const all = backends(n);
    const before = addon.maglevBuild(all, 65537).table;
    const gone = all[7]!;
    const rest = all.filter((b) => b !== gone);
    const after = addon.maglevBuild(rest, 65537).table;
    let moved = 0;
    let betweenSurvivors = 0;
    for (let i = 0; i < before.length; i++) {
      const was = all[before[i]!]!.ip;
      const now = rest[after[i]!]!.ip;
      if (was !== now) {
        moved++;
        if (was !== gone.ip) betweenSurvivors++;
      }
    }
    expect(moved / before.length).toBeGreaterThan(0.9 / n);
    expect(moved / before.length).toBeLessThan(1.5 / n);
    // Maglev is not perfectly minimal: a few slots change hands between
    // survivors (the paper measures about 1-2% with 65537 slots).
    expect(betweenSurvivors / before.length).toBeLessThan(0.03);
  });

  it('sizes the table at 100 slots per backend or more, a prime', () => {
    expect(maglevTableSize(3)).toBe(65537);
    const n = maglevTableSize(1000);
    expect(n).toBeGreaterThanOrEqual(100_000);
    const { table } = addon.maglevBuild(backends(1000), n);
    expect(new Set(table).size).toBe(1000);
    expect(() => addon.maglevBuild(backends(3), 65536)).toThrow(/prime/);
  });
});
