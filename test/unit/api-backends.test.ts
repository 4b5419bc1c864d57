// A load balancer's backends as resources of their own: added, drained
// (weight 0), read and removed without sending the whole service, each a
// new generation through the same validation as the whole document. A real
// gateway on in-memory ports behind the real API; the data plane's view
// (GET /v1/lb) follows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { MetricsExporter } from '../../src/metrics/metrics.js';
import { MemGateway } from '../support/mem-gateway.js';

let gw: MemGateway;
let app: ReturnType<typeof createApiServer>;
beforeAll(async () => {
  gw = MemGateway.start({
    ports: [
      { name: 'a', type: 'mem', addresses: ['10.0.1.1/24'] },
      { name: 'b', type: 'mem', addresses: ['10.0.2.1/24'] },
    ],
    loadBalancers: [
      {
        id: 'web',
        vip: '10.0.9.1',
        protocol: 'tcp',
        port: 80,
        mode: 'nat',
        backends: [{ ip: '10.0.2.10' }, { ip: '10.0.2.11', port: 8080 }],
      },
    ],
  });
  app = createApiServer(gw.svc, new MetricsExporter(gw.svc), silentLogger());
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  gw?.close();
});

const put = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'PUT',
    url,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
const weights = async () =>
  Object.fromEntries(
    (await app.inject({ method: 'GET', url: '/v1/lb' }))
      .json()
      .loadBalancers[0].backends.map((b: { ip: string; port: number; weight: number }) => [
        `${b.ip}:${b.port}`,
        b.weight,
      ]),
  );

describe('/v1/load-balancers/<id>/backends/<address>[:<port>]', () => {
  it('adds a backend (201), drains it with weight 0, reads it and removes it, each a new generation', async () => {
    const g = gw.svc.generation;
    let r = await put('/v1/load-balancers/web/backends/10.0.2.12:8081', { weight: 3 });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ generation: g + 1, changed: true });
    expect(await weights()).toEqual({ '10.0.2.10:80': 1, '10.0.2.11:8080': 1, '10.0.2.12:8081': 3 });
    r = await put(
      '/v1/load-balancers/web/backends/10.0.2.12:8081',
      { weight: 0 },
      { 'if-match': `"${g + 1}"` },
    );
    expect(r.statusCode).toBe(200);
    expect((await weights())['10.0.2.12:8081']).toBe(0);
    r = await app.inject({ method: 'GET', url: '/v1/load-balancers/web/backends/10.0.2.12:8081' });
    expect(r.json()).toEqual({ ip: '10.0.2.12', port: 8081, weight: 0 });
    // Without a port: the service's (80).
    r = await app.inject({ method: 'GET', url: '/v1/load-balancers/web/backends/10.0.2.10' });
    expect(r.json()).toEqual({ ip: '10.0.2.10', weight: 1 });
    r = await app.inject({ method: 'DELETE', url: '/v1/load-balancers/web/backends/10.0.2.12:8081' });
    expect(r.json()).toEqual({ generation: g + 3, changed: true });
    expect(await weights()).toEqual({ '10.0.2.10:80': 1, '10.0.2.11:8080': 1 });
  });

  it('refuses what the validator refuses, with the path of the backend, and changes nothing', async () => {
    const g = gw.svc.generation;
    let r = await put('/v1/load-balancers/web/backends/10.0.2.13', { weight: 20_000 });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details[0].path).toBe('$.loadBalancers[0].backends[2].weight');
    r = await put('/v1/load-balancers/web/backends/10.0.2.13', { weight: 1, colour: 'red' });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details).toEqual([
      { path: '$.loadBalancers[0].backends[2].colour', message: 'unknown field' },
    ]);
    r = await put('/v1/load-balancers/web/backends/10.0.2.13', { ip: '10.0.2.14' });
    expect(r.statusCode).toBe(400);
    r = await put('/v1/load-balancers/web/backends/not-an-address', {});
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toContain('not a backend address');
    r = await put('/v1/load-balancers/nope/backends/10.0.2.13', {});
    expect(r.statusCode).toBe(404);
    r = await app.inject({ method: 'DELETE', url: '/v1/load-balancers/web/backends/10.0.2.99' });
    expect(r.statusCode).toBe(404);
    r = await put('/v1/load-balancers/web/backends/10.0.2.13', { weight: 1 }, { 'if-match': `"${g - 1}"` });
    expect(r.statusCode).toBe(412);
    expect(gw.svc.generation).toBe(g);
  });
});
