// The operating examples against what the gateway really exports: every
// metric the Grafana dashboard (examples/grafana-dashboard.json) and the
// Prometheus alert rules (examples/prometheus-alerts.yaml) name must be in
// the Prometheus text of a running gateway, with samples, and so must the
// labels they select, group and print by and the label values they match
// (drop reasons, events, results). A misspelled name makes a panel empty
// and an alert silent without any error from Prometheus; here it fails.
//
// The gateway runs on in-memory ports (real worker threads, no root) with
// NAT, connection tracking and two load balancers, one health-checked
// against a listening and a closed port on 127.0.0.1: the control plane
// checks backends through the host's stack, so this needs no network.
// Waits poll with a generous deadline: the machine is shared and slow.
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.js';
import { MetricsExporter } from '../../src/metrics/metrics.js';
import { ethernet, ipv4, tcp, udp, vxlanFrame } from '../../src/pkt/build.js';
import { MemGateway } from '../support/mem-gateway.js';

const DASHBOARD = 'examples/grafana-dashboard.json';
const ALERTS = 'examples/prometheus-alerts.yaml';
const DEADLINE_MS = 15_000;
/** The dashboard's data-source variable: every query goes where the viewer chose. */
const DATASOURCE = '$' + '{datasource}';

// --- What the gateway exports.

type Labels = Record<string, string>;
/** Sample names (histogram series with their _bucket, _sum, _count) and the label sets of their samples. */
type Exported = Map<string, Labels[]>;

/** Parses the Prometheus text exposition format (samples only; comments skipped). */
function parseExposition(text: string): Exported {
  const out: Exported = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+( \d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Labels = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const list = out.get(m[1]!) ?? [];
    list.push(labels);
    out.set(m[1]!, list);
  }
  return out;
}

// --- What the examples use.

interface Query {
  /** Where the expression is, for the messages. */
  where: string;
  expr: string;
  /** Labels printed by the query's legend or annotations. */
  printed: string[];
}

/** Every PromQL expression of the dashboard: panel targets (rows included), variables, annotations. */
function dashboardQueries(d: Record<string, unknown>): Query[] {
  const out: Query[] = [];
  const legend = (s: unknown) =>
    typeof s === 'string' ? [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!) : [];
  const walk = (panels: unknown, path: string) => {
    for (const p of (panels as Record<string, unknown>[] | undefined) ?? []) {
      const where = `${path} "${p.title}"`;
      for (const t of (p.targets as Record<string, unknown>[] | undefined) ?? [])
        out.push({ where: `${where} ${t.refId}`, expr: String(t.expr), printed: legend(t.legendFormat) });
      walk(p.panels, `${where} >`);
    }
  };
  walk(d.panels, 'panel');
  const templating = (d.templating as { list: Record<string, unknown>[] }).list;
  for (const v of templating.filter((v) => v.type === 'query')) {
    const q = v.query as string | { query: string };
    out.push({ where: `variable $${v.name}`, expr: typeof q === 'string' ? q : q.query, printed: [] });
  }
  for (const a of (d.annotations as { list: Record<string, unknown>[] }).list.filter((a) => a.expr))
    out.push({ where: `annotation "${a.name}"`, expr: String(a.expr), printed: legend(a.textFormat) });
  return out;
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(doc: { groups: { name: string; rules: Rule[] }[] }): Rule[] {
  return doc.groups.flatMap((g) => g.rules);
}

function alertQueries(rules: Rule[]): Query[] {
  return rules.map((r) => ({
    where: `alert ${r.alert}`,
    expr: r.expr,
    printed: Object.values(r.annotations ?? {}).flatMap((s) =>
      [...s.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!),
    ),
  }));
}

/** Labels every series has once Prometheus has scraped it, which the gateway does not export. */
const TARGET_LABELS = new Set(['job', 'instance']);
/** The metrics the examples may use: the gateway's, and prom-client's process and Node.js ones. */
const OURS = /(?<![\w:])((?:nfvgw|process|nodejs)_\w+)/g;
/** Label matchers of a selector: name, operator, value. */
const MATCHER = /(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;

const withoutStrings = (expr: string) => expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');

/**
 * What in `queries` does not match `exported`, one line each: metrics with
 * no samples, labels no sample of the metric has, label values matched with
 * = or =~ (literal alternatives) that no sample has, and labels grouped by
 * or printed that none of the query's metrics has.
 */
function problems(queries: Query[], exported: Exported): string[] {
  const out: string[] = [];
  const labelsOf = (metric: string) => exported.get(metric) ?? [];
  for (const q of queries) {
    const bare = withoutStrings(q.expr);
    const metrics = [...new Set([...bare.matchAll(OURS)].map((m) => m[1]!))];
    const known = new Set(TARGET_LABELS);
    const missing = metrics.filter((metric) => !exported.has(metric));
    for (const metric of missing) out.push(`${q.where}: ${metric} is not exported`);
    for (const metric of metrics)
      for (const l of labelsOf(metric)) for (const k of Object.keys(l)) known.add(k);
    for (const sel of q.expr.matchAll(/((?:nfvgw|process|nodejs)_\w+)\s*\{([^}]*)\}/g)) {
      const [, metric, body] = sel as unknown as [string, string, string];
      if (!exported.has(metric)) continue;
      for (const [, label, op, value] of body.matchAll(MATCHER) as Iterable<
        [string, string, string, string]
      >) {
        if (TARGET_LABELS.has(label) || label === '__name__') continue;
        const samples = labelsOf(metric);
        if (!samples.some((l) => label in l)) {
          out.push(`${q.where}: ${metric} has no label ${label}`);
          continue;
        }
        const literal = op === '=' || (op === '=~' && /^\w+(\|\w+)*$/.test(value));
        if (!literal || value.includes('$')) continue;
        for (const v of op === '=' ? [value] : value.split('|'))
          if (!samples.some((l) => l[label] === v)) out.push(`${q.where}: no ${metric} has ${label}="${v}"`);
      }
    }
    if (missing.length) continue; // its labels are unknown, not wrong
    for (const g of bare.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
      for (const label of g[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean))
        if (!known.has(label)) out.push(`${q.where}: grouped by ${label}, a label none of its metrics has`);
    for (const label of q.printed)
      if (!known.has(label)) out.push(`${q.where}: prints {{${label}}}, a label none of its metrics has`);
  }
  return out;
}

// --- A gateway that has done something of everything.

const GW = '02:00:00:00:01:01'; // underlay, 192.168.100.1
const UPLINK = '02:00:00:00:02:01'; // 203.0.113.1
const BACK = '02:00:00:00:03:01'; // 10.80.0.1
const HV = { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' };
const UPSTREAM = { ip: '203.0.113.254', mac: '02:ee:00:00:00:fe' };
const CLIENT = { ip: '203.0.113.50', mac: '02:ee:00:00:00:50' };
const VM = { ip: '10.1.1.10', mac: '02:a0:00:00:00:01' };

function config(open: number, closed: number): ConfigInput {
  return {
    workers: [{ pollMode: 'adaptive' }],
    ports: [
      { name: 'underlay', type: 'mem', mac: GW, mtu: 1600, addresses: ['192.168.100.1/24'] },
      { name: 'uplink', type: 'mem', mac: UPLINK, addresses: ['203.0.113.1/24'] },
      { name: 'back', type: 'mem', mac: BACK, addresses: ['10.80.0.1/24'] },
    ],
    routes: [{ destination: '0.0.0.0/0', via: UPSTREAM.ip }],
    neighbors: [
      { port: 'underlay', address: HV.ip, mac: HV.mac },
      { port: 'uplink', address: UPSTREAM.ip, mac: UPSTREAM.mac },
      { port: 'uplink', address: CLIENT.ip, mac: CLIENT.mac },
      { port: 'back', address: '10.80.0.11', mac: '02:b0:00:00:00:11' },
      { port: 'back', address: '10.80.0.12', mac: '02:b0:00:00:00:12' },
    ],
    overlay: { port: 'underlay' },
    internet: { port: 'uplink' },
    vpcs: [{ id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] }],
    subnets: [{ id: 'private', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt-private' }],
    routeTables: [
      { id: 'rt-private', vpc: 'vpc-a', routes: [{ destination: '0.0.0.0/0', target: 'nat:ngw-1' }] },
    ],
    natGateways: [{ id: 'ngw-1', vpc: 'vpc-a', publicIps: ['198.51.100.10'] }],
    enis: [
      { id: 'eni-vm', subnet: 'private', mac: VM.mac, ip: VM.ip, vtep: HV.ip, securityGroups: ['sg-a'] },
    ],
    securityGroups: [{ id: 'sg-a', vpc: 'vpc-a' }],
    conntrack: { maxConnections: 4096 },
    loadBalancers: [
      {
        id: 'web',
        vip: '10.90.0.1',
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        backends: [
          { ip: '10.80.0.11', port: 8080 },
          { ip: '10.80.0.12', port: 8080 },
        ],
      },
      {
        id: 'checked',
        vip: '10.90.0.2',
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        backends: [
          { ip: '127.0.0.1', port: open },
          { ip: '127.0.0.1', port: closed },
        ],
        healthCheck: { type: 'tcp', intervalMs: 100, timeoutMs: 100, rise: 1, fall: 1 },
      },
    ],
  };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let gw: MemGateway | undefined;
let backend: net.Server | undefined;
let exported: Exported;

beforeAll(async () => {
  backend = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => backend!.listen(0, '127.0.0.1', resolve));
  const open = (backend.address() as AddressInfo).port;
  const closed = await closedPort();
  gw = MemGateway.start(config(open, closed));

  // A VM's UDP to the internet (a NAT mapping, a tracked connection) and a
  // client's SYN to a load-balanced VIP.
  const inner = ethernet(
    { dst: '02:00:5e:10:00:01', src: VM.mac, type: 0x0800 },
    ipv4(
      { src: VM.ip, dst: '8.8.8.8', proto: 17, ttl: 64 },
      udp({ src: VM.ip, dst: '8.8.8.8', sport: 5000, dport: 53, data: Buffer.from('q') }),
    ),
  );
  const nat = await gw.send(
    'underlay',
    vxlanFrame({ dstMac: GW, srcMac: HV.mac, src: HV.ip, dst: '192.168.100.1', vni: 1001, inner }),
  );
  expect(nat.events).toMatchObject({ nat_mapping_created: 1, conntrack_created: 1 });
  const syn = ethernet(
    { dst: UPLINK, src: CLIENT.mac, type: 0x0800 },
    ipv4(
      { src: CLIENT.ip, dst: '10.90.0.1', proto: 6, ttl: 64 },
      tcp({ src: CLIENT.ip, dst: '10.90.0.1', sport: 40000, dport: 80 }),
    ),
  );
  expect((await gw.send('uplink', syn)).events).toMatchObject({ lb_connection_created: 1 });

  // Both health-checked backends checked at least once, the closed one down.
  const svc = gw.svc;
  await until('the health checks', () => {
    const states = svc.healthStates();
    return states.length === 2 && states.every((h) => h.lastLatencyMs !== null) && states.some((h) => !h.up);
  });

  exported = parseExposition(await new MetricsExporter(svc).render());
}, 60_000);

afterAll(() => {
  gw?.close();
  backend?.close();
});

describe('the metrics the gateway exports', () => {
  it('have samples for NAT, connection tracking, the load balancer and its health checks', () => {
    const has = (name: string, labels: Labels = {}) =>
      (exported.get(name) ?? []).some((l) => Object.entries(labels).every(([k, v]) => l[k] === v));
    expect(has('nfvgw_conntrack_entries')).toBe(true);
    expect(has('nfvgw_nat_ports_in_use', { nat_gateway: 'ngw-1', protocol: 'udp' })).toBe(true);
    expect(has('nfvgw_lb_backend_connections_total', { service: 'web' })).toBe(true);
    expect(has('nfvgw_lb_backend_up', { service: 'checked' })).toBe(true);
    expect(has('nfvgw_lb_health_check_failures_total', { service: 'checked' })).toBe(true);
    expect(has('nfvgw_worker_burst_size_bucket', { le: '+Inf' })).toBe(true);
    expect(has('nfvgw_drops_total', { reason: 'conntrack_full' })).toBe(true);
    expect(has('process_cpu_seconds_total')).toBe(true);
  });
});

describe(DASHBOARD, () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Record<string, unknown>;
  const queries = dashboardQueries(dashboard);

  it('uses only metrics, labels and label values the gateway exports', () => {
    expect(queries.length).toBeGreaterThan(40);
    expect(problems(queries, exported)).toEqual([]);
  });

  it('shows what an operator looks at', () => {
    const used = new Set(queries.flatMap((q) => [...withoutStrings(q.expr).matchAll(OURS)].map((m) => m[1])));
    for (const name of [
      'nfvgw_port_rx_packets_total',
      'nfvgw_port_tx_packets_total',
      'nfvgw_port_rx_bytes_total',
      'nfvgw_port_tx_bytes_total',
      'nfvgw_drops_total',
      'nfvgw_pipeline_events_total',
      'nfvgw_worker_busy_seconds_total',
      'nfvgw_worker_heartbeat_age_seconds',
      'nfvgw_conntrack_entries',
      'nfvgw_conntrack_capacity',
      'nfvgw_nat_ports_in_use',
      'nfvgw_nat_ports_capacity',
      'nfvgw_nat_port_allocation_failures_total',
      'nfvgw_lb_backend_connections_total',
      'nfvgw_lb_backend_active_connections',
      'nfvgw_lb_backend_up',
      'nfvgw_lb_health_check_failures_total',
      'nfvgw_config_generation',
      'nfvgw_config_applies_total',
      'nfvgw_hugepages_in_use',
    ])
      expect(used, name).toContain(name);
  });

  it('is a well-formed dashboard: unique panel ids, every target queried from the chosen data source', () => {
    const panels = (dashboard.panels as Record<string, unknown>[]).flatMap((p) => [
      p,
      ...((p.panels as Record<string, unknown>[]) ?? []),
    ]);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      const g = p.gridPos as { x: number; w: number };
      expect(g.x + g.w, `${p.title}`).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      const targets = p.targets as { refId: string; datasource: { uid: string } }[];
      expect(targets.length, `${p.title}`).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
      for (const t of [p, ...targets])
        expect((t.datasource as { uid: string }).uid, `${p.title}`).toBe(DATASOURCE);
    }
  });
});

describe(ALERTS, () => {
  const rules = alertRules(parse(readFileSync(ALERTS, 'utf8')));

  it('uses only metrics, labels and label values the gateway exports', () => {
    expect(rules.length).toBeGreaterThan(10);
    expect(problems(alertQueries(rules), exported)).toEqual([]);
  });

  it('has a unique name, a for: duration, a severity and a summary and description for every rule', () => {
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
  });

  it('covers the failures an operator must hear about', () => {
    const uses = (metric: string) => rules.some((r) => r.expr.includes(metric));
    expect(rules.some((r) => /\bup\{job="nfvgw"\} == 0/.test(r.expr))).toBe(true);
    for (const metric of [
      'nfvgw_worker_heartbeat_age_seconds',
      'nfvgw_conntrack_capacity',
      'nfvgw_nat_ports_capacity',
      'nfvgw_nat_port_allocation_failures_total',
      'nfvgw_lb_backend_up',
      'nfvgw_drops_total',
      'nfvgw_config_applies_total',
    ])
      expect(uses(metric), metric).toBe(true);
  });
});

describe('the check itself', () => {
  it('finds misspelled metrics, labels, label values, groupings and printed labels', () => {
    const q = (expr: string, printed: string[] = []): Query => ({ where: 'q', expr, printed });
    expect(
      problems(
        [
          q('rate(nfvgw_drop_total[5m])'),
          q('nfvgw_drops_total{reasn="x"}'),
          q('rate(nfvgw_drops_total{reason=~"conntrack_full|conntrak_full"}[5m])'),
          q('sum by (raeson) (nfvgw_drops_total)'),
          q('nfvgw_lb_backend_up == 0', ['sevice']),
          q('nfvgw_worker_burst_size'),
          q('sum by (reason) (rate(nfvgw_drops_total{job="$job", reason="conntrack_full"}[5m]))', ['reason']),
        ],
        exported,
      ),
    ).toEqual([
      'q: nfvgw_drop_total is not exported',
      'q: nfvgw_drops_total has no label reasn',
      'q: no nfvgw_drops_total has reason="conntrak_full"',
      'q: grouped by raeson, a label none of its metrics has',
      'q: prints {{sevice}}, a label none of its metrics has',
      // A histogram is queried by its _bucket, _sum and _count series.
      'q: nfvgw_worker_burst_size is not exported',
    ]);
  });
});
