// The control plane's access control, as an operator meets it: `nfvgw run`
// as a process with an admin token and a read-only token, then with HTTPS
// (a self-signed certificate made here with openssl), driven by real HTTP(S)
// requests and by the `nfvgw` CLI; and the starts it refuses. The gateway
// runs on in-memory ports without huge pages: no interfaces, no namespaces.
// Needs openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { selfSignedCert } from '../support/cert.js';
import { cliWith, freePort, type GatewayProcess, startGatewayProcess } from '../support/process.js';

const ADMIN = 'adm1n-Tok3n-4f9c2e7d1b8a6350';
const READ = 'r3ad-Tok3n-0a1b2c3d4e5f6789';
const WRONG = 'wr0ng-Tok3n-ffffffffffffffff';

const config = (routes: { destination: string; via: string }[] = []) => ({
  hugepages: 'off',
  workers: [{ pollMode: 'adaptive' }],
  ports: [
    { name: 'lan', type: 'mem', mac: '02:00:00:00:00:01', addresses: ['10.0.1.1/24'] },
    { name: 'wan', type: 'mem', mac: '02:00:00:00:00:02', addresses: ['192.0.2.1/24'] },
  ],
  routes,
});

let dir: string;
let configPath: string;
let nextPath: string;
let adminFile: string;
let readFile: string;
let wrongFile: string;
let cert: string;
let key: string;
// Nothing of the test runner's environment may stand in for a flag.
const CLEAN_ENV = {
  NFVGW_TOKEN: undefined,
  NFVGW_READ_TOKEN: undefined,
  NFVGW_CA: undefined,
  NFVGW_TLS_CERT: undefined,
  NFVGW_TLS_KEY: undefined,
  NFVGW_PUBLIC_METRICS: undefined,
};
const cli = (...args: string[]) => cliWith({ env: CLEAN_ENV }, ...args);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: () => { error: { code: string; message: string } } & Record<string, unknown>;
}

/** One real HTTP(S) request; `authorization` is sent as given, `token` as a Bearer header. */
function call(
  base: string,
  method: string,
  path: string,
  o: { token?: string; authorization?: string; body?: string; type?: string | null; ca?: string } = {},
): Promise<Answer> {
  const url = new URL(path, base);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.authorization !== undefined) headers.authorization = o.authorization;
  const length = o.body === undefined ? 0 : Buffer.byteLength(o.body);
  if (o.body !== undefined) {
    if (o.type !== null) headers['content-type'] = o.type ?? 'application/yaml';
    headers['content-length'] = String(length);
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = send(url, { method, headers, ...(o.ca ? { ca: o.ca } : {}) }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        if (length > 1 << 20) req.destroy();
      });
    });
    // The server may answer (and close) before a large body is in.
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    // Over 16 MiB, the declared length is what is judged: only the start is sent,
    // so that nothing large is left unread when the server closes.
    if (length > 16 << 20) req.write(o.body!.slice(0, 64 << 10));
    else req.end(o.body);
  });
}

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nfvgw-apisec-'));
  configPath = join(dir, 'gateway.yaml');
  writeFileSync(configPath, stringify(config()));
  nextPath = join(dir, 'next.yaml');
  writeFileSync(nextPath, stringify(config([{ destination: '10.50.0.0/16', via: '192.0.2.254' }])));
  adminFile = join(dir, 'admin.token');
  writeFileSync(adminFile, `${ADMIN}\n`); // as `echo TOKEN > FILE` writes it
  readFile = join(dir, 'read.token');
  writeFileSync(readFile, `${READ}\n`);
  wrongFile = join(dir, 'wrong.token');
  writeFileSync(wrongFile, `${WRONG}\n`);
  ({ cert, key } = selfSignedCert(dir));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function stop(gw: GatewayProcess | undefined): Promise<void> {
  if (gw && gw.proc.exitCode === null) {
    gw.proc.kill('SIGTERM');
    expect(await gw.waitForExit()).toBe(0);
  }
}

describe('with an admin and a read-only token (mem ports)', () => {
  let gw: GatewayProcess;
  // Every refusal the test provokes, by reason: the counters must match exactly.
  const refused = { missing: 0, malformed: 0, invalid: 0, read_only: 0 };
  const expectRefused = (
    r: Answer,
    status: 401 | 403,
    reason: keyof typeof refused,
    challenge: RegExp = /^Bearer realm="nfvgw"/,
  ) => {
    refused[reason]++;
    expect(r.status, r.body).toBe(status);
    expect(r.json().error.code).toBe(status === 401 ? 'NFVGW_ERR_UNAUTHORIZED' : 'NFVGW_ERR_FORBIDDEN');
    expect(r.json().error.message.length).toBeGreaterThan(10);
    expect(r.headers['www-authenticate']).toMatch(challenge);
  };
  const generation = async () =>
    ((await call(gw.api, 'GET', '/v1/status', { token: READ })).json() as unknown as { generation: number })
      .generation;

  beforeAll(async () => {
    gw = await startGatewayProcess(configPath, {
      args: ['--token-file', adminFile, '--read-token-file', readFile],
      env: CLEAN_ENV,
    });
  });
  afterAll(() => stop(gw));

  it('says at start where the tokens come from, never what they are', async () => {
    const access = await gw.waitForLog((l) => l.msg === 'API access');
    expect(access).toMatchObject({
      adminToken: `--token-file ${adminFile}`,
      readToken: `--read-token-file ${readFile}`,
      metrics: 'token',
      tls: false,
    });
    expect(gw.logs.some((l) => String(l.msg).includes('no token'))).toBe(false);
  });

  it('keeps /healthz open for probes and load balancers', async () => {
    const r = await call(gw.api, 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok', generation: 1 });
  });

  it('without a token: 401 for changes and reads, before the body is read or the route is known', async () => {
    expectRefused(await call(gw.api, 'PUT', '/v1/config', { body: stringify(config()) }), 401, 'missing');
    expectRefused(await call(gw.api, 'GET', '/v1/status'), 401, 'missing');
    expectRefused(await call(gw.api, 'DELETE', '/v1/flows'), 401, 'missing');
    expectRefused(await call(gw.api, 'GET', '/metrics'), 401, 'missing');
    // Neither a route that does not exist nor a body over the limit gets further.
    expectRefused(await call(gw.api, 'GET', '/v1/no-such-route'), 401, 'missing');
    expectRefused(
      await call(gw.api, 'POST', '/v1/config', { body: '{', type: 'application/json' }),
      401,
      'missing',
    );
    expectRefused(
      await call(gw.api, 'PUT', '/v1/config', { body: `# ${'x'.repeat(2 << 20)}\n{` }),
      401,
      'missing',
    );
    expect(await generation()).toBe(1);
  });

  it('a header that is not "Bearer TOKEN": 401', async () => {
    for (const authorization of [
      `Basic ${Buffer.from(`nfvgw:${ADMIN}`).toString('base64')}`,
      'Bearer',
      ADMIN,
    ])
      expectRefused(
        await call(gw.api, 'PUT', '/v1/config', { authorization, body: stringify(config()) }),
        401,
        'malformed',
        /error="invalid_request"/,
      );
  });

  it('a wrong token: 401 invalid_token, for reads and changes', async () => {
    for (const token of [WRONG, ADMIN.slice(0, -1), `${READ}x`]) {
      expectRefused(await call(gw.api, 'GET', '/v1/status', { token }), 401, 'invalid', /invalid_token/);
      expectRefused(
        await call(gw.api, 'PUT', '/v1/config', { token, body: stringify(config()) }),
        401,
        'invalid',
        /invalid_token/,
      );
    }
  });

  it('the read token: 200 for reads, 403 for changes, and nothing changes', async () => {
    const s = await call(gw.api, 'GET', '/v1/status', { token: READ });
    expect(s.status).toBe(200);
    expect(s.json()).toMatchObject({ generation: 1 });
    expect((await call(gw.api, 'GET', '/v1/config', { token: READ })).status).toBe(200);
    expect((await call(gw.api, 'GET', '/v1/routes', { token: READ })).status).toBe(200);
    const errors = await call(gw.api, 'GET', '/v1/errors', { token: READ });
    expect(errors.json()).toMatchObject({
      errors: {
        NFVGW_ERR_UNAUTHORIZED: { status: 401 },
        NFVGW_ERR_FORBIDDEN: { status: 403 },
      },
    });
    // An unknown route is a 404 for someone who may read.
    expect((await call(gw.api, 'GET', '/v1/no-such-route', { token: READ })).status).toBe(404);
    expectRefused(
      await call(gw.api, 'PUT', '/v1/config', { token: READ, body: stringify(config()) }),
      403,
      'read_only',
      /insufficient_scope/,
    );
    expectRefused(await call(gw.api, 'DELETE', '/v1/flows', { token: READ }), 403, 'read_only');
    expect(await generation()).toBe(1);
  });

  it('the admin token: changes are applied', async () => {
    const r = await call(gw.api, 'PUT', '/v1/config', {
      token: ADMIN,
      body: stringify(config([{ destination: '10.60.0.0/16', via: '192.0.2.254' }])),
    });
    expect(r.status, r.body).toBe(200);
    expect(r.json()).toMatchObject({ generation: 2, changed: true });
    expect((await call(gw.api, 'DELETE', '/v1/flows', { token: ADMIN })).json()).toEqual({ flushed: 0 });
    expect((await call(gw.api, 'GET', '/v1/status', { token: ADMIN })).status).toBe(200);
    expect(await generation()).toBe(2);
  });

  it('the CLI sends the token from --token-file or NFVGW_TOKEN, and shows the refusals', async () => {
    const none = await cli('status', '--api', gw.listen);
    refused.missing++;
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^nfvgw: NFVGW_ERR_UNAUTHORIZED: .*--token-file/);

    const status = await cli('status', '--api', gw.listen, '--token-file', readFile, '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ generation: 2 });
    expect((await cli('lb', '--api', gw.listen, '--token-file', readFile)).code).toBe(0);

    const ro = await cli('apply', '--api', gw.listen, '--token-file', readFile, '--config', nextPath);
    refused.read_only++;
    expect(ro.code).toBe(1);
    expect(ro.stderr).toMatch(/^nfvgw: NFVGW_ERR_FORBIDDEN: the read-only token cannot PUT/);
    const flush = await cli('flows', '--flush', '--api', gw.listen, '--token-file', readFile);
    refused.read_only++;
    expect(flush.stderr).toContain('NFVGW_ERR_FORBIDDEN');

    const wrong = await cli('config', '--api', gw.listen, '--token-file', wrongFile);
    refused.invalid++;
    expect(wrong.stderr).toMatch(/NFVGW_ERR_UNAUTHORIZED: the token is not valid/);

    const applied = await cliWith(
      { env: { ...CLEAN_ENV, NFVGW_TOKEN: ADMIN } },
      'apply',
      '--api',
      gw.listen,
      '--config',
      nextPath,
    );
    expect(applied).toMatchObject({ code: 0, stdout: 'applied: generation 3\n' });
    // --token-file wins over NFVGW_TOKEN.
    const both = await cliWith(
      { env: { ...CLEAN_ENV, NFVGW_TOKEN: ADMIN } },
      'flows',
      '--flush',
      '--api',
      gw.listen,
      '--token-file',
      readFile,
    );
    refused.read_only++;
    expect(both.stderr).toContain('NFVGW_ERR_FORBIDDEN');
    const empty = await cliWith({ env: { ...CLEAN_ENV, NFVGW_TOKEN: '' } }, 'status', '--api', gw.listen);
    expect(empty.stderr).toMatch(/NFVGW_ERR_API_SETUP: NFVGW_TOKEN: the token is empty/);
    const tls = await cli('status', '--api', `https://${gw.listen}`, '--token-file', readFile);
    expect(tls.stderr).toMatch(
      /NFVGW_ERR_UNAVAILABLE: no TLS server answers .*give --api http:\/\/127\.0\.0\.1:/,
    );
    expect(await generation()).toBe(3);
  });

  it('counts every refusal by reason in /metrics', async () => {
    const r = await call(gw.api, 'GET', '/metrics', { token: READ });
    expect(r.status).toBe(200);
    expect(r.body).toContain('# TYPE nfvgw_api_auth_failures_total counter');
    for (const [reason, n] of Object.entries(refused))
      expect(sample(r.body, `nfvgw_api_auth_failures_total{reason="${reason}"}`), reason).toBe(n);
    expect(Object.values(refused).every((n) => n > 0)).toBe(true);
  });

  it('logs each refusal at warn with method, path, remote address and reason, never a token', async () => {
    // The access refusals (warn); other refusals (a bad request) log at info.
    const refusals = gw.logs.filter((l) => l.level === 40 && String(l.msg).startsWith('API request refused'));
    expect(refusals).toHaveLength(Object.values(refused).reduce((a, n) => a + n, 0));
    expect(refusals.every((l) => l.level === 40)).toBe(true);
    expect(refusals).toContainEqual(
      expect.objectContaining({
        code: 'NFVGW_ERR_FORBIDDEN',
        reason: 'read_only',
        method: 'DELETE',
        path: '/v1/flows',
        remoteAddress: '127.0.0.1',
      }),
    );
    expect(refusals).toContainEqual(
      expect.objectContaining({ reason: 'invalid', method: 'GET', path: '/v1/status' }),
    );
    const everything = JSON.stringify(gw.logs) + gw.stderr();
    for (const secret of [
      ADMIN,
      READ,
      WRONG,
      ADMIN.slice(0, -1),
      Buffer.from(`nfvgw:${ADMIN}`).toString('base64'),
    ])
      expect(everything).not.toContain(secret);
    expect(everything.toLowerCase()).not.toContain('authorization":');
  });
});

describe('bad requests with a good token still get a precise 4xx and change nothing (mem ports)', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGatewayProcess(configPath, { args: ['--token-file', adminFile], env: CLEAN_ENV });
  });
  afterAll(() => stop(gw));

  const cases: {
    name: string;
    body: string;
    type?: string | null;
    status: number;
    code: string;
    detail: RegExp;
  }[] = [
    {
      name: 'malformed JSON',
      body: '{"ports": [',
      type: 'application/json',
      status: 400,
      code: 'NFVGW_ERR_CONFIG_PARSE',
      detail: /line 1/,
    },
    {
      name: 'a YAML alias to no anchor',
      body: 'workers: *nowhere\n',
      status: 400,
      code: 'NFVGW_ERR_CONFIG_PARSE',
      detail: /nowhere/,
    },
    {
      name: 'a duplicate key',
      body: 'hugepages: off\nhugepages: auto\n',
      status: 400,
      code: 'NFVGW_ERR_CONFIG_PARSE',
      detail: /unique/,
    },
    {
      name: 'an unknown field',
      body: JSON.stringify({ ...config(), colour: 'red' }),
      type: 'application/json',
      status: 422,
      code: 'NFVGW_ERR_CONFIG_INVALID',
      detail: /\$\.colour/,
    },
    {
      name: 'a wrong type',
      body: stringify({ ...config(), workers: 'two' }),
      status: 422,
      code: 'NFVGW_ERR_CONFIG_INVALID',
      detail: /\$\.workers/,
    },
    {
      name: 'an out-of-range value',
      body: JSON.stringify({ ...config(), ports: [{ ...config().ports[0], mtu: 99999 }, config().ports[1]] }),
      type: 'application/json',
      status: 422,
      code: 'NFVGW_ERR_CONFIG_INVALID',
      detail: /\$\.ports\[0\]\.mtu/,
    },
    {
      name: 'a duplicate port name',
      body: JSON.stringify({
        ...config(),
        ports: [config().ports[0], { ...config().ports[1], name: 'lan' }],
      }),
      type: 'application/json',
      status: 422,
      code: 'NFVGW_ERR_CONFIG_INVALID',
      detail: /\$\.ports\[1\]\.name/,
    },
    {
      name: 'a dangling reference',
      body: stringify({ ...config(), routes: [{ destination: '10.9.0.0/16', port: 'nope' }] }),
      status: 422,
      code: 'NFVGW_ERR_CONFIG_INVALID',
      detail: /\$\.routes\[0\]\.port/,
    },
    {
      name: 'a body over the limit',
      body: `# ${'x'.repeat(17 << 20)}\n`,
      status: 413,
      code: 'NFVGW_ERR_BODY_TOO_LARGE',
      detail: /^$/,
    },
    {
      name: 'no Content-Type',
      body: 'hugepages: off\n',
      type: null,
      status: 415,
      code: 'NFVGW_ERR_UNSUPPORTED_MEDIA_TYPE',
      detail: /^$/,
    },
  ];
  it.each(cases)('PUT /v1/config with $name: $status $code', async (c) => {
    const r = await call(gw.api, 'PUT', '/v1/config', { token: ADMIN, body: c.body, type: c.type });
    expect(r.status, r.body).toBe(c.status);
    const e = r.json().error as unknown as {
      code: string;
      message: string;
      details: { path: string; message: string }[];
    };
    expect(e.code).toBe(c.code);
    expect(e.message).not.toMatch(/undefined/);
    expect(e.details.map((d) => `${d.path} ${d.message}`).join('\n')).toMatch(c.detail);
  });

  it('refuses a repeated or unknown query parameter instead of failing', async () => {
    const twice = await call(gw.api, 'GET', '/v1/routes/lookup?address=10.0.1.5&address=192.0.2.7', {
      token: ADMIN,
    });
    expect(twice.status).toBe(400);
    expect(twice.json().error).toMatchObject({ code: 'NFVGW_ERR_BAD_REQUEST', message: 'give address once' });
    const unknown = await call(gw.api, 'GET', '/v1/routes/lookup?address=10.0.1.5&colour=red', {
      token: ADMIN,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json().error.message).toMatch(/unknown parameter colour/);
    const ok = await call(gw.api, 'GET', '/v1/routes/lookup?address=10.0.1.5', { token: ADMIN });
    expect(ok.status).toBe(200);
  });

  it('is still at generation 1', async () => {
    const s = await call(gw.api, 'GET', '/v1/status', { token: ADMIN });
    expect((s.json() as unknown as { generation: number }).generation).toBe(1);
  });
});

describe('without a token (mem ports)', () => {
  it('is open on loopback as before, and warns that it is', async () => {
    const gw = await startGatewayProcess(configPath, { env: CLEAN_ENV });
    try {
      expect(await gw.waitForLog((l) => l.msg === 'API access')).toMatchObject({
        adminToken: 'none',
        metrics: 'open',
      });
      expect(gw.logs.some((l) => l.level === 40 && String(l.msg).includes('the API has no token'))).toBe(
        true,
      );
      expect((await call(gw.api, 'GET', '/v1/status')).status).toBe(200);
      // A token nobody asked for is ignored.
      expect((await call(gw.api, 'GET', '/v1/status', { token: WRONG })).status).toBe(200);
      const r = await call(gw.api, 'PUT', '/v1/config', { body: readFileSync(nextPath, 'utf8') });
      expect(r.json()).toMatchObject({ generation: 2, changed: true });
      expect((await cli('status', '--api', gw.listen)).code).toBe(0);
      const m = await call(gw.api, 'GET', '/metrics');
      expect(sample(m.body, 'nfvgw_api_auth_failures_total{reason="missing"}')).toBe(0);
    } finally {
      await stop(gw);
    }
  });
});

describe('over HTTPS, the admin token from NFVGW_TOKEN, public metrics (mem ports)', () => {
  let gw: GatewayProcess;
  let https: string;
  let ca: string;

  beforeAll(async () => {
    ca = readFileSync(cert, 'utf8');
    gw = await startGatewayProcess(configPath, {
      args: ['--tls-cert', cert, '--tls-key', key, '--public-metrics'],
      env: { ...CLEAN_ENV, NFVGW_TOKEN: ADMIN },
    });
    https = `https://${gw.listen}`;
  });
  afterAll(() => stop(gw));

  it('serves HTTPS and says so', async () => {
    const listening = await gw.waitForLog((l) => l.msg === 'API listening');
    expect(listening.api).toBe(https);
    expect(await gw.waitForLog((l) => l.msg === 'API access')).toMatchObject({
      adminToken: 'NFVGW_TOKEN',
      readToken: 'none',
      metrics: 'open',
      tls: cert,
    });
    const r = await call(https, 'GET', '/healthz', { ca });
    expect(r.status).toBe(200);
    // Plain HTTP gets no answer, and an unknown certificate is refused by the client.
    await expect(call(`http://${gw.listen}`, 'GET', '/healthz')).rejects.toThrow();
    await expect(call(https, 'GET', '/healthz')).rejects.toThrow(/self.signed/);
  });

  it('checks tokens as over HTTP; /metrics needs none', async () => {
    const none = await call(https, 'PUT', '/v1/config', { ca, body: stringify(config()) });
    expect(none.status).toBe(401);
    expect(none.json().error.code).toBe('NFVGW_ERR_UNAUTHORIZED');
    expect((await call(https, 'GET', '/v1/status', { ca })).status).toBe(401);
    expect((await call(https, 'GET', '/v1/status', { ca, token: ADMIN })).status).toBe(200);
    const m = await call(https, 'GET', '/metrics', { ca });
    expect(m.status).toBe(200);
    expect(sample(m.body, 'nfvgw_api_auth_failures_total{reason="missing"}')).toBe(2);
    expect(sample(m.body, 'nfvgw_api_auth_failures_total{reason="read_only"}')).toBe(0);
  });

  it('the CLI speaks HTTPS with --ca or NFVGW_CA, and says what is wrong without', async () => {
    const ok = await cli(
      'apply',
      '--api',
      https,
      '--ca',
      cert,
      '--token-file',
      adminFile,
      '--config',
      nextPath,
    );
    expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: 'applied: generation 2\n' });
    const env = await cliWith(
      { env: { ...CLEAN_ENV, NFVGW_CA: cert, NFVGW_TOKEN: ADMIN } },
      'status',
      '--api',
      https,
      '--json',
    );
    expect(env.code, env.stderr).toBe(0);
    expect(JSON.parse(env.stdout)).toMatchObject({ generation: 2 });

    const untrusted = await cli('status', '--api', https, '--token-file', adminFile);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /NFVGW_ERR_UNAVAILABLE: .*certificate this CLI does not trust.*--ca FILE/,
    );
    const plain = await cli('status', '--api', gw.listen, '--token-file', adminFile);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`give --api ${https}`);
    const noToken = await cli('status', '--api', https, '--ca', cert);
    expect(noToken.stderr).toContain('NFVGW_ERR_UNAUTHORIZED');
  });
});

describe('starts it refuses, before anything is opened', () => {
  // `nfvgw run` should exit at once; 20 s is far more than it needs.
  const run = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    cliWith(
      { env: { ...CLEAN_ENV, ...env }, timeoutMs: 20_000 },
      'run',
      '--config',
      configPath,
      '--log-format',
      'json',
      ...args,
    );
  const refusedStart = async (r: { code: number; stdout: string; stderr: string }, message: RegExp) => {
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^nfvgw: NFVGW_ERR_API_SETUP: /);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).not.toContain('gateway started');
    expect(r.stdout).not.toContain('API listening');
  };

  it('a non-loopback address without an admin token', async () => {
    const port = await freePort();
    await refusedStart(
      await run({}, '--api', `0.0.0.0:${port}`),
      /listen on 0\.0\.0\.0, not a loopback address/,
    );
    await refusedStart(await run({}, '--api', `[::]:${port}`), /listen on ::, not a loopback address/);
    await refusedStart(
      await run({ NFVGW_READ_TOKEN: READ }, '--api', `0.0.0.0:${port}`),
      /read-only token \(NFVGW_READ_TOKEN\) needs an admin token too/,
    );
  });

  it('but listens on 0.0.0.0 with one, warning that the tokens go in clear text', async () => {
    const port = await freePort();
    const gw = await startGatewayProcess(configPath, {
      args: ['--api', `0.0.0.0:${port}`, '--token-file', adminFile],
      env: CLEAN_ENV,
    });
    try {
      expect(
        gw.logs.some(
          (l) => l.level === 40 && String(l.msg).includes('tokens cross the network in clear text'),
        ),
      ).toBe(true);
      const local = `http://127.0.0.1:${port}`;
      expect((await call(local, 'GET', '/v1/status')).status).toBe(401);
      expect((await call(local, 'GET', '/v1/status', { token: ADMIN })).status).toBe(200);
    } finally {
      await stop(gw);
    }
  });

  it('token files that are empty, unreadable, or not one token', async () => {
    const empty = join(dir, 'empty.token');
    writeFileSync(empty, '\n');
    await refusedStart(
      await run({}, '--token-file', empty),
      /--token-file .*empty\.token: the token is empty/,
    );
    await refusedStart(
      await run({}, '--token-file', join(dir, 'missing.token')),
      /missing\.token: cannot read the token \(ENOENT/,
    );
    await refusedStart(
      await run({}, '--token-file', adminFile, '--read-token-file', dir),
      /--read-token-file .*: cannot read the token \(EISDIR/,
    );
    const spaced = join(dir, 'spaced.token');
    writeFileSync(spaced, 'two words\n');
    await refusedStart(await run({}, '--token-file', spaced), /a space, a control or a non-ASCII character/);
    await refusedStart(
      await run({}, '--token-file', adminFile, '--read-token-file', adminFile),
      /read-only token .* is the admin token/,
    );
  });

  it('half a certificate, or a key that is not its key', async () => {
    await refusedStart(
      await run({ NFVGW_TOKEN: ADMIN }, '--tls-cert', cert),
      /needs both --tls-cert FILE and --tls-key FILE/,
    );
    await refusedStart(
      await run({ NFVGW_TOKEN: ADMIN, NFVGW_TLS_KEY: key }),
      /needs both --tls-cert FILE and --tls-key FILE/,
    );
    const other = join(dir, 'other-key.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', other]);
    await refusedStart(
      await run({ NFVGW_TOKEN: ADMIN }, '--tls-cert', cert, '--tls-key', other),
      /--tls-cert .*cert\.pem with --tls-key .*other-key\.pem: /,
    );
  });
});
