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

describe('resource endpoints', () => {
  const vpcDoc = (): ConfigInput => ({
    ports: [{ name: 'underlay', type: 'mem', addresses: ['192.168.100.1/24'] }],
    overlay: { port: 'underlay' },
    vpcs: [{ id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] }],
    subnets: [{ id: 'web', vpc: 'vpc-a', cidr: '10.1.2.0/24', routeTable: 'rt' }],
    routeTables: [{ id: 'rt', vpc: 'vpc-a' }],
    securityGroups: [{ id: 'sg', vpc: 'vpc-a' }],
    enis: [{ id: 'eni-1', subnet: 'web', mac: '02:00:00:00:00:01', ip: '10.1.2.11', securityGroups: ['sg'] }],
  });
  let g2: MemGateway;
  let api: ReturnType<typeof createApiServer>;
  beforeAll(async () => {
    g2 = MemGateway.start(vpcDoc());
    api = createApiServer(g2.svc, new MetricsExporter(g2.svc), silentLogger());
    await api.ready();
  });
  afterAll(async () => {
    await api?.close();
    g2?.close();
  });
  const req = (
    method: 'GET' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    api.inject({
      method,
      url,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    });

  it('lists a collection and reads one item', async () => {
    const list = await req('GET', '/v1/vpcs');
    expect(list.json()).toMatchObject({ items: [{ id: 'vpc-a', vni: 1001 }] });
    expect(list.headers.etag).toBe(`"${g2.svc.generation}"`);
    expect((await req('GET', '/v1/enis/eni-1')).json()).toMatchObject({ ip: '10.1.2.11' });
    expect((await req('GET', '/v1/enis/eni-9')).statusCode).toBe(404);
    expect((await req('GET', '/v1/widgets')).statusCode).toBe(404);
  });

  it('creates, replaces and deletes an item, each a new generation', async () => {
    const g = g2.svc.generation;
    const created = await req('PUT', '/v1/security-groups/sg-web', {
      vpc: 'vpc-a',
      inbound: [{ protocol: 'tcp', ports: 80, cidr: '0.0.0.0/0' }],
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ generation: g + 1, changed: true });
    const replaced = await req('PUT', '/v1/enis/eni-1', {
      subnet: 'web',
      mac: '02:00:00:00:00:01',
      ip: '10.1.2.11',
      securityGroups: ['sg', 'sg-web'],
    });
    expect(replaced.statusCode).toBe(200);
    expect(g2.svc.config.enis[0]!.securityGroups).toEqual(['sg', 'sg-web']);
    // Still referenced by the ENI: refused, with where.
    const refused = await req('DELETE', '/v1/security-groups/sg-web');
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.details[0].path).toMatch(/^\$\.enis\[0\]\.securityGroups/);
    expect(g2.svc.generation).toBe(g + 2);
    await req('PUT', '/v1/enis/eni-1', {
      subnet: 'web',
      mac: '02:00:00:00:00:01',
      ip: '10.1.2.11',
      securityGroups: ['sg'],
    });
    expect((await req('DELETE', '/v1/security-groups/sg-web')).statusCode).toBe(200);
    expect(g2.svc.config.securityGroups.map((s) => s.id)).toEqual(['sg']);
    expect((await req('DELETE', '/v1/security-groups/sg-web')).statusCode).toBe(404);
  });

  it('honours If-Match and dryRun, and refuses a body with another id', async () => {
    const g = g2.svc.generation;
    const stale = await req(
      'PUT',
      '/v1/vpcs/vpc-b',
      { vni: 1002, cidrs: ['10.2.0.0/16'] },
      { 'if-match': `"${g - 1}"` },
    );
    expect(stale.statusCode).toBe(412);
    const dry = await req('PUT', '/v1/vpcs/vpc-b?dryRun=true', { vni: 1002, cidrs: ['10.2.0.0/16'] });
    expect(dry.json()).toMatchObject({ dryRun: true, changes: [{ path: 'vpcs', added: ['vpc-b'] }] });
    expect(g2.svc.config.vpcs).toHaveLength(1);
    expect(
      (await req('PUT', '/v1/vpcs/vpc-b', { id: 'vpc-c', vni: 1002, cidrs: ['10.2.0.0/16'] })).statusCode,
    ).toBe(400);
    expect(g2.svc.generation).toBe(g);
  });
});

describe('GET /v1/openapi.json', () => {
  it("describes every collection from the validator's own schema, and every path it lists answers", async () => {
    const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    const lb = doc.components.schemas.LoadBalancersItem;
    expect(lb.required).toEqual(expect.arrayContaining(['id', 'vip', 'protocol', 'port', 'mode']));
    expect(lb.properties.mode.enum).toEqual(['dr', 'nat', 'fullnat', 'tunnel']);
    expect(doc.components.schemas.Config.properties.ports.minItems).toBe(1);
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      // A capture streams until its count or duration: api-tap.test.ts.
      if (!ops.get || path.includes('{') || path === '/v1/capture') continue;
      const url = path === '/v1/routes/lookup' ? `${path}?address=10.0.1.5` : path;
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, path).toBeLessThan(400);
    }
    expect(Object.keys(doc.paths)).toContain('/v1/load-balancers/{id}');
    expect(Object.keys(doc.paths)).toContain('/v1/route-tables/{id}/routes/{prefix}/{length}');
    expect(doc.components.schemas.VpcRoute.required).toEqual(['destination', 'target']);
  });
});
