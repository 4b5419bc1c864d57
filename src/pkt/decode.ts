// Reading frames back for assertions: enough of Ethernet, ARP, IPv4, ICMP,
// UDP and TCP to check what the gateway sent, checksums included.
import { formatIp4, formatMac } from '../config/ip.js';
import { internetChecksum } from './build.js';

export interface Decoded {
  dst: string;
  src: string;
  vlan: number | null;
  type: number;
  arp?: { op: number; sha: string; spa: string; tha: string; tpa: string };
  ip?: {
    src: string;
    dst: string;
    ttl: number;
    proto: number;
    totalLength: number;
    headerLength: number;
    id: number;
    df: boolean;
    tos: number;
    checksumOk: boolean;
  };
  icmp?: { type: number; code: number; id: number; seq: number; checksumOk: boolean; payload: Buffer };
  udp?: { sport: number; dport: number; checksum: number };
  tcp?: { sport: number; dport: number; flags: number };
  /** TCP and UDP: the checksum over the pseudo-header and segment is right (a UDP checksum of 0 means none). */
  l4ChecksumOk?: boolean;
  l3: Buffer;
}

/** The TCP or UDP checksum of `l4` between `l3`'s addresses checks out. */
function l4ChecksumOk(l3: Buffer, l4: Buffer): boolean {
  const pseudo = Buffer.alloc(12);
  l3.copy(pseudo, 0, 12, 20);
  pseudo[9] = l3[9]!;
  pseudo.writeUInt16BE(l4.length, 10);
  return internetChecksum(Buffer.concat([pseudo, l4])) === 0;
}

export function decode(frame: Buffer): Decoded {
  let off = 12;
  let type = frame.readUInt16BE(off);
  let vlan: number | null = null;
  if (type === 0x8100) {
    vlan = frame.readUInt16BE(14) & 0x0fff;
    type = frame.readUInt16BE(16);
    off = 16;
  }
  const l3 = frame.subarray(off + 2);
  const d: Decoded = {
    dst: formatMac(frame.subarray(0, 6)),
    src: formatMac(frame.subarray(6, 12)),
    vlan,
    type,
    l3,
  };
  if (type === 0x0806 && l3.length >= 28) {
    d.arp = {
      op: l3.readUInt16BE(6),
      sha: formatMac(l3.subarray(8, 14)),
      spa: formatIp4(l3.readUInt32BE(14)),
      tha: formatMac(l3.subarray(18, 24)),
      tpa: formatIp4(l3.readUInt32BE(24)),
    };
  } else if (type === 0x0800 && l3.length >= 20) {
    const hl = (l3[0]! & 15) * 4;
    const total = l3.readUInt16BE(2);
    d.ip = {
      src: formatIp4(l3.readUInt32BE(12)),
      dst: formatIp4(l3.readUInt32BE(16)),
      ttl: l3[8]!,
      proto: l3[9]!,
      totalLength: total,
      headerLength: hl,
      id: l3.readUInt16BE(4),
      df: (l3.readUInt16BE(6) & 0x4000) !== 0,
      tos: l3[1]!,
      checksumOk: internetChecksum(l3.subarray(0, hl)) === 0,
    };
    const l4 = l3.subarray(hl, total);
    if (d.ip.proto === 1 && l4.length >= 8) {
      d.icmp = {
        type: l4[0]!,
        code: l4[1]!,
        id: l4.readUInt16BE(4),
        seq: l4.readUInt16BE(6),
        checksumOk: internetChecksum(l4) === 0,
        payload: l4.subarray(8),
      };
    } else if (d.ip.proto === 17 && l4.length >= 8) {
      d.udp = { sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2), checksum: l4.readUInt16BE(6) };
      d.l4ChecksumOk = d.udp.checksum === 0 || l4ChecksumOk(l3, l4);
    } else if (d.ip.proto === 6 && l4.length >= 20) {
      d.tcp = { sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2), flags: l4[13]! };
      d.l4ChecksumOk = l4ChecksumOk(l3, l4);
    }
  }
  return d;
}

export interface DecodedVxlan {
  outer: Decoded;
  sport: number;
  dport: number;
  udpChecksum: number;
  flags: number;
  vni: number;
  inner: Decoded;
  innerFrame: Buffer;
}

/** A VXLAN packet: the outer headers, the VNI, and the inner frame decoded. */
export function decodeVxlan(frame: Buffer): DecodedVxlan {
  const outer = decode(frame);
  if (!outer.ip || !outer.udp) throw new Error('not a UDP/IPv4 frame');
  const l4 = outer.l3.subarray(outer.ip.headerLength);
  const vx = l4.subarray(8, 16);
  const innerFrame = Buffer.from(l4.subarray(16, outer.l3.readUInt16BE(2) - outer.ip.headerLength));
  return {
    outer,
    sport: outer.udp.sport,
    dport: outer.udp.dport,
    udpChecksum: outer.udp.checksum,
    flags: vx[0]!,
    vni: vx.readUIntBE(4, 3),
    inner: decode(innerFrame),
    innerFrame,
  };
}
