// Resource endpoints next to the whole document: each list of the
// configuration whose items have an id (VPCs, subnets, ENIs, route tables,
// security groups, NAT gateways, load balancers, ...) can be read, and an
// item created, replaced or deleted on its own:
//
//   GET    /v1/<collection>            the items, with the generation as ETag
//   GET    /v1/<collection>/<id>       one item
//   PUT    /v1/<collection>/<id>       create or replace it
//   DELETE /v1/<collection>/<id>       remove it
//
// A change is the running document with that item changed, applied as
// PUT /v1/config applies one: validated whole (a dangling reference anywhere
// refuses it), compiled, swapped in atomically, with a new generation;
// If-Match and ?dryRun=true work the same. One path for every change.
//
// Except one: a route table may hold 100 000 routes, and a controller moves
// them one at a time. Each route is a resource of its own,
//
//   GET    /v1/route-tables/<id>/routes/<prefix>/<length>
//   PUT    /v1/route-tables/<id>/routes/<prefix>/<length>   {"target": ...}
//   DELETE /v1/route-tables/<id>/routes/<prefix>/<length>
//
// checked with the same per-route check and applied to the running tables
// by building only that table again (GatewayService.setRoute), in
// milliseconds instead of a whole document's third of a second.
//
// And the backends of a load balancer, so that a controller can add one,
// drain one (weight 0) and remove it without sending the whole service:
//
//   GET    /v1/load-balancers/<id>/backends/<address>[:<port>]
//   PUT    /v1/load-balancers/<id>/backends/<address>[:<port>]   {"weight": N}
//   DELETE /v1/load-balancers/<id>/backends/<address>[:<port>]
//
// (the port where the mode has backend ports: nat, fullnat), applied as the
// document with that backend changed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { backendKey } from '../config/compile-lb.js';
import type { Config } from '../config/schema.js';
import { NfvgwError } from '../core/errors.js';
import type { ApplyOptions, GatewayService } from '../service/gateway-service.js';

/** URL name -> the configuration's list. */
export const COLLECTIONS = {
  vpcs: 'vpcs',
  subnets: 'subnets',
  enis: 'enis',
  'route-tables': 'routeTables',
  peerings: 'peerings',
  'transit-gateways': 'transitGateways',
  'network-acls': 'networkAcls',
  'security-groups': 'securityGroups',
  'nat-gateways': 'natGateways',
  eips: 'eips',
  'load-balancers': 'loadBalancers',
} as const satisfies Record<string, keyof Config>;

type Item = { id: string };
type Params = { collection: string; id?: string };

export function registerResources(
  app: FastifyInstance,
  svc: GatewayService,
  applyOptions: (req: FastifyRequest) => ApplyOptions,
): void {
  const listOf = (collection: string): keyof Config => {
    const key = COLLECTIONS[collection as keyof typeof COLLECTIONS];
    if (!key)
      throw new NfvgwError(
        'NFVGW_ERR_NOT_FOUND',
        `no collection ${collection}; there are ${Object.keys(COLLECTIONS).join(', ')}`,
      );
    return key;
  };
  const items = (config: Config, key: keyof Config) => config[key] as unknown as readonly Item[];
  const etag = (reply: FastifyReply, generation: number) => reply.header('etag', `"${generation}"`);
  const notFound = (collection: string, id: string) =>
    new NfvgwError('NFVGW_ERR_NOT_FOUND', `no ${collection} item has the id ${id}`);
  const change = async (req: FastifyRequest, reply: FastifyReply, next: Item[], key: keyof Config) => {
    const result = await svc.replaceConfig({ ...svc.config, [key]: next }, applyOptions(req));
    return etag(reply, result.generation).send(result);
  };

  type RouteParams = { id: string; prefix: string; length: string };
  const routeOf = (p: RouteParams) => `${p.prefix}/${p.length}`;
  const routePath = '/v1/route-tables/:id/routes/:prefix/:length';
  app.get<{ Params: RouteParams }>(routePath, async (req, reply) => {
    const table = svc.config.routeTables.find((t) => t.id === req.params.id);
    if (!table) throw notFound('route-tables', req.params.id);
    const destination = routeOf(req.params);
    const route = table.routes.find((r) => r.destination === destination);
    if (!route) throw new NfvgwError('NFVGW_ERR_NOT_FOUND', `${table.id} has no route to ${destination}`);
    return etag(reply, svc.generation).send(route);
  });
  app.put<{ Params: RouteParams }>(routePath, async (req, reply) => {
    const destination = routeOf(req.params);
    const body = req.body as Record<string, unknown> | null | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof body.target !== 'string')
      throw new NfvgwError(
        'NFVGW_ERR_BAD_REQUEST',
        `PUT /v1/route-tables/${req.params.id}/routes/${destination} needs {"target": "..."} as its body`,
      );
    const extra = Object.keys(body).filter((k) => k !== 'target' && k !== 'destination');
    if (extra.length) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `unknown field ${extra[0]} in the route`);
    if (body.destination !== undefined && body.destination !== destination)
      throw new NfvgwError(
        'NFVGW_ERR_BAD_REQUEST',
        `the body's destination ${String(body.destination)} is not ${destination}`,
      );
    const result = await svc.setRoute(
      { routeTable: req.params.id, destination, target: body.target },
      applyOptions(req),
    );
    return etag(reply, result.generation).send(result);
  });
  app.delete<{ Params: RouteParams }>(routePath, async (req, reply) => {
    const result = await svc.setRoute(
      { routeTable: req.params.id, destination: routeOf(req.params), target: null },
      applyOptions(req),
    );
    return etag(reply, result.generation).send(result);
  });

  type BackendParams = { id: string; backend: string };
  const backendPath = '/v1/load-balancers/:id/backends/:backend';
  // The service, the backend the path names (ip, and port when given), and
  // the index of the backend it matches.
  const backendOf = (p: BackendParams) => {
    const lbs = svc.config.loadBalancers;
    const at = lbs.findIndex((x) => x.id === p.id);
    if (at < 0) throw notFound('load-balancers', p.id);
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(p.backend);
    if (!m)
      throw new NfvgwError(
        'NFVGW_ERR_BAD_REQUEST',
        `${p.backend} is not a backend address, like 10.0.0.1 or 10.0.0.1:8080`,
      );
    const named = { ip: m[1]!, ...(m[2] ? { port: Number(m[2]) } : {}) };
    const lb = lbs[at]!;
    const key = backendKey(lb, named);
    return { lbs, at, lb, named, index: lb.backends.findIndex((b) => backendKey(lb, b) === key) };
  };
  const changeBackends = async (
    req: FastifyRequest,
    reply: FastifyReply,
    b: ReturnType<typeof backendOf>,
    backends: unknown[],
  ) => {
    const next = b.lbs.map((x, i) => (i === b.at ? { ...x, backends } : x)) as unknown as Item[];
    return change(req, reply, next, 'loadBalancers');
  };
  app.get<{ Params: BackendParams }>(backendPath, async (req, reply) => {
    const b = backendOf(req.params);
    if (b.index < 0) throw notFound(`load-balancers/${b.lb.id}/backends`, req.params.backend);
    return etag(reply, svc.generation).send(b.lb.backends[b.index]);
  });
  app.put<{ Params: BackendParams }>(backendPath, async (req, reply) => {
    const b = backendOf(req.params);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body))
      throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'a backend body is an object, like {"weight": 2}');
    for (const k of ['ip', 'port'] as const)
      if (body[k] !== undefined && body[k] !== (b.named as Record<string, unknown>)[k])
        throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `the body's ${k} ${String(body[k])} is not the path's`);
    const item = { ...body, ...b.named };
    const backends =
      b.index < 0 ? [...b.lb.backends, item] : b.lb.backends.map((x, i) => (i === b.index ? item : x));
    if (b.index < 0) reply.status(201);
    return changeBackends(req, reply, b, backends);
  });
  app.delete<{ Params: BackendParams }>(backendPath, async (req, reply) => {
    const b = backendOf(req.params);
    if (b.index < 0) throw notFound(`load-balancers/${b.lb.id}/backends`, req.params.backend);
    return changeBackends(
      req,
      reply,
      b,
      b.lb.backends.filter((_, i) => i !== b.index),
    );
  });

  app.get<{ Params: Params }>('/v1/:collection', async (req, reply) => {
    const key = listOf(req.params.collection);
    return etag(reply, svc.generation).send({ items: items(svc.config, key), generation: svc.generation });
  });

  app.get<{ Params: Params }>('/v1/:collection/:id', async (req, reply) => {
    const { collection, id } = req.params as Required<Params>;
    const item = items(svc.config, listOf(collection)).find((x) => x.id === id);
    if (!item) throw notFound(collection, id);
    return etag(reply, svc.generation).send(item);
  });

  app.put<{ Params: Params }>('/v1/:collection/:id', async (req, reply) => {
    const { collection, id } = req.params as Required<Params>;
    const key = listOf(collection);
    const body = req.body as Record<string, unknown> | null | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `PUT /v1/${collection}/${id} needs the item as its body`);
    if (body.id !== undefined && body.id !== id)
      throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `the body's id ${String(body.id)} is not ${id}`);
    const item = { ...body, id } as Item;
    const current = items(svc.config, key);
    const at = current.findIndex((x) => x.id === id);
    const next = at < 0 ? [...current, item] : current.map((x, i) => (i === at ? item : x));
    if (at < 0) reply.status(201);
    return change(req, reply, next, key);
  });

  app.delete<{ Params: Params }>('/v1/:collection/:id', async (req, reply) => {
    const { collection, id } = req.params as Required<Params>;
    const key = listOf(collection);
    const current = items(svc.config, key);
    if (!current.some((x) => x.id === id)) throw notFound(collection, id);
    return change(
      req,
      reply,
      current.filter((x) => x.id !== id),
      key,
    );
  });
}
