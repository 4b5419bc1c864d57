// Running commands for the lab, in the root namespace or inside a lab
// namespace (`ip netns exec`). Failures throw with the command and its
// stderr, so a broken lab says what broke.
import { type ChildProcess, execFile, spawn } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; allowFail?: boolean; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && !opts.allowFail) {
          reject(
            new Error(`${cmd} ${args.join(' ')} failed (${err.message.split('\n')[0]}): ${stderr.trim()}`),
          );
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command inside network namespace `ns`. */
export function nsRun(ns: string, cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}) {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** Starts a long-running command inside `ns`; the caller stops it. */
export function nsSpawn(ns: string, cmd: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Stops a spawned process and waits for it. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * Waits until a started `child` says `pattern` on stdout or stderr: that it
 * is ready, which no fixed wait can know on a loaded machine. Fails with
 * what it said (`what` names it) when it exits first, or when it takes
 * longer than `timeoutMs`, and then kills it.
 */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        cleanup();
        resolve();
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${what} exited: ${seen.trim()}`));
    };
    const t = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start in ${timeoutMs} ms: ${seen.trim()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(t);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
