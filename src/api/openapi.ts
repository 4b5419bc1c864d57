// The API described as OpenAPI 3.1, served at GET /v1/openapi.json. The
// schemas come from the same zod schema the validator uses (one source of
// truth): the configuration document, and each collection's item as that
// document's list items.
import { z } from 'zod';
import { ConfigSchema } from '../config/schema.js';
import { ERRORS } from '../core/errors.js';
import { COLLECTIONS } from './resources.js';

const json = (schema: object, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = json(ref('Error'), 'refused: see the error catalogue (GET /v1/errors)');
const changeParams = [
  {
    name: 'dryRun',
    in: 'query',
    schema: { type: 'boolean' },
    description: 'validate and report, apply nothing',
  },
  {
    name: 'If-Match',
    in: 'header',
    schema: { type: 'string' },
    description: 'apply only at this generation ("N")',
  },
];
const apply = {
  200: json(ref('ApplyResult')),
  400: error,
  401: error,
  403: error,
  412: error,
  422: error,
};
const get = (summary: string, schema: object = { type: 'object' }) => ({
  get: { summary, responses: { 200: json(schema) } },
});

export function openApiDocument(): object {
  const config = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete config.$schema;
  const paths: Record<string, object> = {
    '/healthz': get('liveness: ok, or 503 when stopped or a worker stalled'),
    '/v1/status': get('ports, workers, drops, connection table, NAT ports'),
    '/v1/config': {
      get: {
        summary: 'the running configuration (ETag: its generation)',
        responses: { 200: json(ref('Config')) },
      },
      put: {
        summary: 'replace it whole, atomically',
        parameters: changeParams,
        requestBody: { content: { 'application/json': { schema: ref('Config') }, 'application/yaml': {} } },
        responses: apply,
      },
    },
    '/v1/routes': get('the compiled route table'),
    '/v1/routes/lookup': get(
      "the route one address takes (?address=), in the gateway's table or, with ?routeTable=ID, in a VPC route table",
    ),
    '/v1/route-tables/{id}/routes/{prefix}/{length}': {
      parameters: ['id', 'prefix', 'length'].map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      get: {
        summary: 'one route of a VPC route table',
        responses: { 200: json(ref('VpcRoute')), 404: error },
      },
      put: {
        summary: 'set one route (added, or its target replaced), applied in milliseconds',
        parameters: changeParams,
        requestBody: {
          content: {
            'application/json': {
              schema: { type: 'object', properties: { target: { type: 'string' } }, required: ['target'] },
            },
          },
        },
        responses: { ...apply, 404: error },
      },
      delete: { summary: 'remove one route', parameters: changeParams, responses: { ...apply, 404: error } },
    },
    '/v1/load-balancers/{id}/backends/{backend}': {
      parameters: ['id', 'backend'].map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
        ...(name === 'backend' ? { description: 'address, or address:port (nat, fullnat)' } : {}),
      })),
      get: {
        summary: 'one backend of a load balancer',
        responses: { 200: json({ type: 'object' }), 404: error },
      },
      put: {
        summary: 'add (201) or change one backend ({"weight": N}; 0 drains it)',
        parameters: changeParams,
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { ...apply, 201: json(ref('ApplyResult')), 404: error },
      },
      delete: {
        summary: 'remove one backend',
        parameters: changeParams,
        responses: { ...apply, 404: error },
      },
    },
    '/v1/trace': {
      post: {
        summary:
          'trace the next packets that match a filter through the stages: {filter: {port, src, dst, protocol, sport, dport, vni}, count, timeoutMs}',
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 200: json({ type: 'object' }), 400: error, 401: error, 403: error, 409: error },
      },
    },
    '/v1/capture': {
      get: {
        summary:
          'a pcap of the frames a port receives and sends (?port, direction, count, duration, snaplen and the trace filter fields), streamed',
        responses: {
          200: { description: 'OK', content: { 'application/vnd.tcpdump.pcap': {} } },
          400: error,
          401: error,
          403: error,
          409: error,
        },
      },
    },
    '/v1/neighbors': get('ARP neighbors'),
    '/v1/lb': get('load balancers: each backend with its health and counters'),
    '/v1/flows': {
      ...get('tracked connections (?vpc, ip, port, protocol, state, limit)'),
      delete: {
        summary: 'remove the tracked connections matching the same filters',
        responses: { 200: json({}) },
      },
    },
    '/v1/errors': get('the error catalogue'),
    '/v1/openapi.json': get('this document'),
    '/metrics': {
      get: {
        summary: 'Prometheus text',
        responses: { 200: { description: 'OK', content: { 'text/plain': {} } } },
      },
    },
  };
  const schemas: Record<string, object> = {
    Config: config,
    ApplyResult: {
      type: 'object',
      properties: {
        generation: { type: 'integer' },
        changed: { type: 'boolean' },
        dryRun: { type: 'boolean' },
        changes: { type: 'array', items: { type: 'object' } },
      },
      required: ['generation', 'changed'],
    },
    Error: {
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: {
            code: { type: 'string', enum: Object.keys(ERRORS) },
            message: { type: 'string' },
            details: {
              type: 'array',
              items: {
                type: 'object',
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
          required: ['code', 'message'],
        },
      },
    },
  };
  const properties = config.properties as Record<string, { items?: object }>;
  const routeTable = properties.routeTables!.items as { properties: { routes: { items: object } } };
  schemas.VpcRoute = routeTable.properties.routes.items;
  for (const [collection, key] of Object.entries(COLLECTIONS)) {
    const item = `${key[0]!.toUpperCase()}${key.slice(1)}Item`;
    schemas[item] = properties[key]!.items!;
    paths[`/v1/${collection}`] = get(`the ${key} of the configuration`, {
      type: 'object',
      properties: { items: { type: 'array', items: ref(item) }, generation: { type: 'integer' } },
    });
    paths[`/v1/${collection}/{id}`] = {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: { summary: `one of ${key}`, responses: { 200: json(ref(item)), 404: error } },
      put: {
        summary: `create (201) or replace one of ${key}`,
        parameters: changeParams,
        requestBody: { content: { 'application/json': { schema: ref(item) } } },
        responses: { ...apply, 201: json(ref('ApplyResult'), 'created') },
      },
      delete: {
        summary: `remove one of ${key}`,
        parameters: changeParams,
        responses: { ...apply, 404: error },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'nfvgw',
      version: '1',
      description:
        "The gateway's REST API. Every change is validated whole, applied atomically and gets a new generation.",
    },
    security: [{ bearer: [] }],
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
