// IPv4 and MAC address helpers: the one place where the control plane turns
// text into numbers and back. Addresses are unsigned 32-bit numbers in host
// order, as the addon expects.

/** Dotted-quad text to a number; null unless it is exactly four decimal octets without leading zeros. */
export function parseIp4(text: string): number | null {
  return parseIp4Range(text, 0, text.length);
}

// The address in text[start, end): a scan by character code, since a large
// configuration parses hundreds of thousands of these.
function parseIp4Range(text: string, start: number, end: number): number | null {
  let v = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    const first = i;
    let b = 0;
    while (i < end) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      b = b * 10 + d;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || b > 255) return null;
    if (digits > 1 && text.charCodeAt(first) === 48) return null; // no octal-looking parts
    v = v * 256 + b;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 46) return null; // '.'
      i++;
    }
  }
  return i === end ? v : null;
}

export function formatIp4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

export interface Prefix {
  ip: number;
  len: number;
}

export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp4Range(text, 0, slash);
  const digits = text.length - slash - 1;
  if (ip === null || digits < 1 || digits > 2) return null;
  let len = 0;
  for (let i = slash + 1; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    len = len * 10 + d;
  }
  if (len > 32) return null;
  return { ip, len };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp4(p.ip)}/${p.len}`;
}

export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function networkOf(ip: number, len: number): number {
  return (ip & maskOf(len)) >>> 0;
}

export function broadcastOf(ip: number, len: number): number {
  return (networkOf(ip, len) | ~maskOf(len)) >>> 0;
}

export function contains(p: Prefix, ip: number): boolean {
  return networkOf(ip, p.len) === networkOf(p.ip, p.len);
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  const len = Math.min(a.len, b.len);
  return networkOf(a.ip, len) === networkOf(b.ip, len);
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

export function isMac(text: string): boolean {
  return MAC.test(text);
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** IP protocol numbers by the names configurations, filters and views use. */
export const IP_PROTOCOLS = { icmp: 1, tcp: 6, udp: 17 } as const;
/** The same, name by number. */
export const IP_PROTOCOL_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(IP_PROTOCOLS).map(([name, n]) => [n, name]),
);
