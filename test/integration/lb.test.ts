// The L4 load balancer against real peers: a client namespace, nfvgw on
// AF_XDP in front of the VIPs, and three backends with real HTTP servers
// and UDP echoes that say who they are (src/lab/lb.ts). Each mode with the
// backends set up as it needs (lbBackendMode: the LVS-DR loopback VIP and
// ARP settings, the IP-in-IP receiver, the default route through the
// gateway for nat): curl and wrk through it, weights, health checks taking
// a stopped backend out and back, a drained backend finishing its live
// connection, replies bypassing the gateway in dr and tunnel mode. Needs
// root.
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { nsRun, nsSpawn, stop } from '../../src/lab/exec.js';
import {
  type LbLab,
  type LbMode,
  lbBackendMode,
  lbLabDown,
  lbLabUp,
  startBackend,
  startBackendServers,
  stopBackend,
} from '../../src/lab/lb.js';
import { curl } from '../../src/lab/traffic.js';
import { silentLogger } from '../../src/log/logger.js';
import { GatewayService } from '../../src/service/gateway-service.js';
import { sleep } from '../support/lab.js';

const PREFIX = 'nfvgw-t-lb';
const VIP = '10.90.0.1';

let lab: LbLab;
let svc: GatewayService;
let servers: { stop(): Promise<void> };

type Service = Omit<NonNullable<ConfigInput['loadBalancers']>[number], 'id' | 'vip'>;

function config(services: Service[]): ConfigInput {
  return {
    workers: [{ pollMode: 'adaptive' }],
    ports: [
      { name: 'front', type: 'af_xdp', interface: 'fr0', netns: lab.gwNs, addresses: ['10.70.0.1/24'] },
      { name: 'back', type: 'af_xdp', interface: 'be0', netns: lab.gwNs, addresses: ['10.80.0.1/24'] },
    ],
    // The gateway host's way to the backends for health checks: in the lab,
    // the router's namespace on the backend segment.
    healthCheckNetns: lab.routerNs,
    loadBalancers: services.map((s, i) => ({ id: `svc-${i}`, vip: `10.90.0.${i + 1}`, ...s })),
  };
}

const all = (weight = 1) => lab.backends.map((b) => ({ ip: b.ip, weight }));

/** Sets the backends up for `mode` and the gateway to serve `services`. */
async function serve(mode: LbMode, services: Service[]): Promise<void> {
  await lbBackendMode(
    lab,
    mode,
    services.map((_, i) => `10.90.0.${i + 1}`),
  );
  await svc.replaceConfig(config(services));
  await svc.dataplane.flushFlows();
}

/** `n` requests to the VIP from the client; which backend answered each (or the failure). */
async function requests(n: number, vip = VIP): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await curl(lab.clientNs, `http://${vip}/`, { keepBody: true, timeoutS: 5 });
    out.push(r.status === 200 ? r.body.trim() : `failed ${r.status} ${r.body.trim()}`);
  }
  return out;
}

const tally = (names: string[]) => {
  const t: Record<string, number> = {};
  for (const n of names) t[n] = (t[n] ?? 0) + 1;
  return t;
};

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const frontTx = () => svc.status().ports.find((p) => p.name === 'front')!.txPackets;
const health = (ip: string) => svc.loadBalancers()[0]!.backends.find((b) => b.ip === ip)!.health;

beforeAll(async () => {
  lab = await lbLabUp({ prefix: PREFIX });
  servers = await startBackendServers(lab, 80, 53);
  svc = GatewayService.start(config([]), silentLogger());
}, 120_000);

afterAll(async () => {
  svc?.close();
  await servers?.stop();
  await lbLabDown(PREFIX);
});

describe('nat', () => {
  it('spreads requests by weight (wrr 2:1:1) and translates the replies back to the VIP', async () => {
    await serve('nat', [
      {
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        scheduler: 'wrr',
        backends: lab.backends.map((b, i) => ({ ip: b.ip, weight: i === 0 ? 2 : 1 })),
      },
    ]);
    const t = tally(await requests(40));
    expect(t).toEqual({ b1: 20, b2: 10, b3: 10 });
    const view = svc.loadBalancers()[0]!;
    expect(view.backends.map((b) => b.connections)).toEqual([20, 10, 10]);
    expect(view.backends.every((b) => b.packets > 0)).toBe(true);
  }, 60_000);

  it('carries a load tool (wrk) without errors', async () => {
    const r = await nsRun(lab.clientNs, 'wrk', ['-t1', '-c16', '-d3s', '--latency', `http://${VIP}/`], {
      timeoutMs: 30_000,
    });
    const requestsDone = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
    expect(requestsDone).toBeGreaterThan(100);
    expect(r.stdout).not.toMatch(/Socket errors|Non-2xx/);
  }, 60_000);

  it('serves UDP: each datagram answered from the VIP by a backend', async () => {
    await serve('nat', [
      { protocol: 'tcp', port: 80, mode: 'nat', backends: all() },
      { protocol: 'udp', port: 53, mode: 'nat', scheduler: 'rr', backends: all() },
    ]);
    const script = `
import socket
names = set()
for i in range(6):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect(("10.90.0.2", 53))
    s.send(b"ping")
    names.add(s.recv(512).split()[0].decode())
print(" ".join(sorted(names)))`;
    const r = await nsRun(lab.clientNs, 'python3', ['-c', script], { timeoutMs: 30_000 });
    expect(r.stdout.trim()).toBe('b1 b2 b3');
  }, 60_000);

  it('keeps a client on one backend with session affinity, where rr alone goes round', async () => {
    await serve('nat', [
      { protocol: 'tcp', port: 80, mode: 'nat', scheduler: 'rr', affinityTimeoutS: 60, backends: all() },
    ]);
    const got = await requests(9);
    expect(got.every((n) => n === got[0] && /^b\d$/.test(n))).toBe(true);
    expect(
      svc.flows({ protocol: 'tcp', limit: '1000' }).flows.filter((f) => f.kind === 'affinity'),
    ).toHaveLength(1);
  }, 60_000);

  it('takes a stopped backend out within interval x fall, and back after rise', async () => {
    await serve('nat', [
      {
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        scheduler: 'rr',
        backends: all(),
        healthCheck: { type: 'http', path: '/', intervalMs: 200, timeoutMs: 150, rise: 2, fall: 2 },
      },
    ]);
    let applies = svc.healthApplies;
    await stopBackend(lab, 'b2');
    await until('b2 down', () => health(lab.backends[1]!.ip) === 'down');
    await until('the health applied', () => svc.healthApplies > applies);
    try {
      const during = await requests(12);
      expect(during.filter((n) => n !== 'b1' && n !== 'b3')).toEqual([]);
    } finally {
      applies = svc.healthApplies;
      await startBackend(lab, 'b2');
    }
    await until('b2 up', () => health(lab.backends[1]!.ip) === 'up');
    await until('the health applied', () => svc.healthApplies > applies);
    // Back in: 30 connections reach all three but about 1 time in 66 000.
    expect(new Set(await requests(30))).toEqual(new Set(['b1', 'b2', 'b3']));
  }, 90_000);
});

describe('direct routing', () => {
  it('reaches every backend, and the replies go around the gateway', async () => {
    await serve('dr', [{ protocol: 'tcp', port: 80, mode: 'dr', backends: all() }]);
    const tx0 = frontTx();
    const got = await requests(30);
    expect(got.filter((n) => !/^b\d$/.test(n))).toEqual([]);
    expect(new Set(got).size).toBe(3);
    // 30 HTTP exchanges back through the gateway would be well over 100
    // packets on its front port; only ARP may leave there.
    expect(frontTx() - tx0).toBeLessThan(10);
  }, 60_000);

  it('lets a live connection to a drained backend (weight 0) finish and sends it no new ones', async () => {
    // One keep-alive connection: a request, a pause (the backend is
    // drained meanwhile), a second request on the same connection once the
    // file GO exists.
    const GO = join(tmpdir(), `${PREFIX}-go-${process.pid}`);
    await serve('dr', [{ protocol: 'tcp', port: 80, mode: 'dr', backends: all() }]);
    const script = `
import os, socket, time
s = socket.create_connection(("${VIP}", 80), timeout=10)
def get():
    s.sendall(b"GET / HTTP/1.1\\r\\nHost: vip\\r\\n\\r\\n")
    data = b""
    while b"\\r\\n\\r\\n" not in data:
        data += s.recv(4096)
    head, body = data.split(b"\\r\\n\\r\\n", 1)
    n = int([l for l in head.split(b"\\r\\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    while len(body) < n:
        body += s.recv(4096)
    return body.decode().strip()
print(get(), flush=True)
while not os.path.exists("${GO}"):
    time.sleep(0.05)
print(get(), flush=True)`;
    const child = nsSpawn(lab.clientNs, 'python3', ['-u', '-c', script]);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await until('the first answer', () => out.includes('\n'), 15_000);
      const first = out.trim();
      const drained = lab.backends.find((b) => b.name === first)!;
      await svc.replaceConfig(
        config([
          {
            protocol: 'tcp',
            port: 80,
            mode: 'dr',
            backends: lab.backends.map((b) => ({ ip: b.ip, weight: b === drained ? 0 : 1 })),
          },
        ]),
      );
      const fresh = await requests(15);
      expect(fresh).not.toContain(first);
      writeFileSync(GO, '');
      await until('the second answer', () => out.trim().split('\n').length === 2, 15_000);
      expect(out.trim().split('\n')).toEqual([first, first]);
    } finally {
      await stop(child);
      rmSync(GO, { force: true });
    }
  }, 90_000);
});

describe('fullnat', () => {
  it('reaches the backends from a local address, with no route back to the client', async () => {
    await serve('fullnat', [
      { protocol: 'tcp', port: 80, mode: 'fullnat', localIps: ['10.80.0.200'], backends: all() },
    ]);
    // 30 connections: each backend gets one but with a chance of 3 (2/3)^30,
    // about 1 in 66 000 (9 left one out 1 time in 13).
    const got = await requests(30);
    expect(new Set(got)).toEqual(new Set(['b1', 'b2', 'b3']));
    // The backend saw the local address as the client.
    const r = await nsRun(lab.clientNs, 'curl', ['-sS', '-D', '-', '-o', '/dev/null', `http://${VIP}/`]);
    expect(r.stdout).toMatch(/X-Client: 10\.80\.0\.200:\d+/i);
  }, 60_000);
});

describe('tunnel', () => {
  it('reaches the backends in IP-in-IP, and the replies go around the gateway', async () => {
    await serve('tunnel', [{ protocol: 'tcp', port: 80, mode: 'tunnel', backends: all() }]);
    const tx0 = frontTx();
    const got = await requests(15);
    expect(got.filter((n) => !/^b\d$/.test(n))).toEqual([]);
    expect(new Set(got).size).toBeGreaterThan(1);
    expect(frontTx() - tx0).toBeLessThan(10);
  }, 60_000);
});
