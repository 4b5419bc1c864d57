// PUT /v1/config as a controller uses it: the generation as ETag,
// If-Match for optimistic concurrency (two controllers cannot overwrite
// each other unnoticed), and ?dryRun=true to see what would change with
// nothing applied. A real gateway on in-memory ports behind the real API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { MetricsExporter } from '../../src/metrics/metrics.js';
import { MemGateway } from '../support/mem-gateway.js';

const base = (): ConfigInput => ({
  ports: [
    { name: 'a', type: 'mem', addresses: ['10.0.1.1/24'] },
    { name: 'b', type: 'mem', addresses: ['10.0.2.1/24'] },
  ],
  routes: [{ destination: '10.9.0.0/16', via: '10.0.2.254' }],
});

let gw: MemGateway;
let app: ReturnType<typeof createApiServer>;
beforeAll(async () => {
  gw = MemGateway.start(base());
  app = createApiServer(gw.svc, new MetricsExporter(gw.svc), silentLogger());
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  gw?.close();
});

const put = (body: unknown, headers: Record<string, string> = {}, query = '') =>
  app.inject({
    method: 'PUT',
    url: `/v1/config${query}`,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('PUT /v1/config for controllers', () => {
  it('gives the generation as ETag', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/config' });
    expect(r.headers.etag).toBe(`"${gw.svc.generation}"`);
  });

  it('reports what a dry run would change, and applies nothing', async () => {
    const before = gw.svc.generation;
    const next = { ...base(), routes: [{ destination: '10.8.0.0/16', via: '10.0.2.254' }] };
    const r = await put(next, {}, '?dryRun=true');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      generation: before,
      changed: true,
      dryRun: true,
      changes: [{ path: 'routes', added: ['10.8.0.0/16'], removed: ['10.9.0.0/16'] }],
    });
    expect(gw.svc.generation).toBe(before);
    expect(gw.svc.config.routes[0]!.destination).toBe('10.9.0.0/16');
  });

  it('refuses an invalid document in a dry run too, with its path', async () => {
    const r = await put({ ...base(), routes: [{ destination: '10.8.0.0/33' }] }, {}, '?dryRun=true');
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details[0].path).toBe('$.routes[0].destination');
  });

  it('applies with the current generation in If-Match, and refuses a stale one with 412', async () => {
    const g = gw.svc.generation;
    const first = await put({ ...base(), routes: [] }, { 'if-match': `"${g}"` });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ generation: g + 1, changed: true });
    expect(first.headers.etag).toBe(`"${g + 1}"`);
    // A second controller that read generation g too.
    const second = await put(base(), { 'if-match': `"${g}"` });
    expect(second.statusCode).toBe(412);
    expect(second.json().error.code).toBe('NFVGW_ERR_PRECONDITION_FAILED');
    expect(gw.svc.generation).toBe(g + 1);
    expect(gw.svc.config.routes).toEqual([]);
    // Without If-Match (or with *), the last writer wins as before.
    expect((await put(base(), { 'if-match': '*' })).statusCode).toBe(200);
  });

  it('refuses a malformed If-Match and unknown parameters', async () => {
    expect((await put(base(), { 'if-match': 'yesterday' })).statusCode).toBe(400);
    expect((await put(base(), {}, '?dry=true')).statusCode).toBe(400);
  });
});
