// The classic libpcap file format (what tcpdump -w writes and every tool
// reads): a 24-byte file header, then per frame a 16-byte record header
// with the time in seconds and microseconds, the bytes kept and the
// frame's length on the wire. Little-endian, LINKTYPE_ETHERNET.
const MAGIC_US = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;

/** The file header; `snaplen`: the most bytes any record keeps. */
export function pcapHeader(snaplen: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(MAGIC_US, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8); // GMT
  b.writeUInt32LE(0, 12); // accuracy
  b.writeUInt32LE(snaplen, 16);
  b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return b;
}

/** One record: `timeUs` since the epoch, the bytes kept, and the length the frame had. */
export function pcapRecord(timeUs: number, data: Buffer, origLen = data.length): Buffer {
  const h = Buffer.alloc(16);
  const us = Math.round(timeUs);
  h.writeUInt32LE(Math.floor(us / 1e6) >>> 0, 0);
  h.writeUInt32LE(us % 1e6, 4);
  h.writeUInt32LE(data.length, 8);
  h.writeUInt32LE(origLen, 12);
  return Buffer.concat([h, data]);
}

/** The records of a pcap file (for tests and the CLI's count): time, bytes, original length. */
export function readPcap(file: Buffer): { timeUs: number; data: Buffer; origLen: number }[] {
  if (file.length < 24 || file.readUInt32LE(0) !== MAGIC_US)
    throw new Error('not a little-endian microsecond pcap file');
  const out: { timeUs: number; data: Buffer; origLen: number }[] = [];
  for (let off = 24; off + 16 <= file.length; ) {
    const caplen = file.readUInt32LE(off + 8);
    out.push({
      timeUs: file.readUInt32LE(off) * 1e6 + file.readUInt32LE(off + 4),
      data: file.subarray(off + 16, off + 16 + caplen),
      origLen: file.readUInt32LE(off + 12),
    });
    off += 16 + caplen;
  }
  return out;
}
