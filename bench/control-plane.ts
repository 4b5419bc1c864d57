// The control plane's benchmarks, on gateways with in-memory ports:
//
// config-apply-large: a running gateway (one busy worker on the last core)
// takes the large configuration of bench/large-config.ts (100 000 VPC
// routes, 10 000 ENIs, 1000 load-balancer backends over 20 services)
// through the path an API call takes (svc.replaceConfig: validation,
// compilation, tables built off the fast path, publication), from the
// small one it started with: the median of 3 such applies, validation and
// compilation timed on their own, and one route more after that. Then the
// swap under traffic: a data plane replaying VXLAN frames through its
// busy worker takes the large snapshot, one with a route more and the
// small one again while the replay runs; every frame replayed must come
// out, so what did not is what the swaps lost.
//
// api-route-update: single-route changes through the REST API with
// autocannon (one connection: one controller, one change at a time, each
// applied before the next is sent) against a gateway holding the large
// configuration: PUT /v1/route-tables/rt-a/routes/{prefix}/{length}, then
// DELETE of the same route, a new prefix each time. Where that endpoint
// does not exist (404 from the router), PUT /v1/route-tables/rt-a (the
// whole table, 100 000 routes, with and without one route in turn); the
// result's `path` says which was measured.
//
// scrape-cost: what a Prometheus scrape every second costs the data plane:
// the pipeline-l3fwd replay (one busy worker on the last core) with and
// without a GET /metrics every second over HTTP, in alternating rounds;
// Mpps both ways (best and median) and the cost in percent.
import autocannon from 'autocannon';
import { createApiServer } from '../src/api/server.js';
import { compile } from '../src/config/compile.js';
import type { Config, ConfigInput } from '../src/config/schema.js';
import { validateConfig } from '../src/config/validate.js';
import { DataplaneGateway } from '../src/dataplane/gateway.js';
import { bpfDir, type GatewayStats } from '../src/dataplane/native.js';
import { silentLogger } from '../src/log/logger.js';
import { MetricsExporter } from '../src/metrics/metrics.js';
import { GatewayService } from '../src/service/gateway-service.js';
import { type BenchResult, lastCore, median, round, sleep } from './common.js';
import { LARGE, largeConfig, largeConfigCounts, SMALL } from './large-config.js';
import { l3Config, l3Frames } from './pipeline.js';
import { vxlanFlows } from './vxlan.js';

type RouteTables = {
  routeTables: { id: string; vpc: string; routes: { destination: string; target: string }[] }[];
};

/** `cfg` with one more route in vpc-a's table (outside everything routed there). */
function oneRouteMore(cfg: ConfigInput): ConfigInput {
  const c = structuredClone(cfg) as ConfigInput & RouteTables;
  c.routeTables[0]!.routes.push({ destination: '172.31.255.0/24', target: 'blackhole' });
  return c;
}

const totalSent = (s: GatewayStats) =>
  s.ports.reduce((a, p) => a + p.queues.reduce((b, q) => b + q.txPackets, 0), 0);

/**
 * Replays `count` frames (after `warmup`) through a data plane of `cfg`,
 * port 0 receiving, the other ports counting; `during` runs once the
 * replay is under way. Returns the packets per second of the timed part,
 * what came out and whether the replay was still going when `during` ended.
 */
async function replayWith(
  cfg: Config,
  templates: Buffer[],
  count: number,
  warmup: number,
  during?: (gw: DataplaneGateway) => Promise<void>,
) {
  const compiled = compile(cfg, { bpfDir: bpfDir(), generation: 1 });
  const gw = new DataplaneGateway({ ...compiled.spec, pipeline: 'l3', burst: 32 });
  try {
    gw.memReplay(0, 0, templates, count + warmup, warmup);
    for (let p = 1; p < compiled.spec.ports.length; p++) gw.memSink(p, 0);
    gw.start(compiled.snapshot);
    let overlapped = true;
    if (during) {
      while (gw.replayResult(0, 0).received === 0) await sleep(1);
      await during(gw);
      overlapped = gw.replayResult(0, 0).doneNs === 0;
    }
    const deadline = Date.now() + 120_000;
    let r = gw.replayResult(0, 0);
    while (r.doneNs === 0 && Date.now() < deadline) {
      await sleep(20);
      r = gw.replayResult(0, 0);
    }
    if (r.doneNs === 0) throw new Error('the replay did not finish');
    // The last frames may still be in the worker's transmit batch.
    await sleep(50);
    const s = gw.stats();
    return {
      pps: (r.timed * 1e9) / (r.doneNs - r.startNs),
      replayed: count + warmup,
      sent: totalSent(s),
      drops: s.workers.reduce((a, w) => a + w.drops.reduce((b, n) => b + n, 0), 0),
      overlapped,
    };
  } finally {
    gw.close();
  }
}

export async function configApplyLarge(): Promise<BenchResult[]> {
  const core = lastCore();
  const workers = [{ core, pollMode: 'busy' as const }];
  const small = largeConfig(SMALL, { workers });
  const large = largeConfig(LARGE, { workers });
  const result: BenchResult = { bench: 'config-apply-large', ...largeConfigCounts() };

  const svc = GatewayService.start(small, silentLogger());
  try {
    // Three rounds of: the parts, timed on their own (the same functions
    // replaceConfig runs), then the whole apply, then back to small.
    const validating: number[] = [];
    const compiling: number[] = [];
    const apply: number[] = [];
    let t = 0;
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const cfg = validateConfig(large);
      validating.push(performance.now() - t);
      t = performance.now();
      compile(cfg, { bpfDir: bpfDir(), generation: 2 });
      compiling.push(performance.now() - t);
      t = performance.now();
      const r = await svc.replaceConfig(large);
      apply.push(performance.now() - t);
      if (!r.changed) throw new Error('the large configuration was not applied');
      if (i < 2) await svc.replaceConfig(small);
    }
    t = performance.now();
    await svc.replaceConfig(oneRouteMore(large));
    const oneMs = performance.now() - t;
    Object.assign(result, {
      apply_ms: round(median(apply), 1),
      apply_ms_max: round(Math.max(...apply), 1),
      validate_ms: round(median(validating), 1),
      compile_ms: round(median(compiling), 1),
      one_route_more_ms: round(oneMs, 1),
      applies: apply.length,
    });
  } finally {
    svc.close();
  }

  // The swap under traffic. The snapshots are compiled beforehand: what
  // overlaps the replay is the data plane's part of an apply (tables built
  // aside, then published), the part that could disturb forwarding.
  const smallCfg = validateConfig(small);
  const snapshots = [large, oneRouteMore(large), small].map(
    (c, i) => compile(validateConfig(c), { bpfDir: bpfDir(), generation: 2 + i }).snapshot,
  );
  const templates = vxlanFlows(1024);
  const probe = await replayWith(smallCfg, templates, 2_000_000, templates.length);
  // About 4 s of frames: the three data-plane applies take well under that.
  const count = Math.round(probe.pps * 4);
  const swapMs: number[] = [];
  const r = await replayWith(smallCfg, templates, count, templates.length, async (gw) => {
    for (const snap of snapshots) {
      const t = performance.now();
      await gw.apply(snap);
      swapMs.push(performance.now() - t);
    }
  });
  Object.assign(result, {
    swap_lost_packets: r.replayed - r.sent,
    swap_dropped: r.drops,
    swap_replayed: r.replayed,
    swap_mpps: round(r.pps / 1e6),
    swaps: snapshots.length,
    swap_apply_ms: round(swapMs[0]!, 1),
    swap_in_replay: r.overlapped,
  });
  return [result];
}

/** The gateway's base URL once listening. */
async function listen(app: ReturnType<typeof createApiServer>): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

/** The k-th prefix the benchmark adds: /24s of 172.16.0.0/12, routed nowhere else. */
const updatePrefix = (k: number) => `172.${16 + ((k >> 8) & 15)}.${k & 255}.0/24`;

export async function apiRouteUpdate(opts: { seconds?: number } = {}): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 5;
  // An adaptive worker, as api-status has: the API and autocannon get the cores.
  const svc = GatewayService.start(
    largeConfig(LARGE, { workers: [{ pollMode: 'adaptive' }] }),
    silentLogger(),
  );
  const app = createApiServer(svc, new MetricsExporter(svc), silentLogger(), { bodyLimit: 64 << 20 });
  try {
    const base = await listen(app);
    const json = { 'content-type': 'application/json' };
    const routePath = (k: number) => `/v1/route-tables/rt-a/routes/${updatePrefix(k)}`;
    const body = JSON.stringify({ target: 'blackhole' });

    // Is the one-route endpoint there? The router's 404 says "no route".
    const probe = await fetch(base + routePath(4095), { method: 'PUT', headers: json, body });
    const probeText = await probe.text();
    const perRoute = !(probe.status === 404 && probeText.includes('no route'));
    if (perRoute) {
      if (!probe.ok) throw new Error(`PUT ${routePath(4095)}: ${probe.status} ${probeText}`);
      const del = await fetch(base + routePath(4095), { method: 'DELETE' });
      if (!del.ok) throw new Error(`DELETE ${routePath(4095)}: ${del.status} ${await del.text()}`);
    }

    let requests: autocannon.Request[];
    if (perRoute) {
      // A route added, then deleted: the table stays at its size. One
      // connection, so the DELETE always follows its PUT.
      let k = 0;
      requests = [
        {
          method: 'PUT',
          headers: json,
          body,
          setupRequest: (req) => ({ ...req, path: routePath(k % 4000) }),
        },
        {
          method: 'DELETE',
          setupRequest: (req) => ({ ...req, path: routePath(k++ % 4000), headers: {} }),
        },
      ];
    } else {
      // The whole table, with and without one route in turn (an unchanged
      // document would not be applied at all).
      const table = svc.config.routeTables.find((t) => t.id === 'rt-a')!;
      const bodies = [
        JSON.stringify({
          vpc: table.vpc,
          routes: [...table.routes, { destination: updatePrefix(0), target: 'blackhole' }],
        }),
        JSON.stringify({ vpc: table.vpc, routes: table.routes }),
      ];
      let k = 0;
      requests = [
        {
          method: 'PUT',
          path: '/v1/route-tables/rt-a',
          headers: json,
          setupRequest: (req) => ({ ...req, body: bodies[k++ & 1]! }),
        },
      ];
    }
    const generation = svc.generation;
    const r = await autocannon({ url: base, connections: 1, duration: seconds, requests, timeout: 30 });
    if (r.non2xx || r.errors || r.timeouts)
      throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
    return [
      {
        bench: 'api-route-update',
        path: perRoute
          ? 'PUT and DELETE /v1/route-tables/rt-a/routes/{prefix}/{length}'
          : 'PUT /v1/route-tables/rt-a (the whole table; no per-route endpoint)',
        requests_per_sec: round(r.requests.total / r.duration, 2),
        latency_p50_ms: r.latency.p50,
        latency_p99_ms: r.latency.p99,
        latency_max_ms: r.latency.max,
        requests: r.requests.total,
        applied: svc.generation - generation,
        connections: 1,
        seconds,
        ...largeConfigCounts(),
      },
    ];
  } finally {
    await app.close();
    svc.close();
  }
}

/**
 * The service, as the metrics exporter sees it, with the data plane's
 * counters read from `dp()` while it is set: a GatewayService opens and
 * starts its own ports, so a replay cannot be set up on them, and the
 * scrape has to read the data plane being measured for its cost to show.
 */
function readingFrom(svc: GatewayService, dp: () => DataplaneGateway | undefined): GatewayService {
  return new Proxy(svc, {
    get(target, prop) {
      const replaying = dp();
      if (replaying && prop === 'stats') return () => replaying.stats();
      if (replaying && prop === 'dataplane') return replaying;
      const v = Reflect.get(target, prop, target);
      // Bound to the service itself: its methods use private fields.
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export async function scrapeCost(opts: { rounds?: number; seconds?: number } = {}): Promise<BenchResult[]> {
  const rounds = opts.rounds ?? 8;
  const seconds = opts.seconds ?? 3;
  const core = lastCore();
  const cfg = l3Config(core, 10_000);
  const templates = l3Frames(256);
  const warmup = templates.length;
  // The API's own service: the same ports and routes, an adaptive unpinned
  // worker that idles (nothing arrives on its ports).
  const svc = GatewayService.start({ ...cfg, workers: [{ pollMode: 'adaptive' }] }, silentLogger());
  let current: DataplaneGateway | undefined;
  const app = createApiServer(svc, new MetricsExporter(readingFrom(svc, () => current)), silentLogger());
  try {
    const url = `${await listen(app)}/metrics`;
    const scrapeMs: number[] = [];
    let bytes = 0;
    const scrape = async () => {
      const t = performance.now();
      const res = await fetch(url);
      const text = await res.text();
      if (!res.ok) throw new Error(`GET /metrics: ${res.status} ${text.slice(0, 200)}`);
      scrapeMs.push(performance.now() - t);
      bytes = text.length;
    };
    // Every second from the start of the timed replay until it ends.
    const scraping = async (gw: DataplaneGateway) => {
      current = gw;
      try {
        while (gw.replayResult(0, 0).doneNs === 0) {
          const next = performance.now() + 1000;
          await scrape();
          while (performance.now() < next && gw.replayResult(0, 0).doneNs === 0) await sleep(20);
        }
      } finally {
        current = undefined;
      }
    };
    // Long enough to be past the worker's first, slower, frames.
    const probe = await replayWith(cfg, templates, 5_000_000, warmup);
    const count = Math.round(probe.pps * seconds);
    const without: number[] = [];
    const withScrape: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternating which goes first, so that a drift of the machine
      // during the pair does not always favour the same side.
      for (const scraped of i % 2 ? [true, false] : [false, true]) {
        const r = await replayWith(cfg, templates, count, warmup, scraped ? scraping : undefined);
        if (r.sent < r.replayed * 0.999) throw new Error(`only ${r.sent} of ${r.replayed} frames came out`);
        (scraped ? withScrape : without).push(r.pps);
      }
    }
    const best = Math.max(...without);
    const bestScraped = Math.max(...withScrape);
    return [
      {
        bench: 'scrape-cost',
        mpps_without: round(best / 1e6),
        mpps_with: round(bestScraped / 1e6),
        cost_pct: round((1 - bestScraped / best) * 100, 2),
        median_mpps_without: round(median(without) / 1e6),
        median_mpps_with: round(median(withScrape) / 1e6),
        median_cost_pct: round((1 - median(withScrape) / median(without)) * 100, 2),
        // How far apart the rounds without scrapes were: the noise the cost is read against.
        spread_pct: round((1 - Math.min(...without) / best) * 100, 2),
        scrapes: scrapeMs.length,
        scrape_ms_p50: round(median(scrapeMs), 2),
        scrape_bytes: bytes,
        rounds,
        seconds,
        core,
      },
    ];
  } finally {
    await app.close();
    svc.close();
  }
}
