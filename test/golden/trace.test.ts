// Packet traces and captures through in-memory ports: a forwarded packet's
// stages and fate, a dropped one's reason, a VM's packet through the
// overlay and a NAT gateway, the filter (packets that do not match are not
// traced, the count is kept), and captures whose pcap files tcpdump reads
// back with exactly the frames that went in and out.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { ethernet, ipv4, udp, udpFrame, vxlanFrame } from '../../src/pkt/build.js';
import { pcapHeader, pcapRecord, readPcap } from '../../src/pkt/pcap.js';
import { CaptureSession, compileTapFilter, runTrace, type TraceOptions } from '../../src/service/tap.js';
import { MemGateway } from '../support/mem-gateway.js';

const LAN = '02:00:00:00:00:01';
const WAN = '02:00:00:00:00:02';
const UNDERLAY = '02:00:00:00:01:01';
const HOST = '02:aa:00:00:00:02';
const ROUTER = '02:bb:00:00:00:fe';
const HV = { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' };
const VM = { ip: '10.1.1.10', mac: '02:a0:00:00:00:01' };
const VROUTER = '02:00:5e:10:00:01';
const NAT_IP = '198.51.100.10';

const config: ConfigInput = {
  workers: [{ pollMode: 'adaptive' }],
  ports: [
    { name: 'lan', type: 'mem', mac: LAN, addresses: ['10.0.1.1/24'] },
    { name: 'wan', type: 'mem', mac: WAN, addresses: ['192.0.2.1/24'] },
    { name: 'underlay', type: 'mem', mac: UNDERLAY, mtu: 1600, addresses: ['192.168.100.1/24'] },
  ],
  routes: [
    { destination: '0.0.0.0/0', via: '192.0.2.254' },
    { destination: '203.0.113.0/24', type: 'blackhole' },
  ],
  neighbors: [
    { port: 'wan', address: '192.0.2.254', mac: ROUTER },
    { port: 'lan', address: '10.0.1.2', mac: HOST },
    { port: 'underlay', address: HV.ip, mac: HV.mac },
  ],
  overlay: { port: 'underlay', routerMac: VROUTER },
  internet: { port: 'wan' },
  vpcs: [{ id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] }],
  subnets: [{ id: 'private', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt-private' }],
  routeTables: [
    { id: 'rt-private', vpc: 'vpc-a', routes: [{ destination: '0.0.0.0/0', target: 'nat:ngw-1' }] },
  ],
  natGateways: [{ id: 'ngw-1', vpc: 'vpc-a', publicIps: [NAT_IP], ports: '20000-20099' }],
  enis: [{ id: 'eni-vm', subnet: 'private', mac: VM.mac, ip: VM.ip, vtep: HV.ip, securityGroups: ['sg-a'] }],
  securityGroups: [{ id: 'sg-a', vpc: 'vpc-a', inbound: [] }],
};

let gw: MemGateway;
let dir: string;
beforeAll(() => {
  gw = MemGateway.start(config);
  dir = mkdtempSync(join(tmpdir(), 'nfvgw-tr-'));
});
afterAll(() => {
  gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function fromHost(dst: string, sport = 1024, dport = 53) {
  return udpFrame({ dstMac: LAN, srcMac: HOST, src: '10.0.1.2', dst, sport, dport, frameLen: 60 });
}

/** Arms a trace, sends `frames` on `port`, and returns what the trace found. */
async function traced(opts: TraceOptions, port: string, ...frames: Buffer[]) {
  // runTrace arms before its first await: the frames cannot come too early.
  const pending = runTrace(gw.dataplane, gw.svc.config, { timeoutMs: 10_000, ...opts });
  const sent = await gw.send(port, ...frames);
  return { trace: await pending, sent };
}

describe('packet trace', () => {
  it('shows a forwarded packet: received, parsed, routed, sent with its length and next hop', async () => {
    const { trace } = await traced({ count: 1 }, 'lan', fromHost('8.1.2.3'));
    expect(trace.complete).toBe(true);
    expect(trace.packets).toHaveLength(1);
    const p = trace.packets[0]!;
    expect(p).toMatchObject({
      port: 'lan',
      queue: 0,
      worker: 0,
      length: 60,
      summary: 'udp 10.0.1.2:1024 -> 8.1.2.3:53',
      fate: { action: 'sent', port: 'wan', length: 60 },
      truncated: false,
    });
    expect(p.head).toBe(fromHost('8.1.2.3').toString('hex'));
    expect(p.stages).toEqual([
      { stage: 'parsed', ethertype: 'ipv4', protocol: 'udp' },
      { stage: 'route', kind: 'via', port: 'wan', via: '192.0.2.254' },
      { stage: 'sent', port: 'wan', length: 60, mac: ROUTER },
    ]);
  });

  it('shows a dropped packet with its reason', async () => {
    const { trace, sent } = await traced({ count: 1 }, 'lan', fromHost('203.0.113.9'));
    expect(sent.drops).toEqual({ ip4_blackhole: 1 });
    expect(trace.packets.map((p) => p.stages)).toEqual([
      [
        { stage: 'parsed', ethertype: 'ipv4', protocol: 'udp' },
        { stage: 'route', kind: 'blackhole' },
        { stage: 'dropped', reason: 'ip4_blackhole' },
      ],
    ]);
    expect(trace.packets[0]!.fate).toEqual({ action: 'dropped', reason: 'ip4_blackhole' });
  });

  it('follows a VM packet through the overlay, the security group, conntrack and the NAT gateway', async () => {
    const inner = ethernet(
      { dst: VROUTER, src: VM.mac, type: 0x0800 },
      ipv4(
        { src: VM.ip, dst: '8.8.8.8', proto: 17, ttl: 64 },
        udp({ src: VM.ip, dst: '8.8.8.8', sport: 5000, dport: 53, data: Buffer.alloc(8) }),
      ),
    );
    const frame = vxlanFrame({
      dstMac: UNDERLAY,
      srcMac: HV.mac,
      src: HV.ip,
      dst: '192.168.100.1',
      vni: 1001,
      inner,
    });
    // The inner packet matches (the outer one is to the VTEP, from the hypervisor).
    const { trace, sent } = await traced(
      { count: 1, filter: { vni: 1001, dst: '8.8.8.8', dport: 53 } },
      'underlay',
      frame,
    );
    expect(sent.out.wan).toHaveLength(1);
    const p = trace.packets[0]!;
    expect(p.summary).toBe(
      'vxlan 192.168.100.11 -> 192.168.100.1 vni 1001: udp 10.1.1.10:5000 -> 8.8.8.8:53',
    );
    expect(p.stages.map((s) => s.stage)).toEqual([
      'parsed',
      'vxlan_decap',
      'eni_source',
      'vpc_route',
      'secgroup',
      'conntrack',
      'nat',
      'sent',
    ]);
    const byStage = Object.fromEntries(p.stages.map((s) => [s.stage, s]));
    expect(byStage.vxlan_decap).toEqual({ stage: 'vxlan_decap', vni: 1001, vpc: 'vpc-a' });
    expect(byStage.eni_source).toEqual({ stage: 'eni_source', eni: 'eni-vm', routed: true });
    expect(byStage.vpc_route).toEqual({
      stage: 'vpc_route',
      target: 'nat',
      routeTable: 'rt-private',
      destination: '8.8.8.8',
    });
    expect(byStage.secgroup).toEqual({ stage: 'secgroup', direction: 'outbound', verdict: 'allow' });
    expect(byStage.conntrack).toEqual({ stage: 'conntrack', result: 'new', state: 'unreplied' });
    expect(byStage.nat).toMatchObject({ stage: 'nat', rewrote: 'source', address: NAT_IP });
    expect(byStage.sent).toMatchObject({ port: 'wan', mac: ROUTER });
    expect(p.fate).toMatchObject({ action: 'sent', port: 'wan' });

    // The same flow again: a connection-table hit now.
    const again = await traced({ count: 1, filter: { vni: 1001 } }, 'underlay', frame);
    expect(again.trace.packets[0]!.stages.find((s) => s.stage === 'conntrack')).toEqual({
      stage: 'conntrack',
      result: 'hit',
      state: 'unreplied',
      direction: 'original',
    });
  });

  it('traces only what the filter matches, and no more than the count', async () => {
    const frames = [
      fromHost('9.9.9.9', 1000), // not to 8/8
      fromHost('8.0.0.1', 1001),
      fromHost('8.0.0.2', 1002, 80), // wrong port
      fromHost('8.0.0.3', 1003),
      fromHost('8.0.0.4', 1004),
    ];
    const { trace, sent } = await traced(
      { count: 2, filter: { dst: '8.0.0.0/8', dport: 53, protocol: 'udp' } },
      'lan',
      ...frames,
    );
    expect(sent.out.wan).toHaveLength(5);
    expect(trace.complete).toBe(true);
    expect(trace.packets.map((p) => p.summary)).toEqual([
      'udp 10.0.1.2:1001 -> 8.0.0.1:53',
      'udp 10.0.1.2:1003 -> 8.0.0.3:53',
    ]);
    // A port filter: nothing from the lan side matches port wan.
    const none = await traced(
      { count: 1, timeoutMs: 50, filter: { port: 'wan' } },
      'lan',
      fromHost('8.0.0.9'),
    );
    expect(none.trace).toEqual({ packets: [], complete: false, missed: 0 });
  });

  it('refuses bad filters with the field and the reason', () => {
    const cfg = gw.svc.config;
    expect(() => compileTapFilter({ src: '10.0.0.300' }, cfg)).toThrow(
      'filter.src: 10.0.0.300 is not an IPv4 address',
    );
    expect(() => compileTapFilter({ dst: '10.0.0.0/33' }, cfg)).toThrow(
      'filter.dst: 10.0.0.0/33 is not an IPv4 prefix',
    );
    expect(() => compileTapFilter({ port: 'eth9' }, cfg)).toThrow(
      'filter.port: no port "eth9"; there are: lan, wan, underlay',
    );
    expect(() => compileTapFilter({ dport: 70000 }, cfg)).toThrow(
      'filter.dport: 70000 is not a whole number in 0..65535',
    );
    expect(() => compileTapFilter({ proto: 'tcp' }, cfg)).toThrow(
      'filter: unknown field proto; there are: port, src',
    );
    expect(() => compileTapFilter({ protocol: 'icmp', dport: 1 }, cfg)).toThrow(
      'only for protocol tcp or udp',
    );
    expect(() => compileTapFilter({ vni: 1 << 24 }, cfg)).toThrow('filter.vni');
  });
});

describe('packet capture', () => {
  /** Writes `frames` as the API does and has tcpdump read the file back. */
  function tcpdump(
    name: string,
    snaplen: number,
    frames: { timeUs: number; data: Buffer; origLen: number }[],
  ) {
    const file = join(dir, name);
    writeFileSync(
      file,
      Buffer.concat([pcapHeader(snaplen), ...frames.map((f) => pcapRecord(f.timeUs, f.data, f.origLen))]),
    );
    const text = execFileSync('tcpdump', ['-r', file, '-nn', '-e', '-xx'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { file, text, records: readPcap(execFileSync('cat', [file])) };
  }

  it('captures the frames received and sent on a port, in a pcap tcpdump reads', async () => {
    const session = new CaptureSession(gw.dataplane, {
      filter: compileTapFilter({ port: 'wan' }, gw.svc.config),
      direction: 'both',
      snaplen: 65535,
      count: 0,
    });
    const out = fromHost('8.7.6.5', 1024, 9999); // not 53: tcpdump would decode DNS
    const back = udpFrame({
      dstMac: WAN,
      srcMac: ROUTER,
      src: '8.7.6.5',
      dst: '10.0.1.2',
      sport: 9999,
      dport: 1024,
      frameLen: 60,
    });
    const r1 = await gw.send('lan', out);
    const r2 = await gw.send('wan', back);
    const frames = [...session.take(), ...session.stop()];
    expect(session.missed).toBe(0);
    // On wan: the forwarded frame leaving (tx), the reply arriving (rx); not the lan side.
    expect(frames.map((f) => [f.dir, f.data])).toEqual([
      ['tx', r1.out.wan![0]],
      ['rx', back],
    ]);
    const { text, records } = tcpdump('both.pcap', 65535, frames);
    expect(records.map((r) => r.data)).toEqual([r1.out.wan![0], back]);
    const lines = text.split('\n').filter((l) => /^\d/.test(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`${WAN} > ${ROUTER}`);
    expect(lines[0]).toContain('10.0.1.2.1024 > 8.7.6.5.9999: UDP');
    expect(lines[1]).toContain('8.7.6.5.9999 > 10.0.1.2.1024: UDP');
    expect(r2.out.lan).toHaveLength(1);
  });

  it('keeps to one direction, the filter, the count and the snap length', async () => {
    const session = new CaptureSession(gw.dataplane, {
      filter: compileTapFilter({ port: 'lan', dst: '8.0.0.0/8' }, gw.svc.config),
      direction: 'rx',
      snaplen: 34,
      count: 2,
    });
    const frames = [fromHost('9.0.0.1'), fromHost('8.0.0.1'), fromHost('8.0.0.2'), fromHost('8.0.0.3')];
    await gw.send('lan', ...frames);
    const got = [...session.take(), ...session.stop()];
    expect(session.done).toBe(true);
    expect(got.map((f) => [f.dir, f.origLen, f.data])).toEqual([
      ['rx', 60, frames[1]!.subarray(0, 34)],
      ['rx', 60, frames[2]!.subarray(0, 34)],
    ]);
    const { text } = tcpdump('rx.pcap', 34, got);
    expect(text.match(/> 8\.0\.0\.\d/g)).toEqual(['> 8.0.0.1', '> 8.0.0.2']);
  });

  it('is one capture at a time', () => {
    const filter = compileTapFilter({}, gw.svc.config);
    const s = new CaptureSession(gw.dataplane, { filter, direction: 'both', snaplen: 100, count: 0 });
    expect(
      () => new CaptureSession(gw.dataplane, { filter, direction: 'both', snaplen: 100, count: 0 }),
    ).toThrow('a capture is already running');
    s.stop();
  });
});
