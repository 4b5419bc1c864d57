// Running the real `nfvgw` command as a separate process, as an operator
// would: the gateway (`nfvgw run`) and the CLI commands that talk to it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../../src/dataplane/native.js';

const bin = join(projectRoot, 'bin', 'nfvgw.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface GatewayProcess {
  proc: ChildProcess;
  api: string;
  listen: string;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  waitForLog(
    match: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  waitForExit(timeoutMs?: number): Promise<number | null>;
}

/** Starts `nfvgw run` (optionally wrapped, e.g. in `unshare`) and waits until its API listens. */
export async function startGatewayProcess(
  config: string,
  opts: { wrap?: string[]; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const args = [
    bin,
    'run',
    '--config',
    config,
    '--api',
    listen,
    '--log-format',
    'json',
    ...(opts.args ?? []),
  ];
  const wrap = opts.wrap ?? [];
  const spawnOpts = {
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  };
  const proc = wrap.length
    ? spawn(wrap[0]!, [...wrap.slice(1), process.execPath, ...args], spawnOpts)
    : spawn(process.execPath, args, spawnOpts);
  const logs: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        err += `${line}\n`;
      }
      nl = buf.indexOf('\n');
    }
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const gp: GatewayProcess = {
    proc,
    api: `http://${listen}`,
    listen,
    logs,
    stderr: () => err,
    async waitForLog(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = logs.find(match);
        if (hit) return hit;
        if (proc.exitCode !== null) throw new Error(`nfvgw exited (${proc.exitCode}): ${err}`);
        if (Date.now() > deadline) throw new Error(`no such log line in ${timeoutMs} ms; stderr: ${err}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
    async waitForExit(timeoutMs = 15_000) {
      const t = new Promise<null>((r) => setTimeout(() => r(null), timeoutMs));
      return Promise.race([exited, t]);
    },
  };
  await gp.waitForLog((l) => l.msg === 'API listening');
  return gp;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a `nfvgw` CLI command to completion. */
export function cli(...args: string[]): Promise<CliResult> {
  return cliWith({}, ...args);
}

/**
 * The same with environment variables added to (or, when undefined, removed
 * from) the test's, and another time limit (the command is killed then).
 */
export function cliWith(
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ...args: string[]
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { timeout: opts.timeoutMs ?? 60_000, ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) },
      (e, stdout, stderr) => {
        const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
