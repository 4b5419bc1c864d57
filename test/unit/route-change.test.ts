// Single VPC route changes (GatewayService.setRoute, PUT and DELETE
// /v1/route-tables/<id>/routes/<prefix>/<length>): the data plane edits a
// copy of the running tables and rebuilds only the part a change touches
// (Lpm4::update). Checked against a brute-force longest-prefix match over
// the configuration after every batch of random changes, refused like the
// whole-document validation refuses, and kept across a restart by the
// state journal.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vxlanBenchConfig } from '../../bench/vxlan.js';
import { createApiServer } from '../../src/api/server.js';
import { formatIp4, networkOf, parsePrefix } from '../../src/config/ip.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { MetricsExporter } from '../../src/metrics/metrics.js';
import { GatewayService } from '../../src/service/gateway-service.js';
import { journalPath, loadState, stateSaver } from '../../src/service/state.js';
import { MemGateway } from '../support/mem-gateway.js';
import { rng } from '../support/rng.js';

// What rt-a sends `ip` to, by brute force over the configuration: its VPC's
// CIDR is local, the longest route wins, nothing matching is no route.
function expected(cfg: Config, ip: number): string | null {
  const table = cfg.routeTables.find((t) => t.id === 'rt-a')!;
  let best = -1;
  let target: string | null = null;
  const consider = (destination: string, to: string) => {
    const p = parsePrefix(destination)!;
    if (p.len > best && networkOf(ip, p.len) === networkOf(p.ip, p.len)) {
      best = p.len;
      target = to;
    }
  };
  for (const c of cfg.vpcs.find((v) => v.id === table.vpc)!.cidrs) consider(c, 'local');
  for (const r of table.routes) consider(r.destination, r.target);
  return target;
}

// Addresses near the routes (inside, at the edges, just outside) and random ones.
function probes(cfg: Config, rand: () => number, count: number): number[] {
  const routes = cfg.routeTables.find((t) => t.id === 'rt-a')!.routes;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 4 === 3) {
      out.push(((rand() * 2 ** 32) >>> 0) | 0x14000000);
      continue;
    }
    const p = parsePrefix(routes[Math.floor(rand() * routes.length)]!.destination)!;
    const size = 2 ** (32 - p.len);
    const edge = [0, size - 1, size, -1, Math.floor(rand() * size)][i % 5]!;
    out.push((networkOf(p.ip, p.len) + edge) >>> 0);
  }
  return out;
}

function randomChange(cfg: Config, rand: () => number) {
  const routes = cfg.routeTables.find((t) => t.id === 'rt-a')!.routes;
  const r = rand();
  if (r < 0.3 && routes.length) {
    const victim = routes[Math.floor(rand() * routes.length)]!;
    return { routeTable: 'rt-a', destination: victim.destination, target: null };
  }
  // Inside vpc-b's 20.0.0.0/7 (a peering target must be), /7 to /32.
  const len = 7 + Math.floor(rand() * 26);
  const ip = networkOf((0x14000000 | ((rand() * 2 ** 25) >>> 0)) >>> 0, len);
  const target = ['peering:pcx', 'blackhole', 'eni:src-3', 'eni:src-7'][Math.floor(rand() * 4)]!;
  return { routeTable: 'rt-a', destination: `${formatIp4(ip)}/${len}`, target };
}

describe('single route changes in the data plane', () => {
  let gw: MemGateway;
  beforeAll(() => {
    gw = MemGateway.start(vxlanBenchConfig(undefined, 3000));
  });
  afterAll(() => gw?.close());

  const check = (rand: () => number) => {
    const cfg = gw.svc.config;
    let wrong = 0;
    const examples: string[] = [];
    for (const ip of probes(cfg, rand, 3000)) {
      const got = gw.svc.vpcRouteLookup('rt-a', formatIp4(ip)).target;
      const want = expected(cfg, ip);
      if (got !== want) {
        wrong++;
        if (examples.length < 5) examples.push(`${formatIp4(ip)}: ${got} instead of ${want}`);
      }
    }
    expect(examples).toEqual([]);
    expect(wrong).toBe(0);
  };

  it('agree with a longest-prefix match over the configuration after every batch of random changes', async () => {
    const rand = rng(7);
    check(rand);
    for (let batch = 0; batch < 8; batch++) {
      for (let i = 0; i < 40; i++) {
        const generation = gw.svc.generation;
        const r = await gw.svc.setRoute(randomChange(gw.svc.config, rand));
        expect(r.generation).toBe(r.changed ? generation + 1 : generation);
      }
      check(rand);
    }
  });

  it('give the same tables as applying the whole document', async () => {
    const before = probes(gw.svc.config, rng(11), 2000).map(
      (ip) => gw.svc.vpcRouteLookup('rt-a', formatIp4(ip)).target,
    );
    // The whole path, validated and compiled (with a change elsewhere, or
    // nothing would be applied).
    const doc = JSON.parse(JSON.stringify(gw.svc.config)) as Config;
    doc.routeTables[1]!.routes.push({ destination: '192.168.0.0/16', target: 'blackhole' });
    const r = await gw.svc.replaceConfig(doc);
    expect(r.changed).toBe(true);
    const whole = gw.svc.config;
    expect(
      probes(whole, rng(11), 2000).map((ip) => gw.svc.vpcRouteLookup('rt-a', formatIp4(ip)).target),
    ).toEqual(before);
  });

  it('set a default route and take it away again (a change wider than a slot)', async () => {
    await gw.svc.setRoute({ routeTable: 'rt-a', destination: '0.0.0.0/0', target: 'blackhole' });
    expect(gw.svc.vpcRouteLookup('rt-a', '99.1.2.3').target).toBe('blackhole');
    check(rng(3));
    await gw.svc.setRoute({ routeTable: 'rt-a', destination: '0.0.0.0/0', target: null });
    expect(gw.svc.vpcRouteLookup('rt-a', '99.1.2.3').target).toBeNull();
    check(rng(4));
  });

  it('refuse what the whole-document validation refuses, and change nothing', async () => {
    const generation = gw.svc.generation;
    const config = gw.svc.config;
    const refused = async (change: { routeTable: string; destination: string; target: string | null }) => {
      try {
        await gw.svc.setRoute(change);
      } catch (e) {
        const err = e as { code: string; message: string; details?: { path: string; message: string }[] };
        return { code: err.code, message: err.message, details: err.details };
      }
      throw new Error(`${JSON.stringify(change)} was accepted`);
    };
    const n = config.routeTables[0]!.routes.length;
    expect(
      await refused({ routeTable: 'rt-x', destination: '20.1.0.0/16', target: 'blackhole' }),
    ).toMatchObject({
      code: 'NFVGW_ERR_NOT_FOUND',
      message: 'no route table has the id rt-x',
    });
    expect(
      await refused({ routeTable: 'rt-a', destination: '20.1.0.1/16', target: 'blackhole' }),
    ).toMatchObject({
      code: 'NFVGW_ERR_CONFIG_INVALID',
      details: [
        {
          path: `$.routeTables[0].routes[${n}].destination`,
          message: '20.1.0.1/16 has host bits set (did you mean 20.1.0.0/16?)',
        },
      ],
    });
    expect(
      await refused({ routeTable: 'rt-a', destination: '20.1.0.0/16', target: 'eni:nope' }),
    ).toMatchObject({
      details: [{ path: `$.routeTables[0].routes[${n}].target`, message: 'no ENI is named nope' }],
    });
    expect(
      await refused({ routeTable: 'rt-a', destination: '30.1.0.0/16', target: 'peering:pcx' }),
    ).toMatchObject({
      details: [{ message: '30.1.0.0/16 is not inside the CIDRs of the peer vpc-b' }],
    });
    expect(
      await refused({ routeTable: 'rt-a', destination: '10.0.0.0/16', target: 'blackhole' }),
    ).toMatchObject({
      details: [{ message: '10.0.0.0/16 is a CIDR of vpc-a, routed locally without a route' }],
    });
    expect(
      await refused({ routeTable: 'rt-a', destination: '20.1.0.0/33', target: 'blackhole' }),
    ).toMatchObject({
      code: 'NFVGW_ERR_CONFIG_INVALID',
    });
    expect(await refused({ routeTable: 'rt-a', destination: '31.0.0.0/8', target: null })).toMatchObject({
      code: 'NFVGW_ERR_NOT_FOUND',
      message: 'rt-a has no route to 31.0.0.0/8',
    });
    expect(
      await (async () => {
        try {
          await gw.svc.setRoute(
            { routeTable: 'rt-a', destination: '20.1.0.0/16', target: 'blackhole' },
            { ifGeneration: generation - 1 },
          );
        } catch (e) {
          return (e as { code: string }).code;
        }
      })(),
    ).toBe('NFVGW_ERR_PRECONDITION_FAILED');
    const dry = await gw.svc.setRoute(
      { routeTable: 'rt-a', destination: '20.1.0.0/16', target: 'blackhole' },
      { dryRun: true },
    );
    expect(dry).toEqual({
      generation,
      changed: true,
      dryRun: true,
      changes: [{ path: 'routeTables', changed: ['rt-a'] }],
    });
    expect(gw.svc.generation).toBe(generation);
    expect(gw.svc.config).toBe(config);
  });
});

describe('the route resource in the REST API', () => {
  let gw: MemGateway;
  let app: ReturnType<typeof createApiServer>;
  beforeAll(async () => {
    gw = MemGateway.start(vxlanBenchConfig(undefined, 100));
    app = createApiServer(gw.svc, new MetricsExporter(gw.svc), silentLogger());
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    gw?.close();
  });
  const url = '/v1/route-tables/rt-a/routes/21.0.0.0/8';
  const put = (payload: unknown, headers: Record<string, string> = {}, query = '') =>
    app.inject({
      method: 'PUT',
      url: url + query,
      payload: JSON.stringify(payload),
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('creates, reads, replaces and deletes one route, each a new generation', async () => {
    const g = gw.svc.generation;
    let r = await put({ target: 'blackhole' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ generation: g + 1, changed: true });
    expect(r.headers.etag).toBe(`"${g + 1}"`);
    r = await app.inject({ method: 'GET', url });
    expect(r.json()).toEqual({ destination: '21.0.0.0/8', target: 'blackhole' });
    r = await app.inject({ method: 'GET', url: '/v1/routes/lookup?address=21.9.9.9&routeTable=rt-a' });
    expect(r.json()).toEqual({ address: '21.9.9.9', routeTable: 'rt-a', target: 'blackhole' });
    r = await put({ target: 'peering:pcx' }, { 'if-match': `"${g + 1}"` });
    expect(r.json()).toEqual({ generation: g + 2, changed: true });
    r = await app.inject({ method: 'GET', url: '/v1/routes/lookup?address=21.9.9.9&routeTable=rt-a' });
    expect(r.json().target).toBe('peering:pcx');
    r = await put({ target: 'peering:pcx' });
    expect(r.json()).toEqual({ generation: g + 2, changed: false });
    r = await app.inject({ method: 'DELETE', url });
    expect(r.json()).toEqual({ generation: g + 3, changed: true });
    r = await app.inject({ method: 'GET', url });
    expect(r.statusCode).toBe(404);
    r = await app.inject({ method: 'GET', url: '/v1/routes/lookup?address=21.9.9.9&routeTable=rt-a' });
    expect(r.json().target).toBe('peering:pcx'); // 20.0.0.0/7 again
  });

  it('refuses a stale If-Match, a bad body and a bad route with 4xx and precise errors', async () => {
    const g = gw.svc.generation;
    let r = await put({ target: 'blackhole' }, { 'if-match': `"${g - 1}"` });
    expect(r.statusCode).toBe(412);
    r = await put({ via: 'blackhole' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toContain('needs {"target": "..."}');
    r = await put({ target: 'blackhole', metric: 5 });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toBe('unknown field metric in the route');
    r = await put({ target: 'transit:nope' });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details).toEqual([
      { path: '$.routeTables[0].routes[100].target', message: 'no transit gateway is named nope' },
    ]);
    r = await app.inject({ method: 'DELETE', url: '/v1/route-tables/rt-a/routes/22.0.0.0/8' });
    expect(r.statusCode).toBe(404);
    expect(gw.svc.generation).toBe(g);
  });
});

describe('route changes in the state directory', () => {
  it('are journaled, replayed at the next start, and folded into the document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nfvgw-journal-'));
    try {
      const save = stateSaver(dir, 0, 3);
      const svc = GatewayService.start(vxlanBenchConfig(undefined, 100), silentLogger(), { onApplied: save });
      try {
        save(svc.generation, svc.config);
        await svc.setRoute({ routeTable: 'rt-a', destination: '21.0.0.0/8', target: 'blackhole' });
        await svc.setRoute({ routeTable: 'rt-a', destination: '22.0.0.0/8', target: 'eni:src-1' });
        await svc.setRoute({ routeTable: 'rt-a', destination: '21.0.0.0/8', target: null });
        expect(readFileSync(journalPath(dir), 'utf8').trim().split('\n')).toHaveLength(3);
        let state = loadState(dir)!;
        expect(state.generation).toBe(svc.generation);
        expect(state.journaled).toBe(3);
        expect(state.config).toEqual(svc.config);

        // A line cut short by a crash was never acknowledged: ignored.
        writeFileSync(journalPath(dir), `${readFileSync(journalPath(dir), 'utf8')}{"generation":`);
        expect(loadState(dir)!.generation).toBe(svc.generation);

        // The fourth change writes the document whole and empties the journal.
        await svc.setRoute({ routeTable: 'rt-a', destination: '23.0.0.0/8', target: 'blackhole' });
        state = loadState(dir)!;
        expect(state.journaled).toBe(0);
        expect(state.generation).toBe(svc.generation);
        expect(state.config).toEqual(svc.config);
      } finally {
        svc.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
