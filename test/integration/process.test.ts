// `nfvgw run` as an operator runs it: a separate process with its REST API,
// driven by the `nfvgw` CLI and by HTTP. Bad calls get a clear error and
// change nothing; metrics are real Prometheus text; SIGTERM and SIGINT stop
// it cleanly, and a start after SIGKILL cleans what the dead process left.
// Needs root (network namespaces, XDP, huge pages).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { vxlanBenchConfig } from '../../bench/vxlan.js';
import { nsRun } from '../../src/lab/exec.js';
import { type Lab, labDown, labGatewayConfig, labUp } from '../../src/lab/topology.js';
import { ping } from '../../src/lab/traffic.js';
import { cli, type GatewayProcess, startGatewayProcess } from '../support/process.js';

const PREFIX = 'nfvgw-t-proc';
let lab: Lab;
let dir: string;
let configPath: string;
let gw: GatewayProcess | undefined;

async function xdpAttached(iface: string): Promise<boolean> {
  const out = await nsRun(lab.gwNs, 'ip', ['link', 'show', 'dev', iface]);
  return /\bxdp/.test(out.stdout);
}

// A PUT that takes the answer even when the server gives it before the
// body is in (413) and closes the connection. A body over 1 MiB is declared
// in full but only its first 64 KiB are sent: the server judges the length
// from the header, and nothing large is left unread when it closes (which
// would reset the connection and could lose the answer).
function put(url: string, body: string, type: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const length = Buffer.byteLength(body);
    const req = request(url, { method: 'PUT', headers: { 'content-type': type, 'content-length': length } });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
        req.destroy();
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (length > 1 << 20) req.write(body.slice(0, 64 << 10));
    else req.end(body);
  });
}

async function canPing(): Promise<boolean> {
  return (await ping(lab.hosts[0]!.ns, lab.hosts[1]!.ip, { count: 2 })).received >= 1;
}

beforeAll(async () => {
  lab = await labUp({ prefix: PREFIX });
  dir = mkdtempSync(join(tmpdir(), 'nfvgw-proc-'));
  configPath = join(dir, 'gateway.yaml');
  writeFileSync(configPath, stringify(labGatewayConfig(lab)));
  gw = await startGatewayProcess(configPath);
});

afterAll(async () => {
  if (gw && gw.proc.exitCode === null) {
    gw.proc.kill('SIGTERM');
    await gw.waitForExit();
  }
  await labDown(PREFIX);
});

describe('nfvgw run and the CLI (root, netns)', () => {
  it('forwards, and `nfvgw status` shows its ports and workers', async () => {
    expect(await canPing()).toBe(true);
    const r = await cli('status', '--api', gw!.listen);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lan-a\s+af_xdp\s+gw-a\s+nfvgw-t-proc-gw\s+native/);
    const j = JSON.parse((await cli('status', '--api', gw!.listen, '--json')).stdout);
    expect(j).toMatchObject({
      generation: 1,
      ports: [{ name: 'lan-a' }, { name: 'lan-b' }],
      workers: [{ id: 0 }],
    });
  });

  it('answers /healthz', async () => {
    const res = await fetch(`${gw!.api}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', generation: 1 });
  });

  it('exports Prometheus metrics from the data plane', async () => {
    const text = await (await fetch(`${gw!.api}/metrics`)).text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('nfvgw_port_rx_packets_total{port="lan-a",queue="0"}')).toBeGreaterThan(0);
    expect(value('nfvgw_port_tx_packets_total{port="lan-b",queue="0"}')).toBeGreaterThan(0);
    expect(value('nfvgw_drops_total{reason="ip4_bad_checksum"}')).toBe(0);
    expect(value('nfvgw_pipeline_events_total{event="ip4_forwarded"}')).toBeGreaterThan(0);
    expect(value('nfvgw_worker_burst_size_bucket{worker="0",le="+Inf"}')).toBeGreaterThan(0);
    expect(value('nfvgw_worker_busy_seconds_total{worker="0"}')).toBeGreaterThan(0);
    expect(value('nfvgw_config_generation')).toBe(1);
    expect(value('nfvgw_hugepages_in_use')).toBeGreaterThan(0);
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE nfvgw_drops_total counter');
    expect(text).toContain('# TYPE nfvgw_worker_burst_size histogram');
  });

  describe('refuses bad API calls with a precise error and changes nothing', () => {
    const good = () => labGatewayConfig(lab);
    const cases: {
      name: string;
      body: () => string;
      type?: string;
      status: number;
      code: string;
      path?: string;
    }[] = [
      {
        name: 'malformed JSON',
        body: () => '{"ports": [',
        type: 'application/json',
        status: 400,
        code: 'NFVGW_ERR_CONFIG_PARSE',
        path: 'line 1',
      },
      {
        name: 'an unknown field',
        body: () => stringify({ ...good(), ports: [{ ...good().ports[0], colour: 'red' }, good().ports[1]] }),
        status: 422,
        code: 'NFVGW_ERR_CONFIG_INVALID',
        path: '$.ports[0].colour',
      },
      {
        name: 'a wrong type',
        body: () => stringify({ ...good(), burst: 'lots' }),
        status: 422,
        code: 'NFVGW_ERR_CONFIG_INVALID',
        path: '$.burst',
      },
      {
        name: 'a dangling next hop',
        body: () => stringify({ ...good(), routes: [{ destination: '0.0.0.0/0', via: '172.31.0.1' }] }),
        status: 422,
        code: 'NFVGW_ERR_CONFIG_INVALID',
        path: '$.routes[0].via',
      },
      {
        name: 'a change that needs a restart',
        body: () => stringify({ ...good(), workers: [{}, {}] }),
        status: 409,
        code: 'NFVGW_ERR_RESTART_REQUIRED',
        path: '$.workers',
      },
      {
        name: 'a body over the limit',
        body: () => `# ${'x'.repeat(17 << 20)}\n`,
        status: 413,
        code: 'NFVGW_ERR_BODY_TOO_LARGE',
      },
      {
        name: 'a media type it does not read',
        body: () => 'ports: []',
        type: 'text/plain',
        status: 415,
        code: 'NFVGW_ERR_UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'an empty body',
        body: () => '',
        type: 'application/json',
        status: 400,
        code: 'NFVGW_ERR_BAD_REQUEST',
      },
    ];
    for (const c of cases) {
      it(`PUT /v1/config with ${c.name}: ${c.status} ${c.code}`, async () => {
        const res = await put(`${gw!.api}/v1/config`, c.body(), c.type ?? 'application/yaml');
        expect(res.status).toBe(c.status);
        const j = JSON.parse(res.body) as {
          error: { code: string; message: string; details: { path: string }[] };
        };
        expect(j.error.code).toBe(c.code);
        expect(j.error.message.length).toBeGreaterThan(5);
        if (c.path) expect(j.error.details.map((d) => d.path).join(' ')).toContain(c.path);
      });
    }

    it('answers unknown routes and bad queries with 404 and 400', async () => {
      expect((await fetch(`${gw!.api}/v1/nope`)).status).toBe(404);
      expect((await fetch(`${gw!.api}/v1/routes/lookup?address=10.1`)).status).toBe(400);
    });

    it('is still at generation 1 and forwarding', async () => {
      const s = (await (await fetch(`${gw!.api}/v1/status`)).json()) as { generation: number };
      expect(s.generation).toBe(1);
      expect(await canPing()).toBe(true);
    });
  });

  it('`nfvgw validate` and `nfvgw apply` refuse a bad file, naming the field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      stringify({ ...labGatewayConfig(lab), routes: [{ destination: '0.0.0.0/0', via: '10.99.0.1' }] }),
    );
    const v = await cli('validate', '--config', bad);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('NFVGW_ERR_CONFIG_INVALID');
    expect(v.stderr).toContain('$.routes[0].via: 10.99.0.1 is not on a subnet of any port');
    const a = await cli('apply', '--api', gw!.listen, '--config', bad);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain('$.routes[0].via');
    expect(await canPing()).toBe(true);
  });

  it('`nfvgw apply` changes the running configuration, `nfvgw routes` and `config` show it', async () => {
    const next = join(dir, 'next.yaml');
    writeFileSync(
      next,
      stringify({ ...labGatewayConfig(lab), routes: [{ destination: '10.50.0.0/16', via: '10.11.2.2' }] }),
    );
    expect((await cli('validate', '--config', next)).code).toBe(0);
    const a = await cli('apply', '--api', gw!.listen, '--config', next);
    expect(a).toMatchObject({ code: 0, stdout: 'applied: generation 2\n' });
    const r = await cli('routes', '--api', gw!.listen, '--lookup', '10.50.1.1', '--json');
    expect(JSON.parse(r.stdout)).toEqual({
      address: '10.50.1.1',
      type: 'via',
      port: 'lan-b',
      via: '10.11.2.2',
    });
    const c = await cli('config', '--api', gw!.listen);
    expect(parse(c.stdout).routes).toEqual([
      { destination: '10.50.0.0/16', via: '10.11.2.2', type: 'unicast' },
    ]);
    const n = JSON.parse((await cli('neighbors', '--api', gw!.listen, '--json')).stdout) as {
      address: string;
    }[];
    expect(n.map((x) => x.address)).toContain('10.11.2.2');
  });

  it('`nfvgw apply --dry-run`, `nfvgw put`, `get` and `delete` change one item of the configuration', async () => {
    const next = join(dir, 'dry.yaml');
    writeFileSync(next, stringify({ ...labGatewayConfig(lab), routes: [] }));
    const dry = await cli('apply', '--api', gw!.listen, '--config', next, '--dry-run');
    expect(dry).toMatchObject({
      code: 0,
      stdout: 'would change (now generation 2):\n  routes: removed 10.50.0.0/16\n',
    });
    const lb = join(dir, 'lb.yaml');
    writeFileSync(
      lb,
      stringify({
        vip: '10.90.0.1',
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        backends: [{ ip: '10.11.2.2' }],
      }),
    );
    expect(await cli('put', 'load-balancers', 'web', '--api', gw!.listen, '--config', lb)).toMatchObject({
      code: 0,
      stdout: 'applied: generation 3\n',
    });
    const got = JSON.parse((await cli('get', 'load-balancers', 'web', '--api', gw!.listen)).stdout);
    expect(got).toMatchObject({ id: 'web', vip: '10.90.0.1', scheduler: 'maglev' });
    expect((await cli('delete', 'load-balancers', 'web', '--api', gw!.listen)).stdout).toBe(
      'applied: generation 4\n',
    );
    const missing = await cli('delete', 'load-balancers', 'web', '--api', gw!.listen);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no load-balancers item has the id web/);
  });

  it('stops on SIGTERM: exit 0, XDP programs detached', async () => {
    expect(await xdpAttached('gw-a')).toBe(true);
    gw!.proc.kill('SIGTERM');
    expect(await gw!.waitForExit()).toBe(0);
    expect(await xdpAttached('gw-a')).toBe(false);
    expect(await xdpAttached('gw-b')).toBe(false);
    expect(gw!.logs.map((l) => l.msg)).toContain('gateway stopped');
  });

  describe('with --state-dir', () => {
    it('comes back after a restart to what the API applied, and goes on counting generations', async () => {
      const state = join(dir, 'state');
      const first = await startGatewayProcess(configPath, { args: ['--state-dir', state] });
      const next = join(dir, 'saved.yaml');
      writeFileSync(
        next,
        stringify({ ...labGatewayConfig(lab), routes: [{ destination: '10.60.0.0/16', via: '10.11.2.2' }] }),
      );
      expect((await cli('apply', '--api', first.listen, '--config', next)).stdout).toBe(
        'applied: generation 2\n',
      );
      first.proc.kill('SIGTERM');
      expect(await first.waitForExit()).toBe(0);
      // Restarted with the original --config: the saved state wins.
      const second = await startGatewayProcess(configPath, { args: ['--state-dir', state] });
      try {
        const restored = await second.waitForLog((l) => l.msg === 'state restored');
        expect(restored.generation).toBe(2);
        const c = parse((await cli('config', '--api', second.listen)).stdout);
        expect(c.routes).toEqual([{ destination: '10.60.0.0/16', via: '10.11.2.2', type: 'unicast' }]);
        expect(JSON.parse((await cli('status', '--api', second.listen, '--json')).stdout).generation).toBe(2);
        expect(await canPing()).toBe(true);
      } finally {
        second.proc.kill('SIGTERM');
        await second.waitForExit();
      }
    });

    it('keeps single route changes across a crash: journaled, replayed at the next start', async () => {
      const state = join(dir, 'routes');
      const vpcConfig = join(dir, 'vpc.yaml');
      writeFileSync(vpcConfig, stringify(vxlanBenchConfig(undefined, 1000)));
      const first = await startGatewayProcess(vpcConfig, { args: ['--state-dir', state] });
      const lookup = async (g: GatewayProcess, address: string) =>
        JSON.parse(
          (await cli('routes', '--api', g.listen, '--lookup', address, '--table', 'rt-a', '--json')).stdout,
        ).target;
      try {
        expect(await lookup(first, '21.1.2.3')).toBe('peering:pcx');
        expect(
          (await cli('route', 'set', '--api', first.listen, '--table', 'rt-a', '21.0.0.0/8', 'blackhole'))
            .stdout,
        ).toBe('applied: generation 2\n');
        expect(
          (await cli('route', 'delete', '--api', first.listen, '--table', 'rt-a', '20.0.4.0/24')).stdout,
        ).toBe('applied: generation 3\n');
        const bad = await cli(
          'route',
          'set',
          '--api',
          first.listen,
          '--table',
          'rt-a',
          '21.0.0.0/8',
          'eni:nope',
        );
        expect(bad.code).not.toBe(0);
        expect(bad.stderr).toContain('$.routeTables[0].routes');
        expect(bad.stderr).toContain('no ENI is named nope');
        expect(await lookup(first, '21.1.2.3')).toBe('blackhole');
      } finally {
        first.proc.kill('SIGKILL');
        await first.waitForExit();
      }
      const second = await startGatewayProcess(vpcConfig, { args: ['--state-dir', state] });
      try {
        const restored = await second.waitForLog((l) => l.msg === 'state restored');
        expect(restored).toMatchObject({ generation: 3, journaledRouteChanges: 2 });
        expect(await lookup(second, '21.1.2.3')).toBe('blackhole');
        const c = parse((await cli('config', '--api', second.listen)).stdout);
        const routes = c.routeTables[0].routes as { destination: string; target: string }[];
        expect(routes).toContainEqual({ destination: '21.0.0.0/8', target: 'blackhole' });
        expect(routes.map((r) => r.destination)).not.toContain('20.0.4.0/24');
        expect(routes).toHaveLength(1000);
      } finally {
        second.proc.kill('SIGTERM');
        await second.waitForExit();
      }
    });

    it('refuses a corrupt state file, naming it, and attaches nothing', async () => {
      const state = join(dir, 'corrupt');
      mkdirSync(state, { recursive: true });
      writeFileSync(join(state, 'config.json'), '{"generation": 3, "config": {"ports": "nope"}');
      await expect(startGatewayProcess(configPath, { args: ['--state-dir', state] })).rejects.toThrow(
        /NFVGW_ERR_STATE_FILE: .*corrupt\/config.json/,
      );
      writeFileSync(join(state, 'config.json'), JSON.stringify({ generation: 3, config: { ports: 'nope' } }));
      await expect(startGatewayProcess(configPath, { args: ['--state-dir', state] })).rejects.toThrow(
        /NFVGW_ERR_STATE_FILE: .*invalid/,
      );
      expect(await xdpAttached('gw-a')).toBe(false);
    });
  });

  it('after a SIGKILL, the next start removes the program the dead process left behind', async () => {
    const first = await startGatewayProcess(configPath);
    first.proc.kill('SIGKILL');
    await first.waitForExit();
    expect(await xdpAttached('gw-a')).toBe(true); // nobody detached it
    gw = await startGatewayProcess(configPath);
    const warning = await gw.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('left behind'));
    expect(warning.level).toBe(40);
    expect(await canPing()).toBe(true);
    gw.proc.kill('SIGINT');
    expect(await gw.waitForExit()).toBe(0);
    expect(await xdpAttached('gw-a')).toBe(false);
  });

  describe('without huge pages', () => {
    // A mount namespace with /proc/sys read-only: the gateway cannot reserve
    // huge pages, as on a host that does not allow it.
    const noReserve = [
      'unshare',
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"',
      'sh',
    ];
    let saved: string;
    beforeAll(() => {
      saved = readFileSync('/proc/sys/vm/nr_hugepages', 'utf8').trim();
      writeFileSync('/proc/sys/vm/nr_hugepages', '0');
    });
    afterAll(() => writeFileSync('/proc/sys/vm/nr_hugepages', saved));

    it('falls back to normal pages with one clear warning and nfvgw_hugepages_in_use 0', async () => {
      gw = await startGatewayProcess(configPath, { wrap: noReserve });
      const warnings = gw.logs.filter((l) => l.level === 40 && String(l.msg).includes('huge pages'));
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0]!.msg)).toMatch(/using normal pages/);
      const text = await (await fetch(`${gw.api}/metrics`)).text();
      expect(text).toMatch(/^nfvgw_hugepages_in_use 0$/m);
      expect(text).toMatch(/^nfvgw_memory_bytes\{kind="normal"\} [1-9]/m);
      expect(await canPing()).toBe(true);
      gw.proc.kill('SIGTERM');
      expect(await gw.waitForExit()).toBe(0);
    });

    it('refuses to start when the configuration requires them', async () => {
      const strict = join(dir, 'strict.yaml');
      writeFileSync(strict, stringify({ ...labGatewayConfig(lab), hugepages: 'require' }));
      const r = await cli('validate', '--config', strict);
      expect(r.code).toBe(0);
      await expect(startGatewayProcess(strict, { wrap: noReserve })).rejects.toThrow(
        /NFVGW_ERR_MEMORY: .*huge pages/,
      );
      expect(await xdpAttached('gw-a')).toBe(false);
    });
  });
});
