// The gateway as the VXLAN hub and router of VPCs, against real VTEPs: the
// Linux kernel's own vxlan devices on three "hypervisor" namespaces, real VMs
// (namespaces) behind them, the gateway on AF_XDP. Real ping and curl across
// hypervisors, subnets, a peering and a transit gateway; overlapping VPCs
// kept apart; a network ACL; security groups with connection tracking; a
// spoofed source; internal load balancers in each mode; an ENI moved; the
// wire checked by tshark. Needs root.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { nsRun, stop } from '../../src/lab/exec.js';
import { ipipReceiver } from '../../src/lab/lb.js';
import { curl, type HttpServer, ping, startHttpServer, tsharkCapture } from '../../src/lab/traffic.js';
import { moveVm, type VpcLab, vpcLabDown, vpcLabUp } from '../../src/lab/vpc.js';
import { VPC_SCENARIO, vpcScenarioConfig } from '../../src/lab/vpc-scenario.js';
import { silentLogger } from '../../src/log/logger.js';
import { GatewayService } from '../../src/service/gateway-service.js';

const PREFIX = 'nfvgw-t-vpc';
const spec = { ...VPC_SCENARIO, prefix: PREFIX };

let lab: VpcLab;
let svc: GatewayService;
const servers: HttpServer[] = [];
const config = () => vpcScenarioConfig(lab);

const vm = (name: string) => lab.vms.get(name)!;
const pings = async (from: string, to: string, count = 3) =>
  (await ping(vm(from).ns, to, { count })).received;
const drops = (reason: string) => svc.status().drops.byReason[reason] ?? 0;
/**
 * The ARP settings of a backend VM of a dr or tunnel service (1; 0 undoes
 * them): ARP for the VIP it holds neither answered (arp_ignore=1) nor used
 * as the source of its own requests (arp_announce=2).
 */
const directArp = (value: 0 | 1) => [
  `net.ipv4.conf.all.arp_ignore=${value}`,
  `net.ipv4.conf.eth0.arp_ignore=${value}`,
  `net.ipv4.conf.all.arp_announce=${2 * value}`,
  `net.ipv4.conf.eth0.arp_announce=${2 * value}`,
];

type InternalLb = Omit<NonNullable<ConfigInput['loadBalancers']>[number], 'id' | 'vpc' | 'protocol' | 'port'>;
const INTERNAL_BACKENDS = ['a1', 'a3'];

/**
 * Serves `lb` (a VIP of vpc-a on port 80, over a1 and a3 in turn) and
 * checks it from real clients: a2 reaches both backends, b1 one of them
 * across the peering, 1 MiB downloads arrive whole, and each backend's
 * connections and packets were counted.
 */
async function checkInternalLb(lb: Omit<InternalLb, 'backends' | 'scheduler'>): Promise<void> {
  await svc.replaceConfig({
    ...config(),
    loadBalancers: [
      {
        id: `internal-${lb.mode}`,
        vpc: 'vpc-a',
        protocol: 'tcp',
        port: 80,
        scheduler: 'rr',
        backends: INTERNAL_BACKENDS.map((name) => ({ ip: vm(name).ip })),
        ...lb,
      },
    ],
  });
  const who = async (from: string) =>
    /hello from \S+-(\w+)/.exec(
      (await curl(vm(from).ns, `http://${lb.vip}/`, { keepBody: true, timeoutS: 5 })).body,
    )?.[1];
  const seen: (string | undefined)[] = [];
  for (let i = 0; i < 6; i++) seen.push(await who('a2'));
  expect(new Set(seen)).toEqual(new Set(INTERNAL_BACKENDS));
  expect(INTERNAL_BACKENDS).toContain(await who('b1'));
  for (const from of ['a2', 'b1'])
    expect((await curl(vm(from).ns, `http://${lb.vip}/blob.bin`)).bytes).toBe(1 << 20);
  const view = svc.loadBalancers()[0]!;
  expect(view.backends.reduce((a, b) => a + b.connections, 0)).toBeGreaterThanOrEqual(9);
  for (const b of view.backends) expect(b.packets).toBeGreaterThan(0);
}

beforeAll(async () => {
  lab = await vpcLabUp(spec);
  svc = GatewayService.start(config(), silentLogger());
  for (const name of ['a1', 'a3', 'c1'])
    servers.push(await startHttpServer(vm(name).ns, vm(name).ip, 80, 1 << 20));
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
      const spoofed = await nsRun(
        vm('a1').ns,
        'ping',
        ['-n', '-c', '2', '-W', '1', '-I', '10.1.1.99', vm('a3').ip],
        { allowFail: true },
      );
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
    const cap = await tsharkCapture(hv2.ns, 'eth0', 'udp port 4789 and src host 192.168.100.1', file);
    try {
      // tshark's capture may still miss the first echo: four are sent for
      // the three checked.
      expect(await pings('a1', vm('a3').ip, 4)).toBe(4);
      await cap.done();
      const out = await nsRun(hv2.ns, 'tshark', [
        '-r',
        file,
        '-o',
        'ip.check_checksum:TRUE',
        '-o',
        'udp.check_checksum:TRUE', // ICMP checksums are always checked
        '-T',
        'fields',
        '-E',
        'separator=|',
        '-e',
        'ip.src',
        '-e',
        'ip.dst',
        '-e',
        'ip.checksum.status',
        '-e',
        'ip.flags.df',
        '-e',
        'ip.ttl',
        '-e',
        'udp.dstport',
        '-e',
        'udp.checksum',
        '-e',
        'vxlan.flags',
        '-e',
        'vxlan.vni',
        '-e',
        'icmp.type',
        '-e',
        'icmp.checksum.status',
      ]);
      const rows = out.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('|'));
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
      await cap.done();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tracks connections: a3 takes only HTTP from sg-a, and a3 still reaches b1 with replies let back', async () => {
    const base = config();
    const restricted = {
      ...base,
      securityGroups: [
        ...base.securityGroups!.filter((g) => g.id !== 'sg-a'),
        { id: 'sg-a3', vpc: 'vpc-a', inbound: [{ protocol: 'tcp' as const, ports: 80, group: 'sg-a' }] },
        { id: 'sg-a', vpc: 'vpc-a', inbound: [{ protocol: 'all' as const, cidr: '10.0.0.0/8' }] },
      ],
      enis: base.enis!.map((e) => (e.id === 'eni-a3' ? { ...e, securityGroups: ['sg-a3'] } : e)),
    };
    await svc.replaceConfig(restricted);
    try {
      const before = drops('sg_inbound_denied');
      // HTTP from a1 (in sg-a) is allowed; its replies come back by the connection table.
      expect((await curl(vm('a1').ns, 'http://10.1.2.10/blob.bin')).bytes).toBe(1 << 20);
      // Ping is not allowed in, from sg-a or from b1 in the peer VPC.
      expect(await pings('a1', vm('a3').ip, 2)).toBe(0);
      expect(drops('sg_inbound_denied')).toBeGreaterThan(before);
      // a3 may open connections anywhere (default outbound) and gets its answers.
      expect(await pings('a3', vm('b1').ip)).toBe(3);
      expect((await curl(vm('a3').ns, 'http://10.1.1.10/')).status).toBe(200);
      const flows = svc.flows({ vpc: 'vpc-a', ip: vm('a3').ip, protocol: 'tcp' });
      expect(flows.matched).toBeGreaterThan(0);
      expect(svc.status().conntrack.entries).toBeGreaterThan(0);
    } finally {
      await svc.replaceConfig(config());
    }
  });

  it('balances connections to an internal VIP over ENIs, for its VPC and a peered one', async () => {
    try {
      await checkInternalLb({ vip: '10.1.3.100', mode: 'nat' });
    } finally {
      await svc.replaceConfig(config());
    }
  });

  it('balances connections to an internal VIP in direct routing: backends hold it on lo and answer from it', async () => {
    const vip = '10.1.3.200';
    // Each backend VM as a user sets it up for LVS/DR (README): the VIP on
    // its loopback, ARP as directArp() says.
    const vipServers: HttpServer[] = [];
    try {
      for (const name of INTERNAL_BACKENDS) {
        await nsRun(vm(name).ns, 'sysctl', ['-q', '-w', ...directArp(1)]);
        await nsRun(vm(name).ns, 'ip', ['addr', 'add', `${vip}/32`, 'dev', 'lo']);
        vipServers.push(await startHttpServer(vm(name).ns, vip, 80, 1 << 20));
      }
      await checkInternalLb({ vip, mode: 'dr' });
    } finally {
      await svc.replaceConfig(config());
      for (const s of vipServers) await s.stop();
      for (const name of INTERNAL_BACKENDS) {
        await nsRun(vm(name).ns, 'ip', ['addr', 'del', `${vip}/32`, 'dev', 'lo'], { allowFail: true });
        await nsRun(vm(name).ns, 'sysctl', ['-q', '-w', ...directArp(0)], { allowFail: true });
      }
    }
  });

  it('balances connections to an internal VIP in IP-in-IP (tunnel): backends decapsulate and answer from it', async () => {
    const vip = '10.1.3.210';
    const vipServers: HttpServer[] = [];
    const receivers: ChildProcess[] = [];
    const devices = new Map<string, string>();
    const rpFilter = new Map<string, string[]>();
    try {
      // Each backend VM as a user sets it up for LVS/TUN (README): an
      // IP-in-IP device up with the VIP on it (where the kernel has no ipip
      // module, as here, the lab's userspace receiver feeding a TUN
      // device), no reverse-path filtering for what arrives on it (from
      // clients routed through eth0), ARP as for dr.
      for (const name of INTERNAL_BACKENDS) {
        const ns = vm(name).ns;
        const { dev, child } = await ipipReceiver(ns);
        if (child) receivers.push(child);
        devices.set(name, dev);
        const rp = ['all', 'default', dev].map((d) => `net.ipv4.conf.${d}.rp_filter`);
        const was = (await nsRun(ns, 'sysctl', ['-n', ...rp])).stdout.trim().split('\n');
        rpFilter.set(
          name,
          rp.map((key, i) => `${key}=${was[i]}`),
        );
        await nsRun(ns, 'sysctl', ['-q', '-w', ...directArp(1), ...rp.map((key) => `${key}=0`)]);
        await nsRun(ns, 'ip', ['addr', 'add', `${vip}/32`, 'dev', dev]);
        vipServers.push(await startHttpServer(ns, vip, 80, 1 << 20));
      }
      await checkInternalLb({ vip, mode: 'tunnel' });
    } finally {
      await svc.replaceConfig(config());
      for (const s of vipServers) await s.stop();
      // A TUN device goes with its process; tunl0 stays, without the VIP.
      for (const child of receivers) await stop(child);
      for (const name of INTERNAL_BACKENDS) {
        const ns = vm(name).ns;
        const dev = devices.get(name);
        if (dev === 'tunl0')
          await nsRun(ns, 'ip', ['addr', 'del', `${vip}/32`, 'dev', dev], { allowFail: true });
        // The TUN device's own setting went with it.
        const rp = (rpFilter.get(name) ?? []).filter((kv) => dev === 'tunl0' || !kv.includes(`.${dev}.`));
        await nsRun(ns, 'sysctl', ['-q', '-w', ...directArp(0), ...rp], { allowFail: true });
      }
    }
  });

  it('balances connections to an internal VIP in fullnat: backends see a local address of the VPC', async () => {
    const local = '10.1.3.250';
    try {
      await checkInternalLb({ vip: '10.1.3.150', mode: 'fullnat', localIps: [local] });
      // The backends saw the local address, not the clients.
      const sockets = await nsRun(vm('a1').ns, 'ss', ['-tn', 'state', 'time-wait']);
      expect(sockets.stdout).toContain(local);
    } finally {
      await svc.replaceConfig(config());
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
      ([reason]) =>
        !['acl_inbound_denied', 'overlay_spoofed', 'overlay_no_route', 'sg_inbound_denied'].includes(reason),
    );
    expect(rest).toEqual([]);
  });
});
