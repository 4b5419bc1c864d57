// Golden packets from the pipeline fuzzer (scripts/fuzz.sh): each input it
// found a bug with, replayed on a MemGateway with the fuzzer's own
// configuration (test/fuzz/config.ts), with what the gateway must do
// instead. Next to each, the same packet as it should be, which must go
// through: the configuration and the replay work, and the case is not
// passing by accident.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethernet, ipv4, tcp, vxlanFrame } from '../../src/pkt/build.js';
import { fuzzConfig } from '../fuzz/config.js';
import { encodeInput, replayInput } from '../fuzz/input.js';
import { MemGateway } from '../support/mem-gateway.js';

const UNDERLAY = 0;
const UPLINK = 1;
const GW = '02:00:00:00:01:01'; // underlay (192.168.100.1) and the load balancer's front (10.70.0.1)
const UPLINK_MAC = '02:00:00:00:02:01';
const CLIENT = { ip: '10.70.0.10', mac: '02:c0:00:00:00:10' };
const UPSTREAM = '02:ee:00:00:00:fe';
const ROUTER = '02:00:5e:10:00:01';
const HV2 = { ip: '192.168.100.12', mac: '02:cc:00:00:00:12' };

let gw: MemGateway;
beforeAll(() => {
  gw = MemGateway.start(fuzzConfig);
});
afterAll(() => gw?.close());

/**
 * A TCP SYN, whole, or cut after its first 8 bytes (ports and sequence
 * number) with the IPv4 length saying so; from another source port, so
 * that it is not taken for a packet of the whole one's connection.
 */
function syn(src: string, dst: string, dport: number, cut: boolean): Buffer {
  const seg = tcp({ src, dst, sport: cut ? 40001 : 40000, dport, flags: 0x02 });
  return ipv4({ src, dst, proto: 6, ttl: 60, df: true }, cut ? seg.subarray(0, 8) : seg);
}
const fromClient = (l3: Buffer) => ethernet({ dst: GW, src: CLIENT.mac, type: 0x0800 }, l3);
const fromInternet = (l3: Buffer) => ethernet({ dst: UPLINK_MAC, src: UPSTREAM, type: 0x0800 }, l3);
const fromVm = (hv: typeof HV2, vmMac: string, l3: Buffer) =>
  vxlanFrame({
    dstMac: GW,
    srcMac: hv.mac,
    src: hv.ip,
    dst: '192.168.100.1',
    vni: 1001,
    inner: ethernet({ dst: ROUTER, src: vmMac, type: 0x0800 }, l3),
  });
/** How many frames left by each port. */
const sent = (out: Record<string, Buffer[]>) =>
  Object.fromEntries(Object.entries(out).map(([p, f]) => [p, f.length]));
const one = (port: number, frame: Buffer) =>
  encodeInput([{ port, queue: 0, boundary: true, clock: 0, frame }]);

// A TCP segment whose header is cut short (the IPv4 total length leaves 8
// of its 20 bytes) has a connection key (flowOf() reads the ports from the
// first 4 bytes), and every path that translates it then rewrites the TCP
// checksum at bytes 16-17 of the header: past the end of the packet, in
// what an earlier packet left in the buffer (ASan: use-after-poison in
// rewriteEndpoint, pkt/rewrite.h). The segment is translated, a connection
// made for it, and sent on. It must be dropped like any packet without a
// connection key: flowOf() and lb.cc's packetFlow() must not key a TCP
// segment shorter than its 20-byte header.
const TRUNCATED_TCP: {
  name: string;
  port: number;
  packet: (cut: boolean) => Buffer;
  /** Where the whole segment leaves. */
  out: string;
  drop: string;
}[] = [
  {
    name: 'to a nat-mode VIP (load balancer, forwardNat)',
    port: UNDERLAY,
    packet: (cut) => fromClient(syn(CLIENT.ip, '10.90.0.2', 80, cut)),
    out: 'uplink',
    drop: 'lb_untranslatable',
  },
  {
    name: 'to a fullnat VIP (load balancer, forwardNat)',
    port: UNDERLAY,
    packet: (cut) => fromClient(syn(CLIENT.ip, '10.90.0.3', 80, cut)),
    out: 'uplink',
    drop: 'lb_untranslatable',
  },
  {
    name: 'to an internal load balancer in a VPC (overlay balance)',
    port: UNDERLAY,
    packet: (cut) => fromVm(HV2, '02:a0:00:00:00:02', syn('10.1.1.20', '10.1.3.100', 80, cut)),
    out: 'underlay',
    drop: 'lb_untranslatable',
  },
  {
    name: 'from the internet to an elastic IP (natIngress)',
    port: UPLINK,
    packet: (cut) => fromInternet(syn('8.8.8.8', '198.51.100.20', 22, cut)),
    out: 'underlay',
    drop: 'nat_untranslatable',
  },
  {
    name: 'from a VM with an elastic IP to the internet (natEgress)',
    port: UNDERLAY,
    packet: (cut) => fromVm(HV2, '02:a0:00:00:00:03', syn('10.1.2.10', '8.8.8.8', 80, cut)),
    out: 'uplink',
    drop: 'nat_untranslatable',
  },
];

describe('fuzz regressions: a TCP header cut short is not translated', () => {
  // What the fuzzer found first (a SYN-less segment to the any-port
  // least-connections VIP 10.90.0.6, 8 bytes of TCP, one byte of padding).
  it('drops the fuzzer input (port 1 of 10.90.0.6, 8 bytes of TCP)', async () => {
    const input = Buffer.from('CAIAAAABAQLAAAAAEAgARQAAHAAAQAA8BiotCkYACgpaAAadbQABAAAC/w==', 'base64');
    const r = await replayInput(gw, input);
    expect(sent(r.out)).toEqual({});
    expect(r.drops).toEqual({ lb_untranslatable: 1 });
  });

  for (const c of TRUNCATED_TCP) {
    it(`translates a whole SYN ${c.name}`, async () => {
      const r = await replayInput(gw, one(c.port, c.packet(false)));
      expect(r.drops).toEqual({});
      expect(sent(r.out)).toEqual({ [c.out]: 1 });
    });
    it(`drops one cut after 8 bytes ${c.name}`, async () => {
      const r = await replayInput(gw, one(c.port, c.packet(true)));
      expect(sent(r.out)).toEqual({});
      expect(r.drops).toEqual({ [c.drop]: 1 });
    });
  }
});
