// Real traffic between lab hosts, made by the tools a user would use: ping,
// curl against a real HTTP server (Python's http.server), iperf3 for TCP
// and UDP, tshark to see what went over a wire. Results are parsed into
// numbers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsRun, nsSpawn, stop, waitForLine } from './exec.js';

export interface PingResult {
  sent: number;
  received: number;
  lossPercent: number;
  rttAvgMs: number | null;
}

export async function ping(
  ns: string,
  dst: string,
  opts: {
    count?: number;
    intervalS?: number;
    deadlineS?: number;
    size?: number;
    ttl?: number;
    df?: boolean;
  } = {},
): Promise<PingResult & { output: string }> {
  const args = ['-n', '-c', String(opts.count ?? 3), '-i', String(opts.intervalS ?? 0.2), '-W', '1'];
  if (opts.deadlineS) args.push('-w', String(opts.deadlineS));
  if (opts.size !== undefined) args.push('-s', String(opts.size));
  if (opts.ttl !== undefined) args.push('-t', String(opts.ttl));
  if (opts.df) args.push('-M', 'do');
  const out = await nsRun(ns, 'ping', [...args, dst], { allowFail: true, timeoutMs: 60_000 });
  const text = out.stdout + out.stderr;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(text);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(text);
  const sent = m ? Number(m[1]) : 0;
  const received = m ? Number(m[2]) : 0;
  return {
    sent,
    received,
    lossPercent: sent ? (100 * (sent - received)) / sent : 100,
    rttAvgMs: rtt ? Number(rtt[1]) : null,
    output: text,
  };
}

export interface HttpServer {
  url: string;
  fileUrl: string;
  fileBytes: number;
  stop(): Promise<void>;
}

/** A real HTTP server (Python's http.server) in `ns`, serving a file of `fileBytes` random bytes. */
export async function startHttpServer(
  ns: string,
  ip: string,
  port = 8080,
  fileBytes = 1 << 20,
): Promise<HttpServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nfvgw-http-'));
  const body = Buffer.alloc(fileBytes);
  for (let i = 0; i < fileBytes; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(join(dir, 'blob.bin'), body);
  writeFileSync(join(dir, 'index.html'), `<h1>hello from ${ns}</h1>\n`);
  const child = nsSpawn(ns, 'python3', [
    '-u',
    '-m',
    'http.server',
    String(port),
    '--bind',
    ip,
    '--directory',
    dir,
  ]);
  await waitForLine(child, /Serving HTTP/, 'python3 -m http.server');
  return {
    url: `http://${ip}:${port}/`,
    fileUrl: `http://${ip}:${port}/blob.bin`,
    fileBytes,
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CurlResult {
  status: number;
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
  body: string;
}

/**
 * Fetches `url` with curl from inside `ns`. The body is kept only with
 * `keepBody` (small pages): curl writing a large body into Node's
 * non-blocking pipe can fail on EAGAIN, so downloads go to /dev/null.
 */
export async function curl(
  ns: string,
  url: string,
  opts: { timeoutS?: number; keepBody?: boolean } = {},
): Promise<CurlResult> {
  const timeout = opts.timeoutS ?? 20;
  const out = await nsRun(
    ns,
    'curl',
    [
      '-sS',
      '--max-time',
      String(timeout),
      '-o',
      opts.keepBody ? '-' : '/dev/null',
      '-w',
      '\n%{http_code} %{size_download} %{time_total} %{speed_download}',
      url,
    ],
    { allowFail: true, timeoutMs: (timeout + 5) * 1000 },
  );
  const lines = out.stdout.split('\n');
  const last = lines.pop() ?? '';
  const [status, bytes, seconds, speed] = last.split(' ').map(Number);
  return {
    status: status ?? 0,
    bytes: bytes ?? 0,
    seconds: seconds ?? 0,
    bytesPerSecond: speed ?? 0,
    body: lines.join('\n') + (out.code ? out.stderr : ''),
  };
}

export interface IperfResult {
  bitsPerSecond: number;
  retransmits: number | null;
  lostPackets: number | null;
  packets: number | null;
  lostPercent: number | null;
  seconds: number;
}

export interface IperfServer {
  stop(): Promise<void>;
}

export async function startIperfServer(ns: string, ip: string, port = 5201): Promise<IperfServer> {
  // --forceflush: without a terminal iperf3 buffers its "listening" line.
  const child = nsSpawn(ns, 'iperf3', ['-s', '-B', ip, '-p', String(port), '--forceflush']);
  await waitForLine(child, /Server listening/, 'iperf3 -s');
  return { stop: () => stop(child) };
}

export async function iperf(
  ns: string,
  server: string,
  opts: { seconds?: number; udp?: boolean; bitrate?: string; port?: number; length?: number } = {},
): Promise<IperfResult> {
  const args = ['-c', server, '-p', String(opts.port ?? 5201), '-t', String(opts.seconds ?? 3), '-J'];
  if (opts.udp) args.push('-u', '-b', opts.bitrate ?? '100M');
  else if (opts.bitrate) args.push('-b', opts.bitrate);
  if (opts.length) args.push('-l', String(opts.length));
  const out = await nsRun(ns, 'iperf3', args, {
    allowFail: true,
    timeoutMs: ((opts.seconds ?? 3) + 20) * 1000,
  });
  let j: {
    error?: string;
    end?: {
      sum_received?: { bits_per_second: number; seconds: number };
      sum_sent?: { retransmits?: number; bits_per_second: number };
      sum?: {
        bits_per_second: number;
        lost_packets: number;
        packets: number;
        lost_percent: number;
        seconds: number;
      };
    };
  };
  try {
    j = JSON.parse(out.stdout);
  } catch {
    throw new Error(`iperf3 gave no result: ${out.stderr || out.stdout}`);
  }
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  if (opts.udp) {
    const s = j.end?.sum;
    return {
      bitsPerSecond: s?.bits_per_second ?? 0,
      retransmits: null,
      lostPackets: s?.lost_packets ?? null,
      packets: s?.packets ?? null,
      lostPercent: s?.lost_percent ?? null,
      seconds: s?.seconds ?? 0,
    };
  }
  return {
    bitsPerSecond: j.end?.sum_received?.bits_per_second ?? 0,
    retransmits: j.end?.sum_sent?.retransmits ?? null,
    lostPackets: null,
    packets: null,
    lostPercent: null,
    seconds: j.end?.sum_received?.seconds ?? 0,
  };
}

/**
 * tshark capturing `filter` on `iface` of namespace `ns` into `file`, once it
 * really captures: it says so when it starts (a loaded machine can take
 * seconds to get there, so no fixed wait will do), and its capture begins a
 * moment after that. `done()` gives the last frames that moment to reach the
 * file, then stops it.
 */
export async function tsharkCapture(
  ns: string,
  iface: string,
  filter: string,
  file: string,
): Promise<{ done(): Promise<void> }> {
  const cap = nsSpawn(ns, 'tshark', ['-i', iface, '-f', filter, '-w', file]);
  await waitForLine(cap, /Capturing on/, 'tshark', 30_000);
  const settle = () => new Promise((r) => setTimeout(r, 500));
  await settle();
  let stopped = false;
  return {
    async done() {
      if (stopped) return;
      stopped = true;
      await settle();
      await stop(cap, 'SIGINT');
    },
  };
}
