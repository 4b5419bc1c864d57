// api-status: the control plane under load, measured with autocannon against
// a running gateway (in-memory ports, so the data plane costs nothing): GET
// /v1/status (what a controller polls) and GET /metrics (what Prometheus
// scrapes): requests per second and latency percentiles.
import autocannon from 'autocannon';
import { createApiServer } from '../src/api/server.js';
import { silentLogger } from '../src/log/logger.js';
import { MetricsExporter } from '../src/metrics/metrics.js';
import { GatewayService } from '../src/service/gateway-service.js';
import { type BenchResult, round } from './common.js';

async function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: 10, duration: seconds });
}

export async function apiStatus(opts: { seconds?: number } = {}): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 5;
  const svc = GatewayService.start(
    {
      ports: [
        { name: 'a', type: 'mem', addresses: ['10.0.1.1/24'] },
        { name: 'b', type: 'mem', addresses: ['10.0.2.1/24'] },
      ],
    },
    silentLogger(),
  );
  const app = createApiServer(svc, new MetricsExporter(svc), silentLogger());
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const out: BenchResult[] = [];
    for (const [bench, path] of [
      ['api-status', '/v1/status'],
      ['api-metrics', '/metrics'],
    ] as const) {
      const r = await load(base + path, seconds);
      if (r.non2xx || r.errors) throw new Error(`${path}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
      out.push({
        bench,
        requests_per_sec: round(r.requests.average, 0),
        latency_p50_ms: r.latency.p50,
        latency_p99_ms: r.latency.p99,
        connections: 10,
        seconds,
      });
    }
    return out;
  } finally {
    await app.close();
    svc.close();
  }
}
