// The gateway as the VXLAN hub and router of VPCs, against real VTEPs: the
// Linux kernel's own vxlan devices on three "hypervisor" namespaces, real VMs
// (namespaces) behind them, the gateway on AF_XDP. Real ping and curl across
// hypervisors, subnets, a peering and a transit gateway; overlapping VPCs
// kept apart; a network ACL; a spoofed source; an ENI moved; the wire
// checked by tshark. Needs root.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { nsRun, nsSpawn, stop } from '../../src/lab/exec.js';
import { curl, type HttpServer, ping, startHttpServer } from '../../src/lab/traffic.js';
import { moveVm, type VpcLab, type VpcLabSpec, vpcLabDown, vpcLabUp, vtepOf } from '../../src/lab/vpc.js';
import { silentLogger } from '../../src/log/logger.js';
import { GatewayService } from '../../src/service/gateway-service.js';
import { sleep } from '../support/lab.js';

const PREFIX = 'nfvgw-t-vpc';
const spec: VpcLabSpec = {
  prefix: PREFIX,
  hypervisors: ['hv1', 'hv2', 'hv3'],
  vpcs: [
    { id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] },
    { id: 'vpc-b', vni: 1002, cidrs: ['10.2.0.0/16'] },
    { id: 'vpc-c', vni: 1003, cidrs: ['10.1.0.0/16'] },
    { id: 'vpc-d', vni: 1004, cidrs: ['10.4.0.0/16'] },
  ],
  subnets: [
    { id: 'a1', vpc: 'vpc-a', cidr: '10.1.1.0/24' },
    { id: 'a2', vpc: 'vpc-a', cidr: '10.1.2.0/24' },
    { id: 'b1', vpc: 'vpc-b', cidr: '10.2.1.0/24' },
    { id: 'c1', vpc: 'vpc-c', cidr: '10.1.1.0/24' },
    { id: 'd1', vpc: 'vpc-d', cidr: '10.4.1.0/24' },
  ],
  vms: [
    { name: 'a1', subnet: 'a1', ip: '10.1.1.10', mac: '02:aa:00:00:00:01', hv: 'hv1' },
    { name: 'a2', subnet: 'a1', ip: '10.1.1.20', mac: '02:aa:00:00:00:02', hv: 'hv2' },
    { name: 'a3', subnet: 'a2', ip: '10.1.2.10', mac: '02:aa:00:00:00:03', hv: 'hv2' },
    { name: 'b1', subnet: 'b1', ip: '10.2.1.10', mac: '02:bb:00:00:00:01', hv: 'hv3' },
    { name: 'c1', subnet: 'c1', ip: '10.1.1.10', mac: '02:cc:00:00:00:01', hv: 'hv3' },
    { name: 'c2', subnet: 'c1', ip: '10.1.1.20', mac: '02:cc:00:00:00:02', hv: 'hv1' },
    { name: 'd1', subnet: 'd1', ip: '10.4.1.10', mac: '02:dd:00:00:00:01', hv: 'hv1' },
  ],
};

let lab: VpcLab;
let svc: GatewayService;
const servers: HttpServer[] = [];

function config(): ConfigInput {
  const tables: Record<string, string> = { a1: 'rt-a', a2: 'rt-a', b1: 'rt-b', c1: 'rt-c', d1: 'rt-d' };
  return {
    ports: [{ name: 'underlay', type: 'af_xdp', interface: lab.gwIface, netns: lab.gwNs, addresses: ['192.168.100.1/24'] }],
    overlay: { port: 'underlay' },
    vpcs: spec.vpcs,
    subnets: spec.subnets.map((s) => ({ ...s, routeTable: tables[s.id]!, ...(s.id === 'a2' ? { networkAcl: 'acl-a2' } : {}) })),
    enis: [...lab.vms.values()].map((vm) => ({
      id: `eni-${vm.name}`,
      subnet: spec.vms.find((v) => v.name === vm.name)!.subnet,
      mac: vm.mac,
      ip: vm.ip,
      vtep: vtepOf(lab, vm.hv),
      securityGroups: [`sg-${vm.name[0]}`],
    })),
    routeTables: [
      {
        id: 'rt-a',
        vpc: 'vpc-a',
        routes: [
          { destination: '10.2.0.0/16', target: 'peering:pcx-ab' },
          { destination: '10.4.0.0/16', target: 'transit:tgw-1' },
        ],
      },
      { id: 'rt-b', vpc: 'vpc-b', routes: [{ destination: '10.1.0.0/16', target: 'peering:pcx-ab' }] },
      { id: 'rt-c', vpc: 'vpc-c' },
      { id: 'rt-d', vpc: 'vpc-d', routes: [{ destination: '10.1.0.0/16', target: 'transit:tgw-1' }] },
    ],
    peerings: [{ id: 'pcx-ab', vpcs: ['vpc-a', 'vpc-b'] }],
    transitGateways: [
      {
        id: 'tgw-1',
        attachments: ['vpc-a', 'vpc-d'],
        routes: [
          { destination: '10.1.0.0/16', target: 'vpc:vpc-a' },
          { destination: '10.4.0.0/16', target: 'vpc:vpc-d' },
        ],
      },
    ],
    networkAcls: [
      {
        id: 'acl-a2',
        vpc: 'vpc-a',
        inbound: [
          { rule: 100, action: 'deny', protocol: 'tcp', ports: 8080, cidr: '10.1.1.0/24' },
          { rule: 200, action: 'allow', cidr: '0.0.0.0/0' },
        ],
        outbound: [{ rule: 100, action: 'allow', cidr: '0.0.0.0/0' }],
      },
    ],
    securityGroups: ['a', 'b', 'c', 'd'].map((v) => ({ id: `sg-${v}`, vpc: `vpc-${v}` })),
  };
}

const vm = (name: string) => lab.vms.get(name)!;
const pings = async (from: string, to: string, count = 3) => (await ping(vm(from).ns, to, { count })).received;
const drops = (reason: string) => svc.status().drops.byReason[reason] ?? 0;

beforeAll(async () => {
  lab = await vpcLabUp(spec);
  svc = GatewayService.start(config(), silentLogger());
  for (const name of ['a1', 'a3', 'c1']) servers.push(await startHttpServer(vm(name).ns, vm(name).ip, 80, 1 << 20));
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  svc?.close();
  await vpcLabDown(PREFIX);
});

describe('VPC overlay with kernel VTEPs (root, netns, af_xdp)', () => {
  it('VMs reach their subnet gateway (proxy ARP, ping)', async () => {
    expect(await pings('a1', '10.1.1.1')).toBe(3);
    expect(await pings('a3', '10.1.2.1')).toBe(3);
  });

  it('switches within a subnet across hypervisors', async () => {
    expect(await pings('a1', vm('a2').ip)).toBe(3);
  });

  it('routes across subnets: curl from a real HTTP server, 1 MiB intact', async () => {
    const page = await curl(vm('a1').ns, 'http://10.1.2.10/', { keepBody: true });
    expect(page.status).toBe(200);
    expect(page.body).toContain(`hello from ${PREFIX}-a3`);
    const blob = await curl(vm('a1').ns, 'http://10.1.2.10/blob.bin');
    expect(blob).toMatchObject({ status: 200, bytes: 1 << 20 });
  });

  it('routes across a peering, both ways, and not beyond it', async () => {
    expect(await pings('a1', vm('b1').ip)).toBe(3);
    expect(await pings('b1', vm('a3').ip)).toBe(3);
    expect(await pings('c2', vm('b1').ip, 2)).toBe(0); // vpc-c is not peered
  });

  it('routes through a transit gateway', async () => {
    expect(await pings('a1', vm('d1').ip)).toBe(3);
    expect(await pings('d1', vm('a3').ip)).toBe(3);
  });

  it('keeps overlapping VPCs apart: 10.1.1.10 is a1 in vpc-a and c1 in vpc-c', async () => {
    expect((await curl(vm('a2').ns, 'http://10.1.1.10/', { keepBody: true })).body).toContain(`${PREFIX}-a1`);
    expect((await curl(vm('c2').ns, 'http://10.1.1.10/', { keepBody: true })).body).toContain(`${PREFIX}-c1`);
  });

  it('applies the network ACL: tcp/8080 denied into a2, port 80 allowed', async () => {
    const denied = await startHttpServer(vm('a3').ns, vm('a3').ip, 8080);
    try {
      const before = drops('acl_inbound_denied');
      const r = await curl(vm('a1').ns, 'http://10.1.2.10:8080/', { timeoutS: 2 });
      expect(r.status).toBe(0);
      expect(drops('acl_inbound_denied')).toBeGreaterThan(before);
      expect((await curl(vm('a1').ns, 'http://10.1.2.10/')).status).toBe(200);
    } finally {
      await denied.stop();
    }
  });

  it('drops and counts a spoofed source address', async () => {
    await nsRun(vm('a1').ns, 'ip', ['addr', 'add', '10.1.1.99/24', 'dev', 'eth0']);
    try {
      const before = drops('overlay_spoofed');
      const r = await ping(vm('a1').ns, vm('a3').ip, { count: 2, deadlineS: 3 });
      const spoofed = await nsRun(vm('a1').ns, 'ping', ['-n', '-c', '2', '-W', '1', '-I', '10.1.1.99', vm('a3').ip], { allowFail: true });
      expect(r.received).toBe(2); // its own address still works
      expect(spoofed.stdout).toMatch(/2 packets transmitted, 0 received/);
      expect(drops('overlay_spoofed')).toBeGreaterThanOrEqual(before + 2);
    } finally {
      await nsRun(vm('a1').ns, 'ip', ['addr', 'del', '10.1.1.99/24', 'dev', 'eth0']);
    }
  });

  it('puts VXLAN on the wire as it should be (tshark decodes it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nfvgw-pcap-'));
    const file = join(dir, 'hv2.pcap');
    const hv2 = lab.hypervisors.get('hv2')!;
    const cap = nsSpawn(hv2.ns, 'tshark', ['-i', 'eth0', '-f', 'udp port 4789 and src host 192.168.100.1', '-w', file, '-a', 'duration:4']);
    try {
      await sleep(1000);
      expect(await pings('a1', vm('a3').ip, 3)).toBe(3);
      await new Promise((r) => cap.once('exit', r));
      const out = await nsRun(hv2.ns, 'tshark', [
        '-r', file,
        '-o', 'ip.check_checksum:TRUE',
        '-o', 'udp.check_checksum:TRUE', // ICMP checksums are always checked
        '-T', 'fields', '-E', 'separator=|',
        '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.checksum.status', '-e', 'ip.flags.df', '-e', 'ip.ttl',
        '-e', 'udp.dstport', '-e', 'udp.checksum', '-e', 'vxlan.flags', '-e', 'vxlan.vni', '-e', 'icmp.type',
        '-e', 'icmp.checksum.status',
      ]);
      const rows = out.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('|'));
      const echoes = rows.filter((r) => r[9] === '8');
      expect(echoes.length).toBeGreaterThanOrEqual(3);
      for (const [src, dst, ipSum, df, ttl, dport, udpSum, vxFlags, vni, , icmpSum] of echoes) {
        // outer and inner IPv4 come as lists: outer first
        expect(src!.split(',')).toEqual(['192.168.100.1', vm('a1').ip]);
        expect(dst!.split(',')).toEqual([hv2.ip, vm('a3').ip]);
        expect(ipSum!.split(',').every((s) => s === '1' || s === 'Good')).toBe(true);
        expect(df!.split(',')[0]).toMatch(/^(1|True)$/);
        expect(ttl!.split(',')).toEqual(['64', '63']);
        expect(dport).toBe('4789');
        expect(udpSum).toBe('0x0000');
        expect(vxFlags).toBe('0x0800'); // tshark's 16-bit flags field: the I flag alone
        expect(vni).toBe('1001');
        expect(icmpSum === '1' || icmpSum === 'Good').toBe(true);
      }
    } finally {
      await stop(cap);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follows an ENI moved to another hypervisor', async () => {
    await moveVm(lab, 'a3', 'hv3');
    await svc.replaceConfig(config());
    expect(await pings('a1', vm('a3').ip)).toBe(3);
    expect((await curl(vm('a1').ns, 'http://10.1.2.10/')).status).toBe(200);
  });

  it('counted nothing else as dropped', () => {
    const rest = Object.entries(svc.status().drops.byReason).filter(
      ([reason]) => !['acl_inbound_denied', 'overlay_spoofed', 'overlay_no_route'].includes(reason),
    );
    expect(rest).toEqual([]);
  });
});
