// The client side of the REST API, for the CLI talking to a running
// gateway, over HTTP or HTTPS, with a bearer token when it has one. Errors
// from the gateway come back as the same NfvgwError.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ERRORS, type ErrorCode, NfvgwError } from '../core/errors.js';
import type {
  ApplyResult,
  FlowQuery,
  FlowView,
  GatewayStatus,
  LoadBalancerView,
  RouteView,
} from '../service/gateway-service.js';
import type { TraceResult } from '../service/tap.js';

/** Where a gateway's API is: an --api value parsed by parseApiUrl. */
export interface ApiTarget {
  host: string;
  port: number;
  tls: boolean;
}

/**
 * Parses the CLI's --api: HOST:PORT or http(s)://HOST:PORT (IPv6 in
 * brackets); the default is http://127.0.0.1:9180.
 */
export function parseApiUrl(text: string | undefined): ApiTarget {
  const value = text ?? '127.0.0.1:9180';
  const m = /^(?:(https?):\/\/)?([^/]*):(\d{1,5})\/?$/i.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port < 1 || port > 65535)
    throw new NfvgwError(
      'NFVGW_ERR_BAD_REQUEST',
      `--api wants HOST:PORT or https://HOST:PORT (like 127.0.0.1:9180), not ${value}`,
    );
  return {
    host: m[2]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port,
    tls: m[1]?.toLowerCase() === 'https',
  };
}

export interface ApiClientOptions {
  /** Sent as "Authorization: Bearer TOKEN". */
  token?: string;
  /** PEM certificates to trust instead of the system's (a self-signed gateway). */
  ca?: Buffer | string;
}

// TLS errors that mean "this certificate is not one we trust".
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

/** The gateway's error answer as the NfvgwError it stands for. */
function errorOf(status: number, text: string): NfvgwError {
  let parsed: {
    error?: { code?: string; message?: string; details?: { path: string; message: string }[] };
  } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // not ours
  }
  const code = (
    parsed.error?.code && parsed.error.code in ERRORS ? parsed.error.code : 'NFVGW_ERR_INTERNAL'
  ) as ErrorCode;
  return new NfvgwError(
    code,
    parsed.error?.message ?? `HTTP ${status}: ${text}`,
    parsed.error?.details ?? [],
  );
}

export class ApiClient {
  readonly base: string;
  readonly #target: ApiTarget;
  readonly #opts: ApiClientOptions;

  constructor(target: ApiTarget, opts: ApiClientOptions = {}) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.base = `${target.tls ? 'https' : 'http'}://${host}:${target.port}`;
    this.#target = target;
    this.#opts = opts;
  }

  /** Where and how to send a request: the target, the token, the CA. */
  #requestOptions(method: string, path: string, headers: Record<string, string>) {
    return {
      host: this.#target.host,
      port: this.#target.port,
      method,
      path,
      headers: { ...headers, ...(this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {}) },
      ...(this.#target.tls && this.#opts.ca ? { ca: this.#opts.ca } : {}),
    };
  }

  /** One HTTP exchange: the status and the whole body, or NFVGW_ERR_UNAVAILABLE with the reason. */
  #exchange(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; text: string }> {
    const send = this.#target.tls ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        this.#requestOptions(method, path, {
          ...headers,
          ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
        }),
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', (e) => reject(this.#unavailable(e)));
        },
      );
      req.on('error', (e) => reject(this.#unavailable(e)));
      req.end(body);
    });
  }

  /** Why the gateway could not be reached, with what to do about it. */
  #unavailable(e: Error): NfvgwError {
    const code = String((e as { code?: unknown }).code ?? '');
    let message: string;
    if (UNTRUSTED.test(code))
      message =
        `the gateway at ${this.base} has a certificate this CLI does not trust (${e.message}); ` +
        'give --ca FILE (or NFVGW_CA) with the certificate that signed it';
    else if (this.#target.tls && (code === 'EPROTO' || code.startsWith('ERR_SSL')))
      message =
        `no TLS server answers at ${this.base} (the handshake failed: ${code}); ` +
        `if the gateway serves plain HTTP, give --api ${this.base.replace('https', 'http')}`;
    else if (!this.#target.tls && (code === 'ECONNRESET' || e.message === 'socket hang up'))
      message =
        `no gateway answers at ${this.base} (${e.message}); ` +
        `if it serves HTTPS, give --api ${this.base.replace('http', 'https')}`;
    else
      message = `no gateway answers at ${this.base} (${e.message}); start one with \`nfvgw run --config FILE\``;
    return new NfvgwError('NFVGW_ERR_UNAVAILABLE', message, [], { cause: e });
  }

  async #request<T>(
    method: string,
    path: string,
    body?: { text: string; type: string },
    accept?: string,
  ): Promise<T> {
    const res = await this.#exchange(
      method,
      path,
      {
        ...(body ? { 'content-type': body.type } : {}),
        ...(accept ? { accept } : {}),
      },
      body?.text,
    );
    const text = res.text;
    if (res.status < 200 || res.status > 299) {
      throw errorOf(res.status, text);
    }
    if (accept && !accept.includes('json')) return text as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new NfvgwError(
        'NFVGW_ERR_INTERNAL',
        `${this.base}${path} answered with something other than JSON`,
      );
    }
  }

  status(): Promise<GatewayStatus> {
    return this.#request('GET', '/v1/status');
  }

  configYaml(): Promise<string> {
    return this.#request('GET', '/v1/config', undefined, 'application/yaml');
  }

  /** A collection of the configuration (/v1/<collection>), or one item of it. */
  resource(collection: string, id?: string): Promise<unknown> {
    return this.#request('GET', `/v1/${collection}${id ? `/${encodeURIComponent(id)}` : ''}`);
  }

  /** Creates or replaces (`text`: YAML or JSON of the item), or deletes (`text` undefined), one item. */
  changeResource(
    collection: string,
    id: string,
    text?: string,
    opts: { dryRun?: boolean } = {},
  ): Promise<ApplyResult> {
    const path = `/v1/${collection}/${encodeURIComponent(id)}${opts.dryRun ? '?dryRun=true' : ''}`;
    return text === undefined
      ? this.#request('DELETE', path)
      : this.#request('PUT', path, { text, type: 'application/yaml' });
  }

  putConfig(text: string, type = 'application/yaml', opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return this.#request('PUT', `/v1/config${opts.dryRun ? '?dryRun=true' : ''}`, { text, type });
  }

  routes(): Promise<{ routes: RouteView[] }> {
    return this.#request('GET', '/v1/routes');
  }

  lookup(
    address: string,
  ): Promise<{ address: string; type: string; port: string | null; via: string | null }> {
    return this.#request('GET', `/v1/routes/lookup?address=${encodeURIComponent(address)}`);
  }

  vpcLookup(
    table: string,
    address: string,
  ): Promise<{ address: string; routeTable: string; target: string | null }> {
    return this.#request(
      'GET',
      `/v1/routes/lookup?address=${encodeURIComponent(address)}&routeTable=${encodeURIComponent(table)}`,
    );
  }

  /** Adds or changes (weight) or removes (null) one backend of a load balancer. */
  setBackend(
    lb: string,
    backend: string,
    weight: number | null,
    opts: { dryRun?: boolean } = {},
  ): Promise<ApplyResult> {
    const path = `/v1/load-balancers/${encodeURIComponent(lb)}/backends/${encodeURIComponent(backend)}${opts.dryRun ? '?dryRun=true' : ''}`;
    return weight === null
      ? this.#request('DELETE', path)
      : this.#request('PUT', path, { text: JSON.stringify({ weight }), type: 'application/json' });
  }

  /** Sets (target) or removes (null) one route of a VPC route table. */
  setRoute(
    table: string,
    destination: string,
    target: string | null,
    opts: { dryRun?: boolean } = {},
  ): Promise<ApplyResult> {
    const [prefix, length] = destination.split('/');
    const path =
      `/v1/route-tables/${encodeURIComponent(table)}/routes/${encodeURIComponent(prefix ?? '')}/` +
      `${encodeURIComponent(length ?? '')}${opts.dryRun ? '?dryRun=true' : ''}`;
    return target === null
      ? this.#request('DELETE', path)
      : this.#request('PUT', path, { text: JSON.stringify({ target }), type: 'application/json' });
  }

  flows(query: FlowQuery): Promise<{ flows: FlowView[]; matched: number }> {
    return this.#request('GET', `/v1/flows${queryString(query)}`);
  }

  flushFlows(query: FlowQuery): Promise<{ flushed: number }> {
    return this.#request('DELETE', `/v1/flows${queryString(query)}`);
  }

  neighbors(): Promise<{
    neighbors: {
      port: string;
      address: string;
      mac: string | null;
      state: string;
      confirmedAgoMs: number | null;
    }[];
  }> {
    return this.#request('GET', '/v1/neighbors');
  }

  loadBalancers(): Promise<{ loadBalancers: LoadBalancerView[] }> {
    return this.#request('GET', '/v1/lb');
  }

  metrics(): Promise<string> {
    return this.#request('GET', '/metrics', undefined, 'text/plain');
  }

  /** POST /v1/trace: arms a packet trace and returns the packets traced. */
  trace(body: object): Promise<TraceResult> {
    return this.#request('POST', '/v1/trace', { text: JSON.stringify(body), type: 'application/json' });
  }

  /**
   * GET /v1/capture, streamed: `onData` gets the pcap file chunk by chunk
   * as the gateway sends it; resolves, once the gateway ends it, with the
   * frames captured and missed (its trailers). `signal` ends it early.
   */
  capture(
    query: Record<string, string | undefined>,
    onData: (chunk: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<{ captured: number; missed: number }> {
    const send = this.#target.tls ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          ...this.#requestOptions('GET', `/v1/capture${queryString(query)}`, {}),
          ...(signal ? { signal } : {}),
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString();
              reject(errorOf(status, text));
            });
            return;
          }
          res.on('data', (d: Buffer) => onData(d));
          res.on('end', () =>
            resolve({
              captured: Number(res.trailers['x-nfvgw-captured'] ?? Number.NaN),
              missed: Number(res.trailers['x-nfvgw-missed'] ?? Number.NaN),
            }),
          );
          res.on('error', (e) => reject(this.#unavailable(e)));
        },
      );
      req.on('error', (e) => {
        if (signal?.aborted) resolve({ captured: Number.NaN, missed: Number.NaN });
        else reject(this.#unavailable(e));
      });
      req.end();
    });
  }
}

function queryString(q: object): string {
  const parts = Object.entries(q as Record<string, string | undefined>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
