// The REST API an SDN controller (or the CLI) drives the gateway with.
// Every route calls the same GatewayService functions as the CLI; errors
// come back as { error: { code, message, details } } with the status from
// the error catalogue. With tokens configured (auth.ts), every request is
// checked before its body is read; with a certificate, it is HTTPS.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import { parseConfigText } from '../config/load.js';
import { ERRORS, NfvgwError } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import type { MetricsExporter } from '../metrics/metrics.js';
import type { ApplyOptions, FlowQuery, GatewayService } from '../service/gateway-service.js';
import { type ApiAuth, AUTH_FAILURES, refusal, requiredAccess, TokenChecker } from './auth.js';
import { openApiDocument } from './openapi.js';
import { registerResources } from './resources.js';
import { registerTapRoutes } from './tap.js';

export interface ApiOptions {
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** A worker whose last loop iteration is older than this is reported stalled by /healthz. */
  stallMs?: number;
  /** Tokens: without them the API is open (and run.ts keeps it on loopback). */
  auth?: ApiAuth;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

export function createApiServer(
  svc: GatewayService,
  metrics: MetricsExporter,
  log: Logger,
  opts: ApiOptions = {},
): FastifyInstance {
  const common = {
    bodyLimit: opts.bodyLimit ?? 16 << 20,
    logger: false, // requests are logged by the error handler, and only when refused
    return503OnClosing: true,
  };
  // The HTTPS instance is typed for https.Server; the routes do not care.
  const app = (opts.tls
    ? Fastify({ ...common, https: opts.tls })
    : Fastify(common)) as unknown as FastifyInstance;
  const stallMs = opts.stallMs ?? 5000;

  // Access control runs first (onRequest), so nobody without a token gets a
  // body parsed or learns which routes exist.
  for (const reason of AUTH_FAILURES) metrics.apiAuthFailures.inc({ reason }, 0);
  if (opts.auth) {
    const checker = new TokenChecker(opts.auth);
    const publicMetrics = opts.auth.publicMetrics ?? false;
    app.addHook('onRequest', async (req, reply) => {
      const result = checker.check(
        req.headers.authorization,
        requiredAccess(req.method, req.url, publicMetrics),
      );
      if (result.ok) return;
      const { error, challenge } = refusal(result.reason, req.method);
      metrics.apiAuthFailures.inc({ reason: result.reason });
      // Never the header: it holds the token, right or wrong.
      log.warn(
        {
          code: error.code,
          reason: result.reason,
          method: req.method,
          path: req.url.split('?')[0],
          remoteAddress: req.ip,
        },
        `API request refused: ${error.message}`,
      );
      return reply.status(error.status).header('www-authenticate', challenge).send({ error: error.toJSON() });
    });
  }

  // JSON and YAML bodies go through the same parser, so both get errors with
  // line and column.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', ...YAML_TYPES], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseConfigText(String(body), 'request body'));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.setErrorHandler((e: FastifyError | NfvgwError, req, reply) => {
    let err: NfvgwError;
    if (e instanceof NfvgwError) err = e;
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      err = new NfvgwError(
        'NFVGW_ERR_BODY_TOO_LARGE',
        `the body is larger than ${app.initialConfig.bodyLimit} bytes`,
      );
    else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      err = new NfvgwError(
        'NFVGW_ERR_UNSUPPORTED_MEDIA_TYPE',
        req.headers['content-type']
          ? `send application/json or application/yaml, not ${req.headers['content-type']}`
          : 'send the body with Content-Type application/json or application/yaml',
      );
    else if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_BODY')
      err = new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'the request body is empty');
    else if (typeof e.statusCode === 'number' && e.statusCode < 500)
      err = new NfvgwError('NFVGW_ERR_BAD_REQUEST', e.message);
    else err = NfvgwError.from(e);
    if (err.status >= 500) log.error({ err, url: req.url }, 'API request failed');
    else
      log.info({ code: err.code, url: req.url, method: req.method }, `API request refused: ${err.message}`);
    reply.status(err.status).send({ error: err.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new NfvgwError('NFVGW_ERR_NOT_FOUND', `no route ${req.method} ${req.url}`);
    reply.status(err.status).send({ error: err.toJSON() });
  });

  app.get('/healthz', async (_req, reply) => {
    if (svc.dataplane.closed) return reply.status(503).send({ status: 'stopped' });
    const s = svc.stats();
    const stalled = s.workers.filter((w) => w.heartbeatAgeMs > stallMs).map((w) => w.id);
    if (stalled.length) return reply.status(503).send({ status: 'stalled', workers: stalled });
    return { status: 'ok', generation: svc.generation };
  });

  app.get('/v1/status', async () => svc.status());

  // The generation is the configuration's ETag: a controller sends it back
  // in If-Match to change only what it read (optimistic concurrency).
  app.get('/v1/config', async (req, reply) => {
    reply.header('etag', `"${svc.generation}"`).header('x-nfvgw-generation', svc.generation);
    const accept = req.headers.accept ?? '';
    if (YAML_TYPES.some((t) => accept.includes(t))) {
      return reply.type('application/yaml').send(stringify(svc.config));
    }
    return reply.send(svc.config);
  });

  app.put<{ Querystring: Record<string, unknown> }>('/v1/config', async (req, reply) => {
    if (req.body === undefined || req.body === null)
      throw new NfvgwError(
        'NFVGW_ERR_BAD_REQUEST',
        'PUT /v1/config needs the whole configuration as its body',
      );
    const result = await svc.replaceConfig(req.body, applyOptions(req));
    return reply.header('etag', `"${result.generation}"`).send(result);
  });

  app.get('/v1/routes', async () => ({ routes: svc.routes() }));
  app.get<{ Querystring: Record<string, unknown> }>('/v1/routes/lookup', async (req) => {
    const { address, routeTable, ...rest } = req.query;
    const unknown = Object.keys(rest);
    if (unknown.length)
      throw new NfvgwError(
        'NFVGW_ERR_BAD_REQUEST',
        `unknown parameter ${unknown[0]}; there are: address, routeTable`,
      );
    if (Array.isArray(address)) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'give address once');
    if (Array.isArray(routeTable)) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'give routeTable once');
    if (typeof address !== 'string' || !address)
      throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'give ?address=a.b.c.d');
    // With routeTable: the VPC route table's answer; without: the gateway's own.
    if (typeof routeTable === 'string' && routeTable) return svc.vpcRouteLookup(routeTable, address);
    return svc.routeLookup(address);
  });
  app.get('/v1/neighbors', async () => ({ neighbors: svc.neighbors() }));
  app.get('/v1/lb', async () => ({ loadBalancers: svc.loadBalancers() }));
  app.get<{ Querystring: Record<string, unknown> }>('/v1/flows', async (req) =>
    svc.flows(flowQuery(req.query)),
  );
  app.delete<{ Querystring: Record<string, unknown> }>('/v1/flows', async (req) =>
    svc.flushFlows(flowQuery(req.query)),
  );
  app.get('/v1/errors', async () => ({ errors: ERRORS }));
  const openApi = openApiDocument();
  app.get('/v1/openapi.json', async () => openApi);
  registerTapRoutes(app, svc);

  // After every fixed path: /v1/<collection>[/<id>] for the configuration's lists.
  registerResources(app, svc, applyOptions);

  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });

  return app;
}

/** What a change asks for: ?dryRun=true, and If-Match with a generation. */
function applyOptions(req: FastifyRequest): ApplyOptions {
  const { dryRun, ...rest } = req.query as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length)
    throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `unknown parameter ${unknown[0]}; there is: dryRun`);
  if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false')
    throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'dryRun: give true or false');
  return { dryRun: dryRun === 'true', ifGeneration: ifMatch(req.headers['if-match']) };
}

/** The generation an If-Match header names (`"N"`, `N`, or `*` for any), or undefined. */
function ifMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (!m) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `If-Match: ${header} is not a generation like "12"`);
  return Number(m[1]);
}

/** The filters of /v1/flows from a query string; unknown parameters are an error, not ignored. */
function flowQuery(q: Record<string, unknown>): FlowQuery {
  const known = ['vpc', 'ip', 'port', 'protocol', 'state', 'limit'];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) {
    if (!known.includes(k))
      throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `unknown filter ${k}; there are: ${known.join(', ')}`);
    if (typeof v !== 'string') throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', `give ${k} once`);
    out[k] = v;
  }
  return out;
}

/** Parses "host:port" (the --api flag); the default is 127.0.0.1:9180. */
export function parseListen(text: string | undefined): { host: string; port: number } {
  const value = text ?? '127.0.0.1:9180';
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port < 1 || port > 65535)
    throw new NfvgwError(
      'NFVGW_ERR_BAD_REQUEST',
      `--api wants HOST:PORT (like 127.0.0.1:9180), not ${value}`,
    );
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
}
