// Lab fixtures for integration tests: a network-namespace topology (see
// src/lab/topology.ts) with a gateway between the hosts, started in this
// process through the same GatewayService the CLI runs, plus raw-frame
// injection from a host for bad-input tests. Needs root.
import { createApiServer } from '../../src/api/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { nsRun } from '../../src/lab/exec.js';
import { type Lab, labDown, labGatewayConfig, labUp } from '../../src/lab/topology.js';
import { silentLogger } from '../../src/log/logger.js';
import { MetricsExporter } from '../../src/metrics/metrics.js';
import { GatewayService } from '../../src/service/gateway-service.js';

export interface LabGateway {
  lab: Lab;
  svc: GatewayService;
  api: string;
  config: ConfigInput;
  stop(): Promise<void>;
}

export async function startLabGateway(opts: {
  prefix: string;
  type: 'af_xdp' | 'af_packet';
  workers?: number;
  extra?: Partial<ConfigInput>;
}): Promise<LabGateway> {
  const workers = opts.workers ?? 1;
  const lab = await labUp({ prefix: opts.prefix, queues: workers });
  const config: ConfigInput = {
    ...labGatewayConfig(lab, {
      type: opts.type,
      workers: Array.from({ length: workers }, () => ({ pollMode: 'adaptive' as const })),
    }),
    ...opts.extra,
  };
  let svc: GatewayService;
  try {
    svc = GatewayService.start(config, silentLogger());
  } catch (e) {
    await labDown(opts.prefix);
    throw e;
  }
  const app = createApiServer(svc, new MetricsExporter(svc), silentLogger());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    lab,
    svc,
    api: `http://127.0.0.1:${port}`,
    config,
    async stop() {
      await app.close();
      svc.close();
      await labDown(opts.prefix);
    },
  };
}

/** Sends raw Ethernet frames out of `iface` in namespace `ns` (AF_PACKET via Python). */
export async function sendRaw(ns: string, iface: string, frames: Buffer[]): Promise<void> {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
    `s.bind((${JSON.stringify(iface)}, 0))`,
    'for line in sys.stdin:',
    '    line = line.strip()',
    '    if line: s.send(bytes.fromhex(line))',
  ].join('\n');
  await nsRun(ns, 'python3', ['-c', script], {
    input: `${frames.map((f) => f.toString('hex')).join('\n')}\n`,
  });
}

/** The sum over workers of each drop reason, by name. */
export function dropsByReason(svc: GatewayService): Record<string, number> {
  return svc.status().drops.byReason;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
