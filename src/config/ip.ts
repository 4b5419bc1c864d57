// IPv4 and MAC address helpers: the one place where the control plane turns
// text into numbers and back. Addresses are unsigned 32-bit numbers in host
// order, as the addon expects.

export function parseIp4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part.startsWith('0')) return null; // no octal-looking parts
    const b = Number(part);
    if (b > 255) return null;
    v = v * 256 + b;
  }
  return v;
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
  const ip = parseIp4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === null || !/^\d{1,2}$/.test(lenText)) return null;
  const len = Number(lenText);
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
