// The gateway as the CLI and the REST API see it: start it from a desired
// state, replace that state atomically, report status, statistics, routes
// and neighbors, and stop it. Both front ends call these same functions.

import { compile, staticPart } from '../config/compile.js';
import { BackendSlots, backendKey, backendPort } from '../config/compile-lb.js';
import { RouteTargets } from '../config/compile-vpc.js';
import { formatIp4, IP_PROTOCOL_NAMES, parseIp4 } from '../config/ip.js';
import type { Config } from '../config/schema.js';
import { validateConfig } from '../config/validate.js';
import { NfvgwError } from '../core/errors.js';
import { DataplaneGateway } from '../dataplane/gateway.js';
import {
  bpfDir,
  type FlowFilter,
  type FlowKeyView,
  type GatewayInfo,
  type GatewayStats,
  loadAddon,
} from '../dataplane/native.js';
import type { Logger } from '../log/logger.js';
import { HealthChecker, type HealthTarget } from './health.js';
import { planRouteChange, RouteIndex, type VpcRouteChange } from './route-change.js';

export interface PortStatus {
  name: string;
  type: string;
  interface: string | null;
  netns: string | null;
  mac: string;
  mtu: number;
  up: boolean;
  xdpMode: string | null;
  zeroCopy: boolean;
  queues: number;
  addresses: readonly string[];
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export interface GatewayStatus {
  generation: number;
  startedAt: string;
  uptimeSeconds: number;
  ports: PortStatus[];
  workers: { id: number; core: number | null; pollMode: string; hugePages: boolean; busyPercent: number }[];
  drops: { total: number; byReason: Record<string, number> };
  /** Pipeline events that happened (ARP answers, VXLAN packets, ...), summed over workers. */
  events: Record<string, number>;
  neighbors: { resolved: number; incomplete: number };
  routes: number;
  /** Tracked connections and the most the table holds. */
  conntrack: { entries: number; capacity: number };
  /** Public ports in use per NAT gateway address and protocol. */
  nat: ReturnType<GatewayService['natPorts']>;
  hugepagesInUse: number;
  warnings: string[];
}

export interface ApplyResult {
  generation: number;
  changed: boolean;
  /** A dry run: what would change, nothing applied. */
  dryRun?: true;
  changes?: ConfigChange[];
}

/** One part of the configuration a change touches: a list's items by id (or name), or a setting. */
export interface ConfigChange {
  path: string;
  added?: string[];
  removed?: string[];
  changed?: string[];
}

export interface ApplyOptions {
  /** Apply only if the running configuration is still this generation (If-Match). */
  ifGeneration?: number;
  /** Validate and compile, report what would change, apply nothing. */
  dryRun?: boolean;
}

/** What differs between two configurations, by top-level part. */
export function configChanges(before: Config, after: Config): ConfigChange[] {
  const out: ConfigChange[] = [];
  const keyOf = (x: unknown, i: number): string => {
    const o = x as { id?: unknown; name?: unknown; destination?: unknown };
    return String(o?.id ?? o?.name ?? o?.destination ?? `[${i}]`);
  };
  for (const path of Object.keys({ ...before, ...after }) as (keyof Config)[]) {
    const a = before[path] as unknown;
    const b = after[path] as unknown;
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (Array.isArray(a) && Array.isArray(b)) {
      const was = new Map(a.map((x, i) => [keyOf(x, i), JSON.stringify(x)]));
      const now = new Map(b.map((x, i) => [keyOf(x, i), JSON.stringify(x)]));
      const c: ConfigChange = { path };
      const added = [...now.keys()].filter((k) => !was.has(k));
      const removed = [...was.keys()].filter((k) => !now.has(k));
      const changed = [...now.keys()].filter((k) => was.has(k) && was.get(k) !== now.get(k));
      if (added.length) c.added = added;
      if (removed.length) c.removed = removed;
      if (changed.length) c.changed = changed;
      out.push(c);
    } else {
      out.push({ path });
    }
  }
  return out;
}

export interface RouteView {
  destination: string;
  type: string;
  port: string | null;
  via: string | null;
  origin: string;
}

export class GatewayService {
  readonly startedAt = new Date();
  readonly #log: Logger;
  readonly #dp: DataplaneGateway;
  readonly #info: GatewayInfo;
  #config: Config;
  #generation: number;
  #routes: RouteView[];
  #queue: Promise<unknown> = Promise.resolve();
  /** Load-balancer backends' counter slots, stable across applies. */
  readonly #lbSlots: BackendSlots;
  readonly #health: HealthChecker;
  /** Apply outcomes, for metrics. */
  readonly applies = { ok: 0, failed: 0, lastSeconds: 0 };

  readonly #onApplied: StartOptions['onApplied'];
  /** The running snapshot's route targets, and the route tables' indexes: for single route changes. */
  #targets = new RouteTargets();
  readonly #routeIndex = new RouteIndex();

  private constructor(
    log: Logger,
    dp: DataplaneGateway,
    config: Config,
    routes: RouteView[],
    lbSlots: BackendSlots,
    opts: StartOptions,
  ) {
    this.#lbSlots = lbSlots;
    // Health checks flip backends in the data plane: the same configuration
    // compiled again with the new health, in the apply queue, without a new
    // generation (the desired state did not change).
    this.#health = new HealthChecker({
      log,
      onChange: () => void this.#enqueue(() => this.#applyHealth()),
    });
    this.#health.set(healthTargets(config));
    this.#log = log;
    this.#dp = dp;
    this.#info = dp.info();
    this.#config = config;
    this.#generation = opts.generation ?? 1;
    this.#routes = routes;
    this.#onApplied = opts.onApplied;
  }

  /**
   * Validates `input`, opens the ports and starts forwarding at generation
   * 1 (or the one given: a restored state goes on counting).
   */
  static start(input: unknown, log: Logger, opts: StartOptions = {}): GatewayService {
    const config = validateConfig(input);
    const lbSlots = new BackendSlots();
    const compiled = compile(config, {
      bpfDir: bpfDir(),
      generation: opts.generation ?? 1,
      lb: { slots: lbSlots, up: () => true },
    });
    const dp = new DataplaneGateway(compiled.spec);
    try {
      const info = dp.info();
      for (const w of info.warnings) log.warn({ warning: w }, w);
      dp.start(compiled.snapshot);
      const svc = new GatewayService(log, dp, config, routeViews(config, compiled.routes), lbSlots, opts);
      svc.#compiled(compiled.snapshot);
      log.info(
        {
          generation: svc.generation,
          ports: info.ports.map((p) => ({
            name: p.name,
            type: p.kind,
            interface: p.interface || undefined,
            xdpMode: p.xdpMode ?? undefined,
            zeroCopy: p.zeroCopy,
          })),
          workers: info.workers.length,
        },
        'gateway started',
      );
      return svc;
    } catch (e) {
      dp.close();
      throw NfvgwError.from(e);
    }
  }

  get generation(): number {
    return this.#generation;
  }

  // Hands an applied configuration to whoever keeps it (the state file).
  // The data plane runs it already: a failure to keep it is logged and
  // shown in the status, not turned into a failed apply.
  #saved(generation: number, config: Config, change?: VpcRouteChange): void {
    if (!this.#onApplied) return;
    try {
      this.#onApplied(generation, config, change);
      this.#saveError = undefined;
    } catch (e) {
      this.#saveError = `generation ${generation} could not be saved: ${(e as Error).message}`;
      this.#log.error({ generation, err: (e as Error).message }, 'configuration not saved');
    }
  }
  #saveError: string | undefined;

  get config(): Config {
    return this.#config;
  }

  get dataplane(): DataplaneGateway {
    return this.#dp;
  }

  get info(): GatewayInfo {
    return this.#info;
  }

  /**
   * Replaces the whole desired state. Invalid documents and changes that need
   * a restart are refused whole, with nothing changed; otherwise the new
   * tables are built aside and swapped in without stopping traffic.
   */
  replaceConfig(input: unknown, opts: ApplyOptions = {}): Promise<ApplyResult> {
    return this.#enqueue(() => this.#apply(input, opts));
  }

  // Every change of the data plane's snapshot runs in one queue, one after
  // the other: each starts from the configuration the one before left.
  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // What a change that changes nothing answers.
  #unchanged(opts: ApplyOptions): ApplyResult {
    return {
      generation: this.#generation,
      changed: false,
      ...(opts.dryRun ? { dryRun: true, changes: [] } : {}),
    };
  }

  // A change the data plane now runs: the new generation and configuration,
  // counted, logged and saved.
  #applied(
    started: bigint,
    generation: number,
    config: Config,
    log: { fields?: object; message: string; change?: VpcRouteChange },
  ): ApplyResult {
    this.#config = config;
    this.#generation = generation;
    this.applies.ok++;
    this.applies.lastSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.#log.info({ generation, applySeconds: this.applies.lastSeconds, ...log.fields }, log.message);
    this.#saved(generation, config, log.change);
    return { generation, changed: true };
  }

  // A change refused: counted, logged (`what` names it), thrown as NfvgwError.
  #refused(e: unknown, what: string): never {
    const err = NfvgwError.from(e);
    this.applies.failed++;
    this.#log.warn({ code: err.code, details: err.details }, `${what} refused: ${err.message}`);
    throw err;
  }

  async #apply(input: unknown, opts: ApplyOptions): Promise<ApplyResult> {
    const started = process.hrtime.bigint();
    try {
      this.#checkGeneration(opts);
      const next = validateConfig(input);
      const changes = staticChanges(this.#config, next);
      if (changes.length) {
        throw new NfvgwError(
          'NFVGW_ERR_RESTART_REQUIRED',
          'ports, workers, burst, txDrainUs, hugepages and conntrack.maxConnections are fixed while the gateway runs; restart it to change them',
          changes,
        );
      }
      if (JSON.stringify(next) === JSON.stringify(this.#config)) return this.#unchanged(opts);
      const generation = this.#generation + 1;
      if (opts.dryRun) {
        // Compiled too (what the data plane would be handed), with a
        // throwaway copy of the backend slots.
        compile(next, { bpfDir: bpfDir(), generation, lb: { slots: this.#lbSlots.clone(), up: () => true } });
        return {
          generation: this.#generation,
          changed: true,
          dryRun: true,
          changes: configChanges(this.#config, next),
        };
      }
      const compiled = compile(next, { bpfDir: bpfDir(), generation, lb: this.#lbOptions() });
      await this.#dp.apply(compiled.snapshot);
      this.#compiled(compiled.snapshot);
      this.#routes = routeViews(next, compiled.routes);
      const result = this.#applied(started, generation, next, { message: 'configuration applied' });
      this.#health.set(healthTargets(next));
      return result;
    } catch (e) {
      this.#refused(e, 'configuration');
    }
  }

  // What a single route change needs of the snapshot just published.
  #compiled(snapshot: { overlay?: { targets: RouteTargets['list'] } | undefined }): void {
    this.#targets = new RouteTargets(snapshot.overlay?.targets);
  }

  /**
   * Sets one route of a VPC route table (added, or its target replaced) or
   * removes it (target null): checked like a whole document would check
   * it, applied to the running tables by building only that table again,
   * with a new generation. If-Match and dry runs work as for the whole
   * document. See route-change.ts.
   */
  setRoute(change: VpcRouteChange, opts: ApplyOptions = {}): Promise<ApplyResult> {
    return this.#enqueue(() => this.#setRoute(change, opts));
  }

  async #setRoute(change: VpcRouteChange, opts: ApplyOptions): Promise<ApplyResult> {
    const started = process.hrtime.bigint();
    try {
      this.#checkGeneration(opts);
      const plan = planRouteChange(this.#config, change, this.#routeIndex, this.#targets);
      if (!plan) return this.#unchanged(opts);
      const changes = [{ path: 'routeTables', changed: [change.routeTable] }];
      if (opts.dryRun) return { generation: this.#generation, changed: true, dryRun: true, changes };
      const generation = this.#generation + 1;
      await this.#dp.changeRoutes(generation, plan.changes);
      plan.commit();
      for (const t of plan.changes.targets) this.#targets.of(t);
      return this.#applied(started, generation, plan.next, {
        fields: { route: plan.change },
        message: plan.change.target === null ? 'route removed' : 'route set',
        change: plan.change,
      });
    } catch (e) {
      this.#refused(e, 'route change');
    }
  }

  #checkGeneration(opts: ApplyOptions): void {
    // Checked in the queue, so that two controllers that read the same
    // generation cannot both change it.
    if (opts.ifGeneration !== undefined && opts.ifGeneration !== this.#generation)
      throw new NfvgwError(
        'NFVGW_ERR_PRECONDITION_FAILED',
        `the configuration is at generation ${this.#generation}, not ${opts.ifGeneration}: read it again`,
      );
  }

  #lbOptions() {
    return { slots: this.#lbSlots, up: (key: string) => this.#health.state(key)?.up ?? true };
  }

  async #applyHealth(): Promise<void> {
    if (this.#dp.closed) return;
    try {
      const compiled = compile(this.#config, {
        bpfDir: bpfDir(),
        generation: this.#generation,
        lb: this.#lbOptions(),
      });
      await this.#dp.apply(compiled.snapshot);
      this.#compiled(compiled.snapshot);
      this.healthApplies++;
    } catch (e) {
      this.#log.error({ err: (e as Error).message }, 'backend health could not be applied');
    }
  }
  /** Snapshots applied because a backend's health changed. */
  healthApplies = 0;

  /** The load balancers with each backend's health and counters (GET /v1/lb, `nfvgw lb`). */
  loadBalancers(): LoadBalancerView[] {
    const slots = this.#lbSlots.assigned();
    const st = this.#dp.lbStats(this.#lbSlots.extent);
    return this.#config.loadBalancers.map((lb) => ({
      id: lb.id,
      vip: lb.vip,
      protocol: lb.protocol,
      port: lb.port,
      mode: lb.mode,
      scheduler: lb.scheduler,
      backends: lb.backends.map((b) => {
        const key = backendKey(lb, b);
        const slot = slots.get(key);
        const h = this.#health.state(key);
        const at = (a: Float64Array) => (slot === undefined ? 0 : (a[slot] ?? 0));
        return {
          ip: b.ip,
          port: backendPort(lb, b),
          weight: b.weight,
          health: h ? (h.up ? 'up' : 'down') : 'unchecked',
          lastCheckMs: h?.lastLatencyMs ?? null,
          lastError: h?.lastError ?? null,
          connections: at(st.connections),
          activeConnections: at(st.active),
          packets: at(st.packets),
          bytes: at(st.bytes),
        };
      }),
    }));
  }

  /** Health-check state of every checked backend (for metrics). */
  healthStates() {
    return this.#health.states();
  }

  stats(): GatewayStats {
    return this.#dp.stats();
  }

  status(): GatewayStatus {
    const s = this.#dp.stats();
    const addon = loadAddon();
    const byReason = sumByName(
      s.workers.map((w) => w.drops),
      addon.dropReasons,
    );
    const events = sumByName(
      s.workers.map((w) => w.events),
      addon.events,
    );
    const total = Object.values(byReason).reduce((a, n) => a + n, 0);
    const ports = this.#info.ports.map((p, i): PortStatus => {
      const q = s.ports[i]!.queues;
      const sum = (k: 'rxPackets' | 'rxBytes' | 'txPackets' | 'txBytes') => q.reduce((a, x) => a + x[k], 0);
      return {
        name: p.name,
        type: p.kind,
        interface: p.interface || null,
        netns: p.netns || null,
        mac: p.mac,
        mtu: this.#config.ports[i]!.mtu ?? p.mtu,
        up: p.up,
        xdpMode: p.xdpMode,
        zeroCopy: p.zeroCopy,
        queues: q.length,
        addresses: this.#config.ports[i]!.addresses,
        rxPackets: sum('rxPackets'),
        rxBytes: sum('rxBytes'),
        txPackets: sum('txPackets'),
        txBytes: sum('txBytes'),
      };
    });
    return {
      generation: this.#generation,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 100) / 10,
      ports,
      workers: this.#info.workers.map((w, i) => {
        const ws = s.workers[i]!;
        const all = ws.busyNs + ws.idleNs;
        return {
          id: w.id,
          core: w.core >= 0 ? w.core : null,
          pollMode: w.pollMode,
          hugePages: w.hugePages,
          busyPercent: all ? Math.round((1000 * ws.busyNs) / all) / 10 : 0,
        };
      }),
      drops: { total, byReason },
      events,
      neighbors: { resolved: s.neighbors.resolved, incomplete: s.neighbors.incomplete },
      routes: s.routes,
      conntrack: { entries: conntrackEntries(events), capacity: s.conntrack.capacity },
      nat: this.natPorts(),
      hugepagesInUse: Math.round(s.memory.hugeBytes / (2 << 20)),
      warnings: this.#saveError ? [...this.#info.warnings, this.#saveError] : this.#info.warnings,
    };
  }

  routes(): RouteView[] {
    return this.#routes;
  }

  /**
   * Where VPC route table `table` sends `address`, as the running data plane
   * looks it up: `local`, a route target (`peering:pcx-ab`, `blackhole`,
   * ...), or null for no route.
   */
  vpcRouteLookup(table: string, address: string) {
    const ip = parseIp4(address);
    if (ip === null) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `${address} is not an IPv4 address`);
    const cfg = this.#config;
    const t = cfg.routeTables.findIndex((x) => x.id === table);
    if (t < 0) throw new NfvgwError('NFVGW_ERR_NOT_FOUND', `no route table has the id ${table}`);
    const to = this.#targets.list[this.#dp.vpcRouteLookup(t, ip)]!;
    const vpc = cfg.routeTables[t]!.vpc;
    const name = (): string | null => {
      switch (to.kind) {
        case 'none':
          return null;
        case 'peering': {
          const peer = cfg.vpcs[to.vpc!]!.id;
          const p = cfg.peerings.find((x) => x.vpcs.includes(vpc) && x.vpcs.includes(peer));
          return `peering:${p?.id ?? peer}`;
        }
        case 'transit':
          return `transit:${cfg.transitGateways[to.tgw!]!.id}`;
        case 'eni':
          return `eni:${cfg.enis[to.eni!]!.id}`;
        case 'nat':
          return `nat:${cfg.natGateways[to.nat!]!.id}`;
        default:
          return to.kind;
      }
    };
    return { address, routeTable: table, target: name() };
  }

  /** Which route and next hop the data plane picks for `address` (like `ip route get`). */
  routeLookup(address: string) {
    const ip = parseIp4(address);
    if (ip === null) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `${address} is not an IPv4 address`);
    const r = this.#dp.routeLookup(ip);
    return {
      address,
      type: r.kind,
      port: ['local', 'connected', 'via'].includes(r.kind) ? (this.#info.ports[r.port]?.name ?? null) : null,
      via: r.kind === 'via' ? formatIp4(r.gateway) : null,
    };
  }

  neighbors() {
    return this.#dp.neighbors().map((n) => ({
      port: this.#info.ports[n.port]?.name ?? String(n.port),
      address: formatIp4(n.ip),
      mac: n.mac,
      state: n.mac === null ? 'incomplete' : 'resolved',
      confirmedAgoMs: n.confirmedAgoMs === null ? null : Math.round(n.confirmedAgoMs),
    }));
  }

  /** Tracked connections matching `query` (GET /v1/flows, `nfvgw flows`). */
  flows(query: FlowQuery): { flows: FlowView[]; matched: number } {
    const { flows, matched } = this.#dp.flows(this.#flowFilter(query));
    // Zones: a VPC's VNI, 0 outside the VPCs, and the load balancer's
    // pins of dr and tunnel connections (native/nf/lb/lb_tables.h).
    const LB_ZONES: Record<number, string> = {
      16777200: 'lb-dr',
      16777201: 'lb-tunnel',
      16777202: 'lb-affinity',
    };
    const vpcOf = (zone: number) =>
      this.#config.vpcs.find((v) => v.vni === zone)?.id ?? LB_ZONES[zone] ?? `vni ${zone}`;
    const side = (k: FlowKeyView) => ({
      vpc: vpcOf(k.zone),
      src: formatIp4(k.src),
      dst: formatIp4(k.dst),
      sport: k.sport,
      dport: k.dport,
    });
    return {
      flows: flows.map((f) => ({
        kind: f.kind,
        protocol: IP_PROTOCOL_NAMES[f.proto] ?? String(f.proto),
        state: f.state,
        original: side(f.original),
        reply: side(f.reply),
        expiresInSeconds: Math.max(0, Math.round(f.expiresInMs / 100) / 10),
      })),
      matched,
    };
  }

  /**
   * Public ports in use on each NAT gateway address, per protocol, with
   * the size of its range and the allocations that failed for want of a
   * free port: the first thing to look at when connections fail.
   */
  natPorts(): {
    natGateway: string;
    publicIp: string;
    protocol: string;
    inUse: number;
    capacity: number;
    allocationFailures: number;
  }[] {
    const use = new Map(this.#dp.natUsage().map((u) => [`${formatIp4(u.ip)}/${u.proto}`, u]));
    return this.#config.natGateways.flatMap((n) => {
      const [lo, hi] = n.ports.split('-').map(Number) as [number, number];
      return n.publicIps.flatMap((ip) =>
        Object.entries(IP_PROTOCOL_NAMES).map(([proto, name]) => ({
          natGateway: n.id,
          publicIp: ip,
          protocol: name,
          inUse: use.get(`${ip}/${proto}`)?.ports ?? 0,
          capacity: hi - lo + 1,
          allocationFailures: use.get(`${ip}/${proto}`)?.failures ?? 0,
        })),
      );
    });
  }

  /** Removes the tracked connections matching `query` (DELETE /v1/flows); returns how many. */
  flushFlows(query: FlowQuery): { flushed: number } {
    return { flushed: this.#dp.flushFlows({ ...this.#flowFilter(query), limit: undefined }) };
  }

  #flowFilter(q: FlowQuery): FlowFilter {
    const bad = (what: string) => new NfvgwError('NFVGW_ERR_BAD_REQUEST', what);
    const f: FlowFilter = {};
    if (q.vpc !== undefined) {
      const vpc = this.#config.vpcs.find((v) => v.id === q.vpc);
      if (!vpc) throw bad(`no VPC is named ${q.vpc}`);
      f.zone = vpc.vni;
    }
    if (q.ip !== undefined) {
      const ip = parseIp4(q.ip);
      if (ip === null) throw bad(`ip: ${q.ip} is not an IPv4 address`);
      f.ip = ip;
    }
    const int = (name: string, text: string, max: number) => {
      const n = Number(text);
      if (!/^\d+$/.test(text) || n > max) throw bad(`${name}: ${text} is not a number in 0..${max}`);
      return n;
    };
    if (q.port !== undefined) f.port = int('port', q.port, 65535);
    if (q.protocol !== undefined) {
      const named = Object.entries(IP_PROTOCOL_NAMES).find(([, n]) => n === q.protocol);
      f.proto = named ? Number(named[0]) : int('protocol', q.protocol, 255);
    }
    if (q.state !== undefined) {
      if (!FLOW_STATES.includes(q.state))
        throw bad(`state: ${q.state} is not one of ${FLOW_STATES.join(', ')}`);
      f.state = q.state;
    }
    f.limit = q.limit === undefined ? 100 : int('limit', q.limit, 100_000);
    return f;
  }

  /** Stops forwarding, detaches XDP and releases memory. */
  close(): void {
    if (this.#dp.closed) return;
    this.#health.stop();
    this.#dp.close();
    this.#log.info('gateway stopped');
  }
}

export interface LoadBalancerView {
  id: string;
  vip: string;
  protocol: string;
  port: number;
  mode: string;
  scheduler: string;
  backends: {
    ip: string;
    port: number;
    weight: number;
    /** unchecked: the service has no health check. */
    health: 'up' | 'down' | 'unchecked';
    lastCheckMs: number | null;
    lastError: string | null;
    connections: number;
    activeConnections: number;
    packets: number;
    bytes: number;
  }[];
}

/** What the health checker watches: every backend of every service with a health check. */
function healthTargets(cfg: Config): HealthTarget[] {
  return cfg.loadBalancers.flatMap((lb) => {
    const check = lb.healthCheck;
    if (!check) return [];
    return lb.backends.map((b) => ({
      key: backendKey(lb, b),
      service: lb.id,
      ip: b.ip,
      port: check.port ?? backendPort(lb, b),
      check,
      netns: cfg.healthCheckNetns,
    }));
  });
}

export interface StartOptions {
  /** The generation to start at (a restored state goes on counting). */
  generation?: number;
  /** After each apply: the configuration now running, and for a single route change, that change. */
  onApplied?: (generation: number, config: Config, change?: VpcRouteChange) => void;
}

/** What GET and DELETE /v1/flows take, as query-string text. */
export interface FlowQuery {
  vpc?: string;
  ip?: string;
  port?: string;
  protocol?: string;
  state?: string;
  limit?: string;
}

export interface FlowView {
  kind: 'connection' | 'mapping' | 'affinity';
  protocol: string;
  state: string;
  original: { vpc: string; src: string; dst: string; sport: number; dport: number };
  reply: { vpc: string; src: string; dst: string; sport: number; dport: number };
  expiresInSeconds: number;
}

export const FLOW_STATES = [
  'syn_sent',
  'syn_recv',
  'established',
  'fin_wait',
  'close_wait',
  'time_wait',
  'close',
  'unreplied',
  'replied',
];

/** Connections in the table: made minus removed (the per-worker events). */
export function conntrackEntries(events: Record<string, number>): number {
  return (events.conntrack_created ?? 0) - (events.conntrack_removed ?? 0);
}

/** Per-worker counter arrays summed by name, zeros left out. */
function sumByName(perWorker: number[][], names: { name: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counts of perWorker) {
    counts.forEach((n, i) => {
      if (n) out[names[i]!.name] = (out[names[i]!.name] ?? 0) + n;
    });
  }
  return out;
}

function staticChanges(cur: Config, next: Config): { path: string; message: string }[] {
  const a = staticPart(cur);
  const b = staticPart(next);
  const out: { path: string; message: string }[] = [];
  for (const key of ['workers', 'burst', 'txDrainUs', 'hugepages'] as const) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out.push({ path: `$.${key}`, message: 'changed' });
  }
  if (a.maxConnections !== b.maxConnections)
    out.push({
      path: '$.conntrack.maxConnections',
      message: `changed from ${a.maxConnections} to ${b.maxConnections}`,
    });
  if (a.ports.length !== b.ports.length) {
    out.push({ path: '$.ports', message: `${a.ports.length} ports running, ${b.ports.length} requested` });
  } else {
    a.ports.forEach((p, i) => {
      const q = b.ports[i]!;
      for (const k of Object.keys(p) as (keyof typeof p)[]) {
        if (p[k] !== q[k])
          out.push({ path: `$.ports[${i}].${k}`, message: `changed from ${p[k]} to ${q[k]}` });
      }
    });
  }
  return out;
}

function routeViews(cfg: Config, routes: ReturnType<typeof compile>['routes']): RouteView[] {
  return routes.map((r) => ({
    destination: `${formatIp4(r.prefix)}/${r.length}`,
    type: r.kind,
    port:
      r.port !== undefined && ['local', 'connected', 'via'].includes(r.kind) ? cfg.ports[r.port]!.name : null,
    via: r.kind === 'via' && r.gateway !== undefined ? formatIp4(r.gateway) : null,
    origin: r.origin,
  }));
}
