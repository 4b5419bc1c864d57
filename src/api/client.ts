// The client side of the REST API, for the CLI talking to a running
// gateway. Errors from the gateway come back as the same NfvgwError.
import { ERRORS, type ErrorCode, NfvgwError } from '../core/errors.js';
import type {
  ApplyResult,
  FlowQuery,
  FlowView,
  GatewayStatus,
  LoadBalancerView,
  RouteView,
} from '../service/gateway-service.js';

export class ApiClient {
  readonly base: string;

  constructor(listen: { host: string; port: number }) {
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    this.base = `http://${host}:${listen.port}`;
  }

  async #request<T>(
    method: string,
    path: string,
    body?: { text: string; type: string },
    accept?: string,
  ): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          ...(body ? { 'content-type': body.type } : {}),
          ...(accept ? { accept } : {}),
        },
        body: body?.text,
      });
    } catch (e) {
      throw new NfvgwError(
        'NFVGW_ERR_UNAVAILABLE',
        `no gateway answers at ${this.base} (${(e as Error).cause ?? (e as Error).message}); start one with \`nfvgw run --config FILE\``,
      );
    }
    const text = await res.text();
    if (!res.ok) {
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
      throw new NfvgwError(
        code,
        parsed.error?.message ?? `HTTP ${res.status}: ${text}`,
        parsed.error?.details ?? [],
      );
    }
    return (accept?.includes('yaml') ? text : JSON.parse(text)) as T;
  }

  status(): Promise<GatewayStatus> {
    return this.#request('GET', '/v1/status');
  }

  configYaml(): Promise<string> {
    return this.#request('GET', '/v1/config', undefined, 'application/yaml');
  }

  putConfig(text: string, type = 'application/yaml'): Promise<ApplyResult> {
    return this.#request('PUT', '/v1/config', { text, type });
  }

  routes(): Promise<{ routes: RouteView[] }> {
    return this.#request('GET', '/v1/routes');
  }

  lookup(
    address: string,
  ): Promise<{ address: string; type: string; port: string | null; via: string | null }> {
    return this.#request('GET', `/v1/routes/lookup?address=${encodeURIComponent(address)}`);
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

  async metrics(): Promise<string> {
    const res = await fetch(`${this.base}/metrics`);
    return res.text();
  }
}

function queryString(q: object): string {
  const parts = Object.entries(q as Record<string, string | undefined>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
