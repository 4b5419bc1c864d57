// `nfvgw run`: the gateway process. Loads and validates the configuration,
// opens the ports, serves the API and metrics, and on SIGINT/SIGTERM stops
// cleanly: API closed, workers stopped, XDP programs detached, huge pages
// given back, logs flushed. The API's tokens and certificate are checked
// before any port is opened.
import { type ApiSecurityOptions, resolveApiSecurity } from '../api/auth.js';
import { createApiServer, parseListen } from '../api/server.js';
import { loadConfigFile } from '../config/load.js';
import { NfvgwError } from '../core/errors.js';
import { createLogger, type LogOptions } from '../log/logger.js';
import { MetricsExporter } from '../metrics/metrics.js';
import { GatewayService } from '../service/gateway-service.js';
import { loadState, statePath, stateSaver } from '../service/state.js';

export async function runGateway(
  opts: ApiSecurityOptions & {
    config: string;
    api?: string;
    log?: LogOptions;
    bodyLimit?: number;
    /** Where the last applied configuration is kept, and restored from at start. */
    stateDir?: string;
  },
): Promise<void> {
  const log = createLogger(opts.log);
  const listen = parseListen(opts.api);
  const security = resolveApiSecurity(opts, listen.host);
  log.info(security.summary, 'API access');
  for (const w of security.warnings) log.warn(w);
  // The saved state, when there is one, is what the controller last set:
  // it wins over --config, which is only the first configuration.
  const state = opts.stateDir ? loadState(opts.stateDir) : undefined;
  if (state)
    log.info(
      {
        state: statePath(opts.stateDir!),
        generation: state.generation,
        savedAt: state.savedAt,
        journaledRouteChanges: state.journaled,
      },
      'state restored',
    );
  else if (!opts.stateDir)
    log.warn('no --state-dir: configurations applied through the API are lost when the gateway restarts');
  const input = state ? state.config : await loadConfigFile(opts.config);
  const save = opts.stateDir ? stateSaver(opts.stateDir, state?.journaled) : undefined;
  const svc = GatewayService.start(input, log, { generation: state?.generation, onApplied: save });
  if (save && !state) {
    // A state directory that cannot be written is refused now, not found
    // out at the next restart.
    try {
      save(svc.generation, svc.config);
    } catch (e) {
      svc.close();
      throw new NfvgwError(
        'NFVGW_ERR_STATE_FILE',
        `${opts.stateDir}: cannot save the state (${(e as Error).message})`,
      );
    }
  }
  const metrics = new MetricsExporter(svc);
  let app: ReturnType<typeof createApiServer>;
  try {
    app = createApiServer(svc, metrics, log, {
      bodyLimit: opts.bodyLimit,
      auth: security.auth,
      tls: security.tls,
    });
    await app.listen({ host: listen.host, port: listen.port });
  } catch (e) {
    svc.close();
    throw e;
  }
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  log.info(
    { api: `${security.tls ? 'https' : 'http'}://${host}:${listen.port}`, config: opts.config },
    'API listening',
  );

  let stopping = false;
  const shutdown = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    try {
      await app.close();
    } finally {
      svc.close();
      log.flush();
      process.exitCode = code;
    }
  };
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught exception');
    void shutdown('uncaught exception', 1);
  });
}
