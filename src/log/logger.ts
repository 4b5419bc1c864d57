// Structured logs with pino: JSON lines by default (what log collectors
// want), human-readable when asked for or when writing to a terminal.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** 'json', 'pretty', or 'auto' (pretty on a terminal). */
  format?: 'json' | 'pretty' | 'auto';
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.NFVGW_LOG_LEVEL ?? 'info';
  const format = opts.format ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const base = { level, base: { service: 'nfvgw' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (usePretty) {
    return pino(base, pretty({ colorize: process.stdout.isTTY === true, ignore: 'pid,hostname,service' }));
  }
  return pino(base);
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
