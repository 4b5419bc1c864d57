// `nfvgw trace` and `nfvgw capture`: packet traces and captures of a
// running gateway, through its REST API (api/tap.ts), so they work against
// a remote gateway as well.
import { createWriteStream, type WriteStream } from 'node:fs';
import { NfvgwError } from '../core/errors.js';
import type { TraceResult } from '../service/tap.js';
import { client, type RemoteOptions } from './remote.js';

/**
 * `--filter "src=10.0.0.0/8,protocol=tcp,dport=80"`: key=value pairs,
 * separated by commas or spaces (the gateway checks the keys and values).
 */
export function parseFilterText(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const m = /^([a-z]+)=(.+)$/i.exec(part);
    if (!m)
      throw new NfvgwError(
        'NFVGW_ERR_BAD_REQUEST',
        `--filter: ${part} is not key=value (like src=10.0.0.0/8,protocol=tcp,dport=80)`,
      );
    out[m[1]!] = m[2]!;
  }
  return out;
}

export interface TapCliOptions extends RemoteOptions {
  port?: string;
  filter?: string;
  count?: string;
}

function filterOf(opts: TapCliOptions): Record<string, string> {
  const f = parseFilterText(opts.filter);
  if (opts.port !== undefined) f.port = opts.port;
  return f;
}

function printTrace(r: TraceResult): void {
  r.packets.forEach((p, i) => {
    const t = new Date(p.timeUs / 1000).toISOString().slice(11, 23);
    console.log(`#${i + 1} ${t} ${p.port} queue ${p.queue} ${p.length} bytes: ${p.summary}`);
    for (const s of p.stages) {
      const { stage, ...rest } = s;
      const fields = Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`);
      console.log(`    ${stage.padEnd(16)} ${fields.join(' ')}`);
    }
    if (!p.fate) console.log('    (not finished when the trace ended: waiting for ARP?)');
    if (p.truncated) console.log('    (more stages than the trace keeps: some were cut)');
  });
  const n = r.packets.length;
  console.log(
    `${n} packet${n === 1 ? '' : 's'} traced${r.complete ? '' : ' (fewer than asked: the time ran out)'}`,
  );
  if (r.missed) console.log(`${r.missed} matching packets not traced: the trace areas were full`);
}

/** `nfvgw trace [--port P] [--filter F] [--count N] [--timeout MS] [--json]`. */
export async function traceCommand(
  opts: TapCliOptions & { timeout?: string; json?: boolean },
): Promise<void> {
  const body: Record<string, unknown> = { filter: filterOf(opts) };
  if (opts.count !== undefined) body.count = Number(opts.count);
  if (opts.timeout !== undefined) body.timeoutMs = Number(opts.timeout);
  const r = await client(opts).trace(body);
  if (opts.json) console.log(JSON.stringify(r));
  else printTrace(r);
}

/**
 * `nfvgw capture --port P [--filter F] [--count N] [--duration S]
 * [--direction rx|tx|both] [--snaplen B] -w FILE` (`-w -`: standard
 * output). Ctrl-C ends it; the file keeps what came.
 */
export async function captureCommand(
  opts: TapCliOptions & { duration?: string; direction?: string; snaplen?: string; write?: string },
): Promise<void> {
  if (!opts.port) throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'nfvgw capture needs --port NAME');
  if (!opts.write)
    throw new NfvgwError('NFVGW_ERR_BAD_REQUEST', 'nfvgw capture needs -w FILE (or -w - for stdout)');
  const query = {
    ...filterOf(opts),
    count: opts.count,
    duration: opts.duration,
    direction: opts.direction,
    snaplen: opts.snaplen,
  };
  const out: WriteStream | NodeJS.WriteStream =
    opts.write === '-' ? process.stdout : createWriteStream(opts.write);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  let bytes = 0;
  try {
    const r = await client(opts).capture(
      query,
      (chunk) => {
        bytes += chunk.length;
        out.write(chunk);
      },
      abort.signal,
    );
    const report = abort.signal.aborted
      ? `interrupted; ${bytes} bytes written to ${opts.write}`
      : `${r.captured} frames captured to ${opts.write}${r.missed ? `; ${r.missed} missed (the capture ring was full)` : ''}`;
    process.stderr.write(`${report}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    if (out !== process.stdout) await new Promise((r) => (out as WriteStream).end(r));
  }
}
