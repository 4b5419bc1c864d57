// Building frames byte by byte for golden-packet tests and benchmarks.
// Checksums are computed in full here (RFC 1071), so a test comparing the
// gateway's incrementally updated checksums against these catches any slip.
import { macBytes, parseIp4 } from '../config/ip.js';

export function internetChecksum(buf: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (buf.length & 1) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ip(a: string): number {
  const v = parseIp4(a);
  if (v === null) throw new Error(`bad IPv4 address ${a}`);
  return v;
}

export interface EthOptions {
  dst: string;
  src: string;
  type: number;
  vlan?: number;
}

export function ethernet(o: EthOptions, payload: Uint8Array): Buffer {
  const tagged = o.vlan !== undefined;
  const h = Buffer.alloc(tagged ? 18 : 14);
  macBytes(o.dst).copy(h, 0);
  macBytes(o.src).copy(h, 6);
  if (tagged) {
    h.writeUInt16BE(0x8100, 12);
    h.writeUInt16BE(o.vlan!, 14);
    h.writeUInt16BE(o.type, 16);
  } else {
    h.writeUInt16BE(o.type, 12);
  }
  return Buffer.concat([h, payload]);
}

export function arpPayload(o: { op: 1 | 2; sha: string; spa: string; tha?: string; tpa: string }): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(0x0800, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(o.op, 6);
  macBytes(o.sha).copy(b, 8);
  b.writeUInt32BE(ip(o.spa), 14);
  macBytes(o.tha ?? '00:00:00:00:00:00').copy(b, 18);
  b.writeUInt32BE(ip(o.tpa), 24);
  return b;
}

export interface Ip4Options {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number;
  tos?: number;
  options?: Uint8Array;
  /** Overrides, for malformed packets. */
  version?: number;
  ihl?: number;
  totalLength?: number;
  checksum?: number;
}

export function ipv4(o: Ip4Options, payload: Uint8Array): Buffer {
  const opts = o.options ?? new Uint8Array();
  const hl = 20 + opts.length;
  const h = Buffer.alloc(hl);
  h[0] = ((o.version ?? 4) << 4) | (o.ihl ?? hl / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totalLength ?? hl + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0, 4);
  h.writeUInt16BE((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.fragOffset ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  h.writeUInt32BE(ip(o.src), 12);
  h.writeUInt32BE(ip(o.dst), 16);
  Buffer.from(opts).copy(h, 20);
  h.writeUInt16BE(o.checksum ?? internetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

export function icmp(o: {
  type: number;
  code?: number;
  id?: number;
  seq?: number;
  data?: Uint8Array;
  rest?: number;
}): Buffer {
  const data = o.data ?? new Uint8Array();
  const b = Buffer.alloc(8 + data.length);
  b[0] = o.type;
  b[1] = o.code ?? 0;
  if (o.rest !== undefined) b.writeUInt32BE(o.rest >>> 0, 4);
  else {
    b.writeUInt16BE(o.id ?? 0, 4);
    b.writeUInt16BE(o.seq ?? 0, 6);
  }
  Buffer.from(data).copy(b, 8);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

function pseudoSum(src: string, dst: string, proto: number, len: number): number {
  const p = Buffer.alloc(12);
  p.writeUInt32BE(ip(src), 0);
  p.writeUInt32BE(ip(dst), 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return ~internetChecksum(p) & 0xffff;
}

export function udp(o: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  data?: Uint8Array;
  zeroChecksum?: boolean;
}): Buffer {
  const data = o.data ?? new Uint8Array();
  const b = Buffer.alloc(8 + data.length);
  b.writeUInt16BE(o.sport, 0);
  b.writeUInt16BE(o.dport, 2);
  b.writeUInt16BE(b.length, 4);
  Buffer.from(data).copy(b, 8);
  if (!o.zeroChecksum) {
    const c = internetChecksum(b, pseudoSum(o.src, o.dst, 17, b.length));
    b.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  }
  return b;
}

export function tcp(o: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags?: number;
  seq?: number;
  data?: Uint8Array;
}): Buffer {
  const data = o.data ?? new Uint8Array();
  const b = Buffer.alloc(20 + data.length);
  b.writeUInt16BE(o.sport, 0);
  b.writeUInt16BE(o.dport, 2);
  b.writeUInt32BE(o.seq ?? 1, 4);
  b[12] = 5 << 4;
  b[13] = o.flags ?? 0x02;
  b.writeUInt16BE(65535, 14);
  Buffer.from(data).copy(b, 20);
  b.writeUInt16BE(internetChecksum(b, pseudoSum(o.src, o.dst, 6, b.length)), 16);
  return b;
}

/** A whole UDP frame: what benchmarks and most forwarding tests send. */
export function udpFrame(o: {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  df?: boolean;
  vlan?: number;
  /** Total frame length (pads the UDP payload); at least 42. */
  frameLen?: number;
}): Buffer {
  const base = (o.vlan !== undefined ? 18 : 14) + 28;
  const data = Buffer.alloc(Math.max(0, (o.frameLen ?? 60) - base));
  for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
  const l4 = udp({ src: o.src, dst: o.dst, sport: o.sport ?? 1024, dport: o.dport ?? 9, data });
  const l3 = ipv4({ src: o.src, dst: o.dst, proto: 17, ttl: o.ttl ?? 64, df: o.df }, l4);
  return ethernet({ dst: o.dstMac, src: o.srcMac, type: 0x0800, vlan: o.vlan }, l3);
}

/** A VXLAN packet from a VTEP carrying `inner` (a whole Ethernet frame). */
export function vxlanFrame(o: {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  vni: number;
  inner: Uint8Array;
  sport?: number;
  dport?: number;
  flags?: number;
  ttl?: number;
}): Buffer {
  const vx = Buffer.alloc(8);
  vx[0] = o.flags ?? 0x08;
  vx.writeUIntBE(o.vni, 4, 3);
  const l4 = udp({
    src: o.src,
    dst: o.dst,
    sport: o.sport ?? 50000,
    dport: o.dport ?? 4789,
    data: Buffer.concat([vx, o.inner]),
    zeroChecksum: true,
  });
  return ethernet(
    { dst: o.dstMac, src: o.srcMac, type: 0x0800 },
    ipv4({ src: o.src, dst: o.dst, proto: 17, ttl: o.ttl ?? 64, df: true }, l4),
  );
}
