// The load balancer's health checker against real TCP and HTTP servers on
// 127.0.0.1 (ephemeral ports, no root): backends go down after `fall`
// failures and come back after `rise` successes, the reason is reported,
// set() keeps what did not change, and stop() closes what is in flight.
// Waits poll for a condition with a generous deadline and never assert on
// timing: the machine is shared and slow.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthCheckConfig } from '../../src/config/schema.js';
import { HealthChecker, type HealthState, type HealthTarget } from '../../src/service/health.js';

const DEADLINE_MS = 15_000;

/** Polls `probe` until it returns something other than undefined or false. */
async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function check(over: Partial<HealthCheckConfig> & Pick<HealthCheckConfig, 'type'>): HealthCheckConfig {
  return { path: '/', expectStatus: [200], intervalMs: 50, timeoutMs: 1000, rise: 2, fall: 3, ...over };
}

function target(key: string, port: number, c: HealthCheckConfig): HealthTarget {
  return { key, service: 'web', ip: '127.0.0.1', port, check: c };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Event = { key: string; up: boolean; state: HealthState };

/** A checker whose log lines and changes (with the state seen at the time) are kept. */
function newChecker() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const events: Event[] = [];
  const hc: HealthChecker = new HealthChecker({
    log,
    onChange: (key, up) => events.push({ key, up, state: hc.state(key)! }),
  });
  cleanups.push(() => hc.stop());
  const st = (key: string): HealthState => {
    const s = hc.state(key);
    if (s === undefined) throw new Error(`no state for ${key}`);
    return s;
  };
  return { hc, lines, events, st };
}

/** A TCP server that accepts and holds connections (never writes); tracks them. */
class Holder {
  readonly server = net.createServer((s) => this.#accept(s));
  readonly open = new Set<net.Socket>();
  accepted = 0;
  port = 0;

  #accept(s: net.Socket): void {
    this.accepted++;
    this.open.add(s);
    s.on('error', () => {});
    s.on('close', () => this.open.delete(s));
    s.resume(); // read (and drop) what comes, so that the peer's close is seen
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    cleanups.push(() => this.close());
    return this.port;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise((r) => this.server.close(r));
    for (const s of this.open) s.destroy();
    await closed;
  }
}

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
async function refusedPort(): Promise<number> {
  const h = new Holder();
  const port = await h.listen();
  await h.close();
  return port;
}

describe('health checker', () => {
  it('takes a TCP backend down after `fall` refused connects and up again after `rise` accepted ones', async () => {
    const { hc, lines, events, st } = newChecker();
    const server = new Holder();
    const port = await server.listen();
    hc.set([target('web/a', port, check({ type: 'tcp', rise: 2, fall: 3 }))]);

    // A new target starts up, before any check.
    expect(st('web/a')).toMatchObject({ up: true, checks: 0, failures: 0, transitions: 0, lastError: null });
    await until('3 checks', () => st('web/a').checks >= 3);
    expect(st('web/a')).toMatchObject({ up: true, failures: 0, lastError: null });
    expect(st('web/a').lastLatencyMs).toBeGreaterThanOrEqual(0);
    expect(server.accepted).toBeGreaterThanOrEqual(1);
    expect(events).toEqual([]);

    await server.close();
    await until('the backend down', () => events.length >= 1);
    const down = events[0]!;
    expect(down).toMatchObject({ key: 'web/a', up: false });
    // Every check failed since the server closed, and it took exactly `fall` of them.
    expect(down.state).toMatchObject({
      up: false,
      failures: 3,
      transitions: 1,
      lastError: 'connect ECONNREFUSED',
    });
    const warn = lines.find((l) => l.level === 40);
    expect(warn).toMatchObject({
      service: 'web',
      backend: `127.0.0.1:${port}`,
      lastFailure: 'connect ECONNREFUSED',
    });
    expect(typeof warn?.latencyMs).toBe('number');
    expect(warn?.msg).toMatch(/down: connect ECONNREFUSED/);

    // The same port again: up after exactly `rise` successes.
    const again = new Holder();
    await again.listen(port);
    await until('the backend up', () => events.length >= 2);
    const up = events[1]!;
    expect(up).toMatchObject({ key: 'web/a', up: true });
    expect(up.state).toMatchObject({ up: true, transitions: 2, lastError: null });
    const successes = (s: HealthState) => s.checks - s.failures;
    expect(successes(up.state) - successes(down.state)).toBe(2);
    expect(lines.find((l) => l.level === 30)).toMatchObject({
      service: 'web',
      backend: `127.0.0.1:${port}`,
      lastFailure: 'connect ECONNREFUSED',
    });
    expect(events).toHaveLength(2);
  });

  it('checks HTTP status: expected is up, 503 or an unexpected 404 is down, and back', async () => {
    const { hc, lines, events, st } = newChecker();
    let status = 200;
    const seen: { method?: string; url?: string; connection?: string }[] = [];
    const server = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, connection: req.headers.connection });
      if (req.url === '/healthz') {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end('x'.repeat(64 * 1024)); // a body to drain
      } else {
        res.writeHead(404);
        res.end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const port = (server.address() as AddressInfo).port;

    const backendPort = await refusedPort(); // the check's own port is the one probed
    hc.set([
      target('web/ok', port, check({ type: 'http', path: '/healthz', rise: 2, fall: 2 })),
      target('web/check-port', backendPort, check({ type: 'http', path: '/healthz', port, fall: 1 })),
      target('web/missing', port, check({ type: 'http', path: '/missing', fall: 2 })),
      target('web/404-expected', port, check({ type: 'http', path: '/missing', expectStatus: [404, 410] })),
    ]);

    await until('the wrong path down', () => events.some((e) => e.key === 'web/missing'));
    expect(st('web/missing')).toMatchObject({ up: false, lastError: 'status 404', transitions: 1 });
    await until(
      '3 checks of the others',
      () => st('web/ok').checks >= 3 && st('web/404-expected').checks >= 3,
    );
    expect(st('web/ok')).toMatchObject({ up: true, failures: 0, lastError: null, transitions: 0 });
    expect(st('web/404-expected')).toMatchObject({ up: true, failures: 0, lastError: null, transitions: 0 });
    expect(seen).toContainEqual({ method: 'GET', url: '/healthz', connection: 'close' });
    await until('checks on the check port', () => st('web/check-port').checks >= 2);
    expect(st('web/check-port')).toMatchObject({ up: true, failures: 0, port: backendPort });

    status = 503;
    await until('503 down', () => events.some((e) => e.key === 'web/ok'));
    expect(st('web/ok')).toMatchObject({ up: false, transitions: 1 });
    expect(st('web/ok').lastError).toMatch(/503/);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        service: 'web',
        backend: `127.0.0.1:${port}`,
        lastFailure: 'status 503',
        msg: expect.stringMatching(/down: status 503/),
      }),
    );

    status = 200;
    await until('200 up again', () => st('web/ok').up);
    expect(events.filter((e) => e.key === 'web/ok').map((e) => e.up)).toEqual([false, true]);
    expect(st('web/ok')).toMatchObject({ transitions: 2, lastError: null });
    expect(st('web/404-expected').transitions).toBe(0);
    expect(events.filter((e) => e.key === 'web/404-expected')).toEqual([]);
  });

  it('fails an HTTP check that gets no answer with a timeout, one check in flight at a time', async () => {
    const { hc, events, st } = newChecker();
    const silent = new Holder();
    const port = await silent.listen();
    // The timeout is longer than the interval: a checker firing on every
    // interval would have several connections open at once.
    hc.set([target('web/mute', port, check({ type: 'http', intervalMs: 50, timeoutMs: 200, fall: 2 }))]);

    await until('4 checks', () => {
      const s = st('web/mute');
      // Accepted (seen later than opened) can never exceed the ended checks plus the one in flight.
      expect(silent.accepted).toBeLessThanOrEqual(s.checks + 1);
      return s.checks >= 4;
    });
    expect(events).toMatchObject([{ key: 'web/mute', up: false }]);
    expect(st('web/mute')).toMatchObject({ up: false, lastError: 'timeout after 200 ms' });
    expect(st('web/mute').failures).toBe(st('web/mute').checks);
  });

  it('set() keeps unchanged targets, restarts changed ones and forgets removed ones', async () => {
    const { hc, events, st } = newChecker();
    const live = new Holder();
    const livePort = await live.listen();
    const other = new Holder();
    const otherPort = await other.listen();
    const deadPort = await refusedPort();
    const c = check({ type: 'tcp', fall: 2 });

    hc.set([
      target('web/dead', deadPort, c),
      target('web/live', livePort, c),
      target('web/removed', otherPort, { ...c, fall: 1 }),
    ]);
    await until('the dead backend down', () => events.length >= 1);
    await until('checks of the others', () => st('web/live').checks >= 2 && st('web/removed').checks >= 2);
    expect(events.map((e) => [e.key, e.up])).toEqual([['web/dead', false]]);
    const before = st('web/dead');

    // The same check with its fields in another order, a renamed service: kept.
    const reordered = Object.fromEntries(Object.entries(c).reverse()) as HealthCheckConfig;
    hc.set([
      { ...target('web/dead', deadPort, reordered), service: 'web2' },
      target('web/live', livePort, c),
      target('web/new', livePort, c),
    ]);
    expect(hc.state('web/removed')).toBeUndefined();
    expect(hc.states().map((s) => s.key)).toEqual(['web/dead', 'web/live', 'web/new']);
    expect(st('web/dead')).toMatchObject({ up: false, transitions: 1, service: 'web2' });
    expect(st('web/dead').checks).toBeGreaterThanOrEqual(before.checks);
    expect(st('web/new')).toMatchObject({ up: true, checks: 0, transitions: 0 });

    // The removed target's server goes away: it would go down at its next check, were it still checked.
    await other.close();
    const live0 = st('web/live').checks;
    await until(
      'more checks of the others',
      () => st('web/live').checks >= live0 + 5 && st('web/new').checks >= 5,
    );
    // Neither a change for the removed target nor a second "down" for the kept one (its state was not reset).
    expect(events.map((e) => [e.key, e.up])).toEqual([['web/dead', false]]);
    expect(st('web/dead').transitions).toBe(1);

    // A changed check or address restarts the target: up again, counters from zero.
    hc.set([
      target('web/dead', deadPort, { ...c, timeoutMs: 900 }),
      target('web/live', deadPort, c),
      target('web/new', livePort, c),
    ]);
    expect(st('web/dead')).toMatchObject({
      up: true,
      transitions: 0,
      checks: 0,
      failures: 0,
      lastError: null,
    });
    expect(st('web/live')).toMatchObject({ up: true, transitions: 0, checks: 0, port: deadPort });
    await until('both down', () => !st('web/dead').up && !st('web/live').up);
    // The order of the two new changes is not fixed.
    expect(events.map((e) => [e.key, e.up]).sort()).toEqual([
      ['web/dead', false],
      ['web/dead', false],
      ['web/live', false],
    ]);
    expect(events.filter((e) => e.key === 'web/dead')).toHaveLength(2);
    expect(events.filter((e) => e.key === 'web/live')).toHaveLength(1);
    expect(st('web/new')).toMatchObject({ up: true, transitions: 0 });
  });

  it('stop() closes the checks in flight and checks no more', async () => {
    const { hc, events } = newChecker();
    const silent = new Holder();
    const port = await silent.listen();
    hc.set([target('web/slow', port, check({ type: 'http', intervalMs: 100, timeoutMs: 30_000 }))]);
    await until('a connection', () => silent.open.size === 1);

    hc.stop();
    expect(hc.states()).toEqual([]);
    await until('the connection closed', () => silent.open.size === 0);

    // A second checker as the clock: while it runs several checks, the stopped one opens nothing.
    const clock = newChecker();
    const other = new Holder();
    clock.hc.set([target('clock', await other.listen(), check({ type: 'tcp' }))]);
    await until('5 clock checks', () => clock.st('clock').checks >= 5);
    expect(silent.accepted).toBe(1);
    expect(events).toEqual([]);
  });
});
