// Packet traces and captures on a running gateway (native/core/tap.h): the
// one filter both use (parsed and checked here, with precise errors), a
// trace run that arms the data plane, waits for its packets and decodes
// their records into named stages, and capture sessions that drain the
// workers' rings into pcap records. The REST API (api/tap.ts) calls these;
// the CLI goes through the API.
import { formatIp4, IP_PROTOCOL_NAMES, IP_PROTOCOLS, maskOf, parseIp4, parsePrefix } from '../config/ip.js';
import type { Config } from '../config/schema.js';
import { NfvgwError } from '../core/errors.js';
import type { DataplaneGateway } from '../dataplane/gateway.js';
import { loadAddon, type NativeCaptureFrame, type TapFilterSpec } from '../dataplane/native.js';

/** What the filter accepts (JSON body or query string): every field optional, all must match. */
export interface TapFilterInput {
  /** The port a frame arrives on (trace, capture rx) or leaves by (capture tx), by name. */
  port?: string;
  /** Source and destination address or prefix (a.b.c.d or a.b.c.d/n). */
  src?: string;
  dst?: string;
  /** tcp, udp, icmp or an IP protocol number. */
  protocol?: string | number;
  sport?: number | string;
  dport?: number | string;
  /** VXLAN packets of this VNI only. */
  vni?: number | string;
}

export const FILTER_FIELDS = ['port', 'src', 'dst', 'protocol', 'sport', 'dport', 'vni'] as const;

const bad = (message: string) => new NfvgwError('NFVGW_ERR_BAD_REQUEST', message);

function intField(where: string, v: unknown, lo: number, hi: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi)
    throw bad(`${where}: ${JSON.stringify(v)} is not a whole number in ${lo}..${hi}`);
  return n;
}

function prefixField(where: string, v: unknown): { addr: number; mask: number } {
  if (typeof v !== 'string')
    throw bad(`${where}: give an IPv4 address or prefix as a string, like 10.0.0.0/8`);
  if (v.includes('/')) {
    const p = parsePrefix(v);
    if (!p) throw bad(`${where}: ${v} is not an IPv4 prefix like 10.0.0.0/8`);
    const mask = maskOf(p.len) >>> 0;
    return { addr: (p.ip & mask) >>> 0, mask };
  }
  const ip = parseIp4(v);
  if (ip === null) throw bad(`${where}: ${v} is not an IPv4 address`);
  return { addr: ip >>> 0, mask: 0xffffffff };
}

/**
 * The filter in `input` (an object; `where` names it in errors), compiled
 * for the data plane. Unknown fields, ports that do not exist and values
 * out of range are refused with NFVGW_ERR_BAD_REQUEST naming the field.
 */
export function compileTapFilter(input: unknown, config: Config, where = 'filter'): TapFilterSpec {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw bad(`${where} must be an object`);
  const f = input as Record<string, unknown>;
  const out: TapFilterSpec = { vxlanPort: config.overlay?.udpPort ?? 4789 };
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined) continue;
    const at = `${where}.${k}`;
    switch (k) {
      case 'port': {
        const i = config.ports.findIndex((p) => p.name === v);
        if (i < 0)
          throw bad(
            `${at}: no port ${JSON.stringify(v)}; there are: ${config.ports.map((p) => p.name).join(', ')}`,
          );
        out.port = i;
        break;
      }
      case 'src':
      case 'dst': {
        const p = prefixField(at, v);
        if (k === 'src') Object.assign(out, { src: p.addr, srcMask: p.mask });
        else Object.assign(out, { dst: p.addr, dstMask: p.mask });
        break;
      }
      case 'protocol': {
        const name = typeof v === 'string' ? v.trim().toLowerCase() : v;
        out.proto =
          typeof name === 'string' && name in IP_PROTOCOLS
            ? IP_PROTOCOLS[name as keyof typeof IP_PROTOCOLS]
            : intField(at, name, 0, 255);
        break;
      }
      case 'sport':
      case 'dport':
        out[k] = intField(at, v, 0, 65535);
        break;
      case 'vni':
        out.vni = intField(at, v, 0, 0xffffff);
        break;
      default:
        throw bad(`${where}: unknown field ${k}; there are: ${FILTER_FIELDS.join(', ')}`);
    }
  }
  if (
    (out.sport !== undefined || out.dport !== undefined) &&
    out.proto !== undefined &&
    out.proto !== 6 &&
    out.proto !== 17
  )
    throw bad(`${where}: ports (sport, dport) are only for protocol tcp or udp`);
  return out;
}

// --- Traces.

export interface TraceOptions {
  filter?: unknown;
  /** How many packets (1..1000, default 10). */
  count?: number;
  /** How long to wait for them, in ms (1..60000, default 1000). */
  timeoutMs?: number;
}

export type TraceStage = { stage: string } & Record<string, unknown>;

export interface TracedPacket {
  /** Received at (ISO 8601 with microseconds... as JS keeps milliseconds: also `timeUs`). */
  time: string;
  timeUs: number;
  port: string;
  /** Each worker serves one queue of every port: the queue is the worker's number. */
  queue: number;
  worker: number;
  length: number;
  summary: string;
  /** The first bytes of the frame as received (up to 160), in hex. */
  head: string;
  stages: TraceStage[];
  /** Where it went: sent (port, length) or dropped (reason); null when it had not finished. */
  fate:
    | { action: 'sent'; port: string; length: number }
    | { action: 'dropped'; reason: string }
    | { action: 'consumed' }
    | null;
  /** More records than the data plane keeps per packet: some in the middle were cut. */
  truncated: boolean;
}

export interface TraceResult {
  packets: TracedPacket[];
  /** Whether `count` packets were traced before the timeout. */
  complete: boolean;
  /** Matching packets not traced because the trace areas were full. */
  missed: number;
}

const busy = new WeakSet<DataplaneGateway>();

function hex(b: Buffer): string {
  return b.toString('hex');
}

function macOf(hi: number, lo: number): string {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(hi & 0xffff, 0);
  b.writeUInt32BE(lo >>> 0, 2);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** One line about a frame (truncated frames say what they can). */
export function summarize(frame: Buffer, vxlanPort = 4789): string {
  if (frame.length < 14) return `${frame.length} bytes`;
  let off = 12;
  let type = frame.readUInt16BE(off);
  let vlan = '';
  if (type === 0x8100 && frame.length >= 18) {
    vlan = `vlan ${frame.readUInt16BE(14) & 0xfff} `;
    off = 16;
    type = frame.readUInt16BE(off);
  }
  const l3 = frame.subarray(off + 2);
  if (type === 0x0806 && l3.length >= 28) {
    const op = l3.readUInt16BE(6) === 1 ? 'request' : 'reply';
    return `${vlan}arp ${op} who-has ${formatIp4(l3.readUInt32BE(24))} tell ${formatIp4(l3.readUInt32BE(14))}`;
  }
  if (type !== 0x0800 || l3.length < 20) return `${vlan}ethertype 0x${type.toString(16).padStart(4, '0')}`;
  const ihl = (l3[0]! & 0x0f) * 4;
  const proto = l3[9]!;
  const src = formatIp4(l3.readUInt32BE(12));
  const dst = formatIp4(l3.readUInt32BE(16));
  const l4 = l3.subarray(ihl);
  const name = IP_PROTOCOL_NAMES[proto] ?? `proto ${proto}`;
  if ((proto === 6 || proto === 17) && l4.length >= 4) {
    const sport = l4.readUInt16BE(0);
    const dport = l4.readUInt16BE(2);
    if (proto === 17 && dport === vxlanPort && l4.length >= 16) {
      const vni = l4.readUInt32BE(12) >>> 8;
      return `${vlan}vxlan ${src} -> ${dst} vni ${vni}: ${summarize(l4.subarray(16), vxlanPort)}`;
    }
    return `${vlan}${name} ${src}:${sport} -> ${dst}:${dport}`;
  }
  if (proto === 1 && l4.length >= 2) return `${vlan}icmp ${src} -> ${dst} type ${l4[0]} code ${l4[1]}`;
  return `${vlan}${name} ${src} -> ${dst}`;
}

/** Turns the data plane's [kind, a, b, c] records into named stages. */
function decodeStages(
  records: [number, number, number, number][],
  config: Config,
  portName: (i: number) => string,
): TraceStage[] {
  const addon = loadAddon();
  const names = addon.tapNames;
  const id = (list: readonly { id: string }[], i: number) => list[i]?.id ?? i;
  return records.map(([k, a, b, c]) => {
    const stage = names.kinds[k] ?? `kind ${k}`;
    switch (stage) {
      case 'parsed':
        return {
          stage,
          ethertype: a === 0x0800 ? 'ipv4' : a === 0x0806 ? 'arp' : `0x${a.toString(16)}`,
          ...(a === 0x0800 ? { protocol: IP_PROTOCOL_NAMES[b] ?? b } : {}),
          ...(c ? { vlan: c } : {}),
        };
      case 'route': {
        const kind = names.nexthopKinds[a] ?? a;
        const onPort = kind === 'connected' || kind === 'via';
        return {
          stage,
          kind,
          ...(onPort ? { port: portName(b) } : {}),
          ...(kind === 'via' ? { via: formatIp4(c) } : {}),
        };
      }
      case 'vxlan_decap':
        return { stage, vni: a, vpc: id(config.vpcs, b) };
      case 'eni_source':
        return { stage, eni: id(config.enis, a), routed: b === 1 };
      case 'vpc_route':
        return {
          stage,
          target: names.vpcTargetKinds[a] ?? a,
          routeTable: id(config.routeTables, b),
          destination: formatIp4(c),
        };
      case 'eni_destination':
        return { stage, eni: id(config.enis, a), vpc: id(config.vpcs, b) };
      case 'acl':
        return {
          stage,
          acl: id(config.networkAcls, a),
          direction: b ? 'inbound' : 'outbound',
          verdict: c ? 'allow' : 'deny',
        };
      case 'secgroup':
        return {
          stage,
          direction: a === 2 ? 'both' : a ? 'inbound' : 'outbound',
          verdict: b ? 'allow' : 'deny',
        };
      case 'conntrack': {
        const result = ['untracked', 'hit', 'new', 'related'][a] ?? a;
        return {
          stage,
          result,
          ...(result === 'hit' || result === 'new' ? { state: names.connStates[b] ?? b } : {}),
          ...(result === 'hit' ? { direction: c ? 'reply' : 'original' } : {}),
        };
      }
      case 'nat':
        return { stage, rewrote: a ? 'destination' : 'source', address: formatIp4(b), port: c };
      case 'lb':
        return { stage, service: id(config.loadBalancers, a), backend: formatIp4(b), port: c };
      case 'sent':
        return { stage, port: portName(a & 0xffff), length: b, mac: macOf(a >>> 16, c) };
      case 'dropped':
        return { stage, reason: addon.dropReasons[a]?.name ?? `drop ${a}` };
      default:
        return { stage };
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Arms the trace, waits until `count` matching packets have gone through
 * (or `timeoutMs` has passed) and returns them, oldest first. One trace at
 * a time per gateway: another one meanwhile is NFVGW_ERR_STATE.
 */
export async function runTrace(
  dp: DataplaneGateway,
  config: Config,
  opts: TraceOptions,
): Promise<TraceResult> {
  const known = ['filter', 'count', 'timeoutMs'];
  for (const k of Object.keys(opts))
    if (!known.includes(k)) throw bad(`unknown field ${k}; there are: ${known.join(', ')}`);
  const filter = compileTapFilter(opts.filter, config);
  const count = opts.count === undefined ? 10 : intField('count', opts.count, 1, 1000);
  const timeoutMs = opts.timeoutMs === undefined ? 1000 : intField('timeoutMs', opts.timeoutMs, 1, 60_000);
  if (busy.has(dp))
    throw new NfvgwError(
      'NFVGW_ERR_STATE',
      'a trace is already running on this gateway; try again when it is done',
    );
  busy.add(dp);
  const raw: ReturnType<DataplaneGateway['traceRead']>['packets'] = [];
  let missed = 0;
  try {
    dp.traceStart(filter, count);
    const deadline = Date.now() + timeoutMs;
    while (raw.length < count && Date.now() < deadline) {
      await sleep(Math.min(10, Math.max(1, deadline - Date.now())));
      raw.push(...dp.traceRead(false).packets);
    }
  } finally {
    // Disarms whatever happened, and takes what had not finished.
    const last = dp.closed ? undefined : dp.traceRead(true);
    if (last) {
      raw.push(...last.packets);
      missed = last.missed;
    }
    busy.delete(dp);
  }
  raw.sort((a, b) => a.monoNs - b.monoNs);
  const portName = (i: number) => config.ports[i]?.name ?? String(i);
  const vxlanPort = filter.vxlanPort ?? 4789;
  const packets = raw.map((p): TracedPacket => {
    const stages = decodeStages(p.records, config, portName);
    const last = p.complete ? stages[stages.length - 1] : undefined;
    let fate: TracedPacket['fate'] = null;
    if (last?.stage === 'sent')
      fate = { action: 'sent', port: last.port as string, length: last.length as number };
    else if (last?.stage === 'dropped') fate = { action: 'dropped', reason: last.reason as string };
    else if (last?.stage === 'consumed') fate = { action: 'consumed' };
    return {
      time: new Date(p.timeUs / 1000).toISOString(),
      timeUs: Math.round(p.timeUs),
      port: portName(p.port),
      queue: p.worker,
      worker: p.worker,
      length: p.len,
      summary: summarize(p.head, vxlanPort),
      head: hex(p.head),
      stages,
      fate,
      truncated: p.truncated,
    };
  });
  return { packets, complete: packets.filter((p) => p.fate).length >= count, missed };
}

// --- Captures.

export interface CaptureOptions {
  filter: TapFilterSpec;
  direction: 'rx' | 'tx' | 'both';
  /** Bytes kept of each frame. */
  snaplen: number;
  /** Frames to capture, 0 for no limit. */
  count: number;
}

/** Ring bytes per worker: 4 MiB, a few hundred ms of a busy port between two drains. */
const CAPTURE_RING = 4 << 20;
const capturing = new WeakSet<DataplaneGateway>();

/**
 * A capture in progress: take() drains what the workers captured since the
 * last call; stop() disarms and drains the rest. One capture at a time per
 * gateway.
 */
export class CaptureSession {
  readonly #dp: DataplaneGateway;
  #left: number;
  #stopped = false;
  missed = 0;
  captured = 0;

  constructor(dp: DataplaneGateway, opts: CaptureOptions) {
    if (capturing.has(dp))
      throw new NfvgwError(
        'NFVGW_ERR_STATE',
        'a capture is already running on this gateway; try again when it is done',
      );
    this.#dp = dp;
    this.#left = opts.count || Number.POSITIVE_INFINITY;
    dp.captureStart(opts.filter, {
      rx: opts.direction !== 'tx',
      tx: opts.direction !== 'rx',
      snaplen: opts.snaplen,
      count: opts.count,
      ringBytes: CAPTURE_RING,
    });
    capturing.add(dp);
  }

  /** Whether `count` frames have been taken. */
  get done(): boolean {
    return this.#left <= 0;
  }

  take(): NativeCaptureFrame[] {
    if (this.#stopped) return [];
    return this.#keep(this.#dp.captureRead(false));
  }

  stop(): NativeCaptureFrame[] {
    if (this.#stopped) return [];
    this.#stopped = true;
    capturing.delete(this.#dp);
    if (this.#dp.closed) return [];
    return this.#keep(this.#dp.captureRead(true));
  }

  #keep(r: { frames: NativeCaptureFrame[]; missed: number }): NativeCaptureFrame[] {
    this.missed = r.missed;
    // Each worker's frames are in order; between workers, by time.
    const frames = r.frames.sort((a, b) => a.monoNs - b.monoNs).slice(0, Math.max(0, this.#left));
    this.#left -= frames.length;
    this.captured += frames.length;
    return frames;
  }
}
