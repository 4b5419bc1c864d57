// The data plane's route lookup (a poptrie) against a brute-force longest
// prefix match over the same routes, on random tables: every lookup must
// agree. Also a table of 100 000 routes, applied while the gateway runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIp4, networkOf } from '../../src/config/ip.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { MemGateway } from '../support/mem-gateway.js';
import { rng } from '../support/rng.js';

interface Route {
  prefix: number;
  len: number;
  via: string | null;
  type: 'via' | 'connected' | 'local' | 'blackhole';
}

const ports = [
  { name: 'lan', type: 'mem' as const, addresses: ['10.0.0.1/16'] },
  { name: 'wan', type: 'mem' as const, addresses: ['100.64.0.1/16'] },
];
const fixed: Route[] = [
  { prefix: 0x0a000000, len: 16, via: null, type: 'connected' },
  { prefix: 0x0a000001, len: 32, via: null, type: 'local' },
  { prefix: 0x64400000, len: 16, via: null, type: 'connected' },
  { prefix: 0x64400001, len: 32, via: null, type: 'local' },
];

function randomTable(seed: number, count: number): Route[] {
  const rand = rng(seed);
  const seen = new Set(fixed.map((r) => `${r.prefix}/${r.len}`));
  const routes: Route[] = [];
  while (routes.length < count) {
    // Lengths cluster the way real tables do (/8-/32, most at /16-/24).
    const len = Math.min(32, Math.max(1, Math.round(8 + rand() * 24 * rand() + rand() * 12)));
    const prefix = networkOf(Math.floor(rand() * 2 ** 32), len);
    const key = `${prefix}/${len}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const blackhole = rand() < 0.05;
    routes.push({
      prefix,
      len,
      via: blackhole ? null : `100.64.${1 + Math.floor(rand() * 200)}.${1 + Math.floor(rand() * 250)}`,
      type: blackhole ? 'blackhole' : 'via',
    });
  }
  return routes;
}

function config(routes: Route[]): ConfigInput {
  return {
    ports,
    routes: routes.map((r) =>
      r.type === 'blackhole'
        ? { destination: `${formatIp4(r.prefix)}/${r.len}`, type: 'blackhole' as const }
        : { destination: `${formatIp4(r.prefix)}/${r.len}`, via: r.via! },
    ),
  };
}

function bruteForce(routes: Route[], addr: number): Route | null {
  let best: Route | null = null;
  for (const r of routes) {
    if (networkOf(addr, r.len) === r.prefix && (!best || r.len > best.len)) best = r;
  }
  return best;
}

let gw: MemGateway;
beforeAll(() => {
  gw = MemGateway.start(config([]));
});
afterAll(() => gw?.close());

describe('route lookup (poptrie) against brute force', () => {
  for (const [seed, count] of [
    [1, 50],
    [2, 3000],
    [3, 6000], // above 4096 routes the table uses 16 direct-pointing bits
  ] as const) {
    it(`agrees on every lookup with ${count} random routes (seed ${seed})`, async () => {
      const routes = randomTable(seed, count);
      await gw.svc.replaceConfig(config(routes));
      const all = [...fixed, ...routes];
      const rand = rng(seed * 7919);
      const queries: number[] = [];
      for (const r of routes.slice(0, 800)) {
        // the edges of each prefix and a point inside it
        const size = 2 ** (32 - r.len);
        queries.push(r.prefix, (r.prefix + size - 1) >>> 0, (r.prefix + Math.floor(rand() * size)) >>> 0);
        if (r.prefix > 0) queries.push(r.prefix - 1);
      }
      for (let i = 0; i < 2000; i++) queries.push(Math.floor(rand() * 2 ** 32));
      let checked = 0;
      for (const q of queries) {
        const want = bruteForce(all, q);
        const got = gw.svc.routeLookup(formatIp4(q));
        const expected = want ? { type: want.type, via: want.via } : { type: 'none', via: null };
        expect({ address: got.address, type: got.type, via: got.via }).toEqual({
          address: formatIp4(q),
          ...expected,
        });
        checked++;
      }
      expect(checked).toBeGreaterThan(2000);
    });
  }

  it('takes a table of 100 000 routes while running and looks them up right', async () => {
    const routes = randomTable(42, 100_000);
    const r = await gw.svc.replaceConfig(config(routes));
    expect(r.changed).toBe(true);
    expect(gw.svc.stats().routes).toBe(100_000 + fixed.length);
    const all = [...fixed, ...routes];
    for (const route of routes.slice(0, 200)) {
      const q = (route.prefix + 1) >>> 0;
      const want = bruteForce(all, q)!;
      expect(gw.svc.routeLookup(formatIp4(q))).toMatchObject({ type: want.type, via: want.via });
    }
  });
});
