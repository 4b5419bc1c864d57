// The REST side of packet traces and captures (service/tap.ts):
//
//   POST /v1/trace    {filter, count, timeoutMs} -> the traced packets, each
//                     with its stages and fate, once `count` went through
//                     or the time is up
//   GET  /v1/capture  ?port=P[&direction=rx|tx|both][&count=N][&duration=S]
//                     [&snaplen=B][&src=..&dst=..&protocol=..&sport=..&dport=..&vni=..]
//                     -> a pcap file, streamed as the frames come, until
//                     count or duration (or the client goes away); the
//                     frames captured and missed come in HTTP trailers
//
// Both need the admin token when tokens are configured (auth.ts): a trace
// arms the data plane and shows addresses, a capture shows packet contents.
import type { FastifyInstance } from 'fastify';
import { NfvgwError } from '../core/errors.js';
import { pcapHeader, pcapRecord } from '../pkt/pcap.js';
import type { GatewayService } from '../service/gateway-service.js';
import {
  CaptureSession,
  compileTapFilter,
  FILTER_FIELDS,
  runTrace,
  type TraceOptions,
} from '../service/tap.js';

/** How often a capture drains the workers' rings. */
const DRAIN_MS = 20;
const CAPTURE_PARAMS = ['direction', 'count', 'duration', 'snaplen'] as const;

const bad = (message: string) => new NfvgwError('NFVGW_ERR_BAD_REQUEST', message);

function wholeNumber(name: string, v: string | undefined, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi)
    throw bad(`${name}: ${v} is not a whole number in ${lo}..${hi}`);
  return Number(v);
}

export function registerTapRoutes(app: FastifyInstance, svc: GatewayService): void {
  app.post('/v1/trace', async (req) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body))
      throw bad('POST /v1/trace takes an object: {filter, count, timeoutMs}');
    return runTrace(svc.dataplane, svc.config, body as TraceOptions);
  });

  app.get<{ Querystring: Record<string, unknown> }>('/v1/capture', async (req, reply) => {
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.query)) {
      if (
        !(FILTER_FIELDS as readonly string[]).includes(k) &&
        !(CAPTURE_PARAMS as readonly string[]).includes(k)
      )
        throw bad(`unknown parameter ${k}; there are: ${[...FILTER_FIELDS, ...CAPTURE_PARAMS].join(', ')}`);
      if (typeof v !== 'string') throw bad(`give ${k} once`);
      q[k] = v;
    }
    if (q.port === undefined) throw bad('give the port to capture on: ?port=NAME');
    const direction = q.direction ?? 'both';
    if (direction !== 'rx' && direction !== 'tx' && direction !== 'both')
      throw bad(`direction: ${direction} is not rx, tx or both`);
    const count = wholeNumber('count', q.count, 0, 1e9, 0);
    let durationMs = 0;
    if (q.duration !== undefined) {
      const s = Number(q.duration);
      if (!/^\d+(\.\d+)?$/.test(q.duration) || s <= 0 || s > 86_400)
        throw bad(`duration: ${q.duration} is not a number of seconds in (0, 86400]`);
      durationMs = s * 1000;
    }
    const snaplen = wholeNumber('snaplen', q.snaplen, 1, 65535, 65535);
    const filterInput: Record<string, string> = {};
    for (const k of FILTER_FIELDS) if (q[k] !== undefined) filterInput[k] = q[k];
    const filter = compileTapFilter(filterInput, svc.config, 'capture filter');
    const session = new CaptureSession(svc.dataplane, { filter, direction, snaplen, count });

    // From here on the response is ours to stream.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'application/vnd.tcpdump.pcap',
      'content-disposition': 'attachment; filename="nfvgw.pcap"',
      trailer: 'x-nfvgw-captured, x-nfvgw-missed',
    });
    res.write(pcapHeader(snaplen));
    const started = Date.now();
    let finished = false;
    const write = (frames: ReturnType<CaptureSession['take']>) => {
      for (const f of frames) res.write(pcapRecord(f.timeUs, f.data, f.origLen));
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      let rest: ReturnType<CaptureSession['take']> = [];
      try {
        rest = session.stop();
      } catch {
        // The gateway is closing: what was taken is what there is.
      }
      if (res.destroyed) return;
      write(rest);
      res.addTrailers({
        'x-nfvgw-captured': String(session.captured),
        'x-nfvgw-missed': String(session.missed),
      });
      res.end();
    };
    const timer = setInterval(() => {
      try {
        write(session.take());
      } catch {
        return finish();
      }
      if (session.done || (durationMs && Date.now() - started >= durationMs)) finish();
    }, DRAIN_MS);
    // The client went away (the CLI interrupted): stop capturing.
    res.on('close', finish);
  });
}
