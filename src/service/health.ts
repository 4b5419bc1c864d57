// Health checks of load-balancer backends: each target is probed on its own
// timer (a TCP connect, or an HTTP GET whose status must be expected), and
// `rise` successes or `fall` failures in a row flip it up or down. A flip is
// reported to the owner (who recompiles the backend set) and logged once.
//
// Choices:
// - A new target starts UP and without an onChange: applying a configuration
//   must not blackhole traffic to backends that are fine while their first
//   checks run; `fall` failures in a row take a dead one out. The owner
//   treats a target it has just added as up.
// - The first check of a new target comes after a random delay below
//   min(intervalMs, 1 s), so that a configuration with a thousand backends
//   does not open a thousand connections in the same millisecond, and a new
//   backend is checked soon. Each target then keeps its own phase.
// - One check in flight per target: the next starts `intervalMs` after the
//   previous one started, or as soon as it ends when it took longer.
// - The timeout covers the whole check: connect, and for HTTP the status
//   line and the body. An unexpected status fails at once (the body is not
//   read, the connection is closed); an expected one succeeds once the body
//   has been drained.
// - Timers and sockets are unref'd: health checks never keep the process
//   alive on their own; stop() also closes the sockets of checks in flight.
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HealthCheckConfig } from '../config/schema.js';
import { NfvgwError } from '../core/errors.js';
import { loadAddon } from '../dataplane/native.js';
import type { Logger } from '../log/logger.js';

export interface HealthTarget {
  /** Unique among the targets of one set(); the name given to onChange. */
  key: string;
  /** The load balancer the backend belongs to (for logs and metrics). */
  service: string;
  ip: string;
  /** The backend's port; `check.port` overrides it for the check. */
  port: number;
  check: HealthCheckConfig;
  /** The network namespace to check from; absent: the process's own. */
  netns?: string | undefined;
}

export interface HealthState {
  key: string;
  service: string;
  ip: string;
  port: number;
  up: boolean;
  /** How long the last check took, successful or not; null before the first one ends. */
  lastLatencyMs: number | null;
  /** Why the last check failed; null when it succeeded or none has ended yet. */
  lastError: string | null;
  /** Counters since the target was added (or its check or address changed). */
  transitions: number;
  checks: number;
  failures: number;
}

export interface HealthCheckerOptions {
  log: Logger;
  /** Called on every transition (never for the initial up state), after the state has changed. */
  onChange: (key: string, up: boolean) => void;
}

/** The longest wait before the first check of a new target. */
const FIRST_CHECK_SPREAD_MS = 1000;

class Entry {
  up = true;
  successesInRow = 0;
  failuresInRow = 0;
  lastLatencyMs: number | null = null;
  lastError: string | null = null;
  /** The reason of the last failure, kept after successes for the "up" log line. */
  lastFailure: string | null = null;
  transitions = 0;
  checks = 0;
  failures = 0;
  timer: NodeJS.Timeout | undefined;
  abort: (() => void) | undefined;
  stopped = false;

  constructor(public target: HealthTarget) {}
}

export class HealthChecker {
  readonly #log: Logger;
  readonly #onChange: (key: string, up: boolean) => void;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: HealthCheckerOptions) {
    this.#log = opts.log;
    this.#onChange = opts.onChange;
  }

  /**
   * Replaces the checked targets. A target whose key, address and check
   * (compared as JSON) are unchanged keeps its state, counters and timer
   * (its `service` is updated); any other is started afresh, up. Targets
   * not given are stopped, and a check of theirs in flight is abandoned.
   * Throws NFVGW_ERR_INTERNAL, changing nothing, when a key repeats.
   */
  set(targets: readonly HealthTarget[]): void {
    const next = new Map<string, HealthTarget>();
    for (const t of targets) {
      if (next.has(t.key))
        throw new NfvgwError('NFVGW_ERR_INTERNAL', `health check target ${t.key} given twice`);
      next.set(t.key, copyTarget(t));
    }
    for (const [key, e] of this.#entries) {
      const t = next.get(key);
      if (t === undefined || !sameProbe(e.target, t)) {
        halt(e);
        this.#entries.delete(key);
      }
    }
    for (const [key, t] of next) {
      const kept = this.#entries.get(key);
      if (kept !== undefined) {
        kept.target = t;
        continue;
      }
      const e = new Entry(t);
      this.#entries.set(key, e);
      this.#schedule(e, Math.random() * Math.min(t.check.intervalMs, FIRST_CHECK_SPREAD_MS));
    }
  }

  /** The state of one target, or undefined when it is not checked. */
  state(key: string): HealthState | undefined {
    const e = this.#entries.get(key);
    return e === undefined ? undefined : view(e);
  }

  /** The state of every target, in the order they were added. */
  states(): HealthState[] {
    return [...this.#entries.values()].map(view);
  }

  /** Stops every timer and closes the checks in flight; set() may start again. */
  stop(): void {
    for (const e of this.#entries.values()) halt(e);
    this.#entries.clear();
  }

  #schedule(e: Entry, delayMs: number): void {
    e.timer = setTimeout(() => this.#run(e), delayMs);
    e.timer.unref();
  }

  #run(e: Entry): void {
    e.timer = undefined;
    const started = performance.now();
    e.abort = probe(e.target, (error) => {
      e.abort = undefined;
      if (e.stopped) return;
      const now = performance.now();
      this.#record(e, error, now - started);
      // onChange may have called set() or stop().
      if (!e.stopped) this.#schedule(e, Math.max(0, started + e.target.check.intervalMs - now));
    });
  }

  #record(e: Entry, error: string | null, latencyMs: number): void {
    const { rise, fall } = e.target.check;
    e.checks++;
    e.lastLatencyMs = Math.round(latencyMs * 1000) / 1000;
    e.lastError = error;
    if (error === null) {
      e.successesInRow++;
      e.failuresInRow = 0;
      if (!e.up && e.successesInRow >= rise) this.#flip(e, true);
    } else {
      e.failures++;
      e.failuresInRow++;
      e.successesInRow = 0;
      e.lastFailure = error;
      if (e.up && e.failuresInRow >= fall) this.#flip(e, false);
    }
  }

  #flip(e: Entry, up: boolean): void {
    const t = e.target;
    e.up = up;
    e.transitions++;
    const backend = `${t.ip}:${t.port}`;
    const fields = {
      service: t.service,
      backend,
      check: `${t.check.type} ${t.ip}:${t.check.port ?? t.port}${t.check.type === 'http' ? t.check.path : ''}`,
      lastFailure: e.lastFailure,
      latencyMs: e.lastLatencyMs,
    };
    if (up) {
      this.#log.info(fields, `backend ${backend} of ${t.service} is up (${t.check.rise} checks passed)`);
    } else {
      this.#log.warn(fields, `backend ${backend} of ${t.service} is down: ${e.lastFailure}`);
    }
    try {
      this.#onChange(t.key, up);
    } catch (err) {
      this.#log.error({ err, key: t.key, up }, 'health change handler failed');
    }
  }
}

function halt(e: Entry): void {
  e.stopped = true;
  if (e.timer !== undefined) clearTimeout(e.timer);
  e.timer = undefined;
  e.abort?.();
  e.abort = undefined;
}

function view(e: Entry): HealthState {
  const t = e.target;
  return {
    key: t.key,
    service: t.service,
    ip: t.ip,
    port: t.port,
    up: e.up,
    lastLatencyMs: e.lastLatencyMs,
    lastError: e.lastError,
    transitions: e.transitions,
    checks: e.checks,
    failures: e.failures,
  };
}

function copyTarget(t: HealthTarget): HealthTarget {
  return { ...t, check: { ...t.check, expectStatus: [...t.check.expectStatus] } };
}

/** A TCP connection to the target, from its network namespace when it names one. */
function connect(t: HealthTarget, port: number): net.Socket {
  if (t.netns === undefined) return net.connect({ host: t.ip, port });
  const socket = new net.Socket({ fd: loadAddon().socketIn(t.netns) });
  return socket.connect({ host: t.ip, port });
}

/** The same address and check, whatever the order of the check's fields. */
function sameProbe(a: HealthTarget, b: HealthTarget): boolean {
  return (
    a.ip === b.ip && a.port === b.port && a.netns === b.netns && canonical(a.check) === canonical(b.check)
  );
}

function canonical(c: HealthCheckConfig): string {
  return JSON.stringify(c, Object.keys(c).sort());
}

function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

/**
 * Runs one check of `t`; `done` gets null on success or the reason of the
 * failure, always asynchronously and exactly once, unless the check is
 * abandoned with the function returned (which closes its socket).
 */
function probe(t: HealthTarget, done: (error: string | null) => void): () => void {
  const { check } = t;
  const port = check.port ?? t.port;
  let settled = false;
  let close = (): void => {};
  const finish = (error: string | null): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    close();
    done(error);
  };
  const timer = setTimeout(() => finish(`timeout after ${check.timeoutMs} ms`), check.timeoutMs);
  timer.unref();

  try {
    if (check.type === 'tcp') {
      const socket = connect(t, port);
      socket.unref();
      close = () => socket.destroy();
      socket.once('connect', () => finish(null));
      socket.on('error', (e) => finish(`connect ${errorText(e)}`));
    } else {
      let connected = false;
      const req = http.request({
        host: t.ip,
        port,
        path: check.path,
        method: 'GET',
        // No agent: a request with an agent would open its connection
        // through the agent, not createConnection (and so not from the
        // namespace); one connection per check, closed after it.
        createConnection: () => connect(t, port),
        headers: { Connection: 'close', 'User-Agent': 'nfvgw-health-check' },
      });
      close = () => req.destroy();
      req.once('socket', (socket) => {
        socket.unref();
        socket.once('connect', () => {
          connected = true;
        });
      });
      req.on('error', (e) => finish(`${connected ? 'http' : 'connect'} ${errorText(e)}`));
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        if (!check.expectStatus.includes(status)) {
          finish(`status ${status}`);
          return;
        }
        res.on('error', (e) => finish(`http ${errorText(e)}`));
        res.once('end', () => finish(null));
        res.once('close', () => finish(res.complete ? null : 'http response cut short'));
        res.resume();
      });
      req.end();
    }
  } catch (e) {
    // A request node refuses to send (e.g. a path it will not escape): a failure, reported like the others.
    const reason = `request ${errorText(e)}`;
    setImmediate(() => finish(reason)).unref();
  }

  return () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    close();
  };
}
