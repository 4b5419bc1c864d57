// The VPCs' way to the internet, against real peers: the VPC lab's VMs
// behind kernel VXLAN hypervisors, and an "internet" namespace (the
// upstream router, with a real HTTP server and iperf3 on 8.8.8.8) behind
// the gateway's uplink, both on AF_XDP. vpc-a reaches the internet through
// a NAT gateway, b1 through its elastic IP. Two workers, two queues on each
// of the gateway's interfaces: the two directions of a connection land on
// whichever queue, and the shared connection table must find them. Needs
// root.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsRun, nsSpawn, stop, waitForLine } from '../../src/lab/exec.js';
import {
  curl,
  type HttpServer,
  type IperfServer,
  iperf,
  ping,
  startHttpServer,
  startIperfServer,
  tsharkCapture,
} from '../../src/lab/traffic.js';
import { type VpcLab, vpcLabDown, vpcLabUp } from '../../src/lab/vpc.js';
import { EIP_B1, NAT_PUBLIC_IP, VPC_SCENARIO, vpcScenarioConfig } from '../../src/lab/vpc-scenario.js';
import { silentLogger } from '../../src/log/logger.js';
import { GatewayService } from '../../src/service/gateway-service.js';

const PREFIX = 'nfvgw-t-inet';
const SERVER = '8.8.8.8';

let lab: VpcLab;
let svc: GatewayService;
const http: HttpServer[] = [];
let iperfServer: IperfServer;

const vm = (name: string) => lab.vms.get(name)!;
const drops = (reason: string) => svc.status().drops.byReason[reason] ?? 0;

beforeAll(async () => {
  lab = await vpcLabUp({ ...VPC_SCENARIO, prefix: PREFIX, internet: { hosts: [SERVER] }, queues: 2 });
  svc = GatewayService.start(vpcScenarioConfig(lab, { workers: [{}, {}] }), silentLogger());
  http.push(await startHttpServer(lab.internet!.ns, SERVER, 80, 1 << 20));
  http.push(await startHttpServer(vm('b1').ns, vm('b1').ip, 80));
  http.push(await startHttpServer(vm('a3').ns, vm('a3').ip, 80));
  iperfServer = await startIperfServer(lab.internet!.ns, SERVER);
});

afterAll(async () => {
  for (const s of http) await s.stop();
  await iperfServer?.stop();
  svc?.close();
  await vpcLabDown(PREFIX);
});

describe('internet through a NAT gateway and an elastic IP (root, netns, af_xdp)', () => {
  it('takes a VM without a public address to a real HTTP server, 1 MiB intact, from the NAT address', async () => {
    const r = await curl(vm('a1').ns, `http://${SERVER}/blob.bin`);
    expect(r).toMatchObject({ status: 200, bytes: 1 << 20 });
    const flows = svc.flows({ vpc: 'vpc-a', ip: vm('a1').ip, protocol: 'tcp' }).flows;
    expect(flows.some((f) => f.kind === 'connection' && f.reply.dst === NAT_PUBLIC_IP)).toBe(true);
  });

  it('carries ping, a 10-second iperf3 TCP run and iperf3 UDP through the NAT gateway', async () => {
    expect((await ping(vm('a3').ns, SERVER, { count: 3 })).received).toBe(3);
    const t = await iperf(vm('a1').ns, SERVER, { seconds: 10 });
    expect(t.bitsPerSecond).toBeGreaterThan(0);
    const u = await iperf(vm('a2').ns, SERVER, { seconds: 2, udp: true, bitrate: '20M' });
    expect(u.packets).toBeGreaterThan(0);
  });

  it('shares one public address among many parallel connections of several VMs', async () => {
    const results = await Promise.all(
      ['a1', 'a2', 'a3'].flatMap((name) =>
        Array.from({ length: 8 }, () => curl(vm(name).ns, `http://${SERVER}/`, { timeoutS: 10 })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    // Both workers carried some of it, on both sides.
    for (const name of ['underlay', 'uplink']) {
      const port = svc.stats().ports.find((p) => p.name === name)!;
      expect(port.queues.map((q) => q.rxPackets > 0)).toEqual([true, true]);
    }
    const tcp = svc.natPorts().find((p) => p.protocol === 'tcp')!;
    expect(tcp).toMatchObject({ natGateway: 'ngw-a', publicIp: NAT_PUBLIC_IP });
    expect(tcp.inUse).toBeGreaterThanOrEqual(3);
  });

  it('lets traceroute through the NAT gateway: the ICMP errors come back translated', async () => {
    const out = await nsRun(vm('a1').ns, 'traceroute', ['-n', '-q', '1', '-w', '2', '-m', '5', SERVER], {
      allowFail: true,
      timeoutMs: 60_000,
    });
    // Hop 1: the subnet's gateway (time exceeded); hop 2: the server itself
    // (port unreachable, to the NAT address, translated back to a1).
    const hops = out.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[1]);
    expect(hops.slice(0, 2)).toEqual(['10.1.1.1', SERVER]);
  });

  it('carries a protocol without ports (GRE) by address, both ways', async () => {
    // Raw GRE sockets (this kernel has no GRE devices): the server echoes
    // each packet back to where it came from and says who that was.
    const echo = nsSpawn(lab.internet!.ns, 'python3', [
      '-c',
      [
        'import socket, sys',
        's = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)',
        `s.bind(("${SERVER}", 0))`,
        's.settimeout(15)',
        'print("ready", flush=True)',
        'for _ in range(3):',
        '    data, (src, _) = s.recvfrom(2048)',
        '    ihl = (data[0] & 15) * 4',
        '    s.sendto(data[ihl:], (src, 0))',
        '    print(src, flush=True)',
      ].join('\n'),
    ]);
    let seen = '';
    echo.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    try {
      // The client sends once the server's socket is bound (python can take
      // a while to start on a loaded machine).
      await waitForLine(echo, /ready/, 'the GRE echo server', 20_000);
      const out = await nsRun(vm('a2').ns, 'python3', [
        '-c',
        [
          'import socket',
          's = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)',
          's.settimeout(5)',
          'for i in range(3):',
          `    s.sendto(bytes([0, 0, 0x88, 0x0b]) + b"hello %d" % i, ("${SERVER}", 0))`,
          '    data, (src, _) = s.recvfrom(2048)',
          '    ihl = (data[0] & 15) * 4',
          '    print(src, data[ihl + 4:].decode())',
        ].join('\n'),
      ]);
      expect(out.stdout.trim().split('\n')).toEqual([0, 1, 2].map((i) => `${SERVER} hello ${i}`));
      expect(seen.trim().split('\n')).toEqual(['ready', NAT_PUBLIC_IP, NAT_PUBLIC_IP, NAT_PUBLIC_IP]);
      const flows = svc.flows({ vpc: 'vpc-a', ip: vm('a2').ip }).flows;
      expect(flows.some((f) => f.kind === 'connection' && f.protocol === '47')).toBe(true);
    } finally {
      await stop(echo);
    }
  });

  it('forwards a public port to a VM, from the internet and from inside (hairpinning)', async () => {
    const outside = await curl(lab.internet!.ns, `http://${NAT_PUBLIC_IP}:8080/`, { keepBody: true });
    expect(outside.body).toContain(`hello from ${PREFIX}-a3`);
    const inside = await curl(vm('a1').ns, `http://${NAT_PUBLIC_IP}:8080/`, { keepBody: true });
    expect(inside.body).toContain(`hello from ${PREFIX}-a3`);
  });

  it('puts only well-formed translated packets on the wire (tshark checks every checksum)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nfvgw-pcap-'));
    const file = join(dir, 'inet.pcap');
    const inet = lab.internet!;
    const cap = await tsharkCapture(inet.ns, 'eth0', `src host ${NAT_PUBLIC_IP}`, file);
    try {
      expect((await curl(vm('a1').ns, `http://${SERVER}/`)).status).toBe(200); // TCP
      expect((await ping(vm('a1').ns, SERVER, { count: 2 })).received).toBe(2); // ICMP echo
      await iperf(vm('a2').ns, SERVER, { seconds: 1, udp: true, bitrate: '1M' }); // UDP
      await cap.done();
      const out = await nsRun(inet.ns, 'tshark', [
        ...['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE'],
        ...['-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|'],
        ...['-e', 'ip.proto', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status'],
        ...['-e', 'udp.checksum.status', '-e', 'icmp.checksum.status'],
      ]);
      const rows = out.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('|'));
      const good = (v: string | undefined) => v === '1' || v === 'Good';
      const seen = new Set<string>();
      for (const [proto, ipSum, tcpSum, udpSum, icmpSum] of rows) {
        expect(good(ipSum)).toBe(true);
        const l4 = proto === '6' ? tcpSum : proto === '17' ? udpSum : icmpSum;
        expect(good(l4)).toBe(true);
        seen.add(proto!);
      }
      expect([...seen].sort()).toEqual(['1', '17', '6']);
    } finally {
      await cap.done();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses connections from the internet to the NAT address', async () => {
    const before = drops('nat_no_connection');
    const r = await curl(lab.internet!.ns, `http://${NAT_PUBLIC_IP}/`, { timeoutS: 2 });
    expect(r.status).toBe(0);
    expect(drops('nat_no_connection')).toBeGreaterThan(before);
  });

  it('takes b1 out with its elastic IP, and the internet in to it', async () => {
    expect((await curl(vm('b1').ns, `http://${SERVER}/`)).status).toBe(200);
    const flows = svc.flows({ vpc: 'vpc-b', protocol: 'tcp' }).flows;
    expect(flows.some((f) => f.reply.dst === EIP_B1)).toBe(true);
    const page = await curl(lab.internet!.ns, `http://${EIP_B1}/`, { keepBody: true });
    expect(page.status).toBe(200);
    expect(page.body).toContain(`hello from ${PREFIX}-b1`);
  });

  it('keeps what its groups do not allow out of the elastic IP', async () => {
    const before = drops('sg_inbound_denied');
    expect((await ping(lab.internet!.ns, EIP_B1, { count: 2, deadlineS: 3 })).received).toBe(0);
    expect(drops('sg_inbound_denied')).toBeGreaterThan(before);
  });
});
