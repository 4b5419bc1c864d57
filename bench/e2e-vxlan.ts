// e2e-vxlan: VXLAN routing end to end in the VPC lab, nfvgw against the
// Linux kernel doing the same job on the same wires in the same run.
//
//   generator (hv1, core 0) -> underlay bridge -> gateway namespace (nfvgw
//   on core 1, or the kernel) -> underlay bridge -> hv2, where an XDP
//   program counts and drops the VXLAN frames
//
// The generator replays VXLAN frames of VNI 100 (vpc-a) from hv1's VTEP,
// between 256 pairs of ENIs; each is decapsulated, routed across the peering
// into vpc-b (VNI 200) and encapsulated again towards hv2. nfvgw runs the
// benchmark VPCs of pipeline-vxlan-route (100 routes, 1100 ENIs, network
// ACLs, anti-spoofing). The kernel runs one VXLAN device per VNI with the
// router MAC, the subnets' gateway addresses, the same routes, and static
// neighbors and FDB entries for every destination ENI: decapsulation,
// routing, encapsulation. It checks no ACL and no source, so it does less
// than nfvgw. This kernel has no VRF support, so both VNIs share its main
// table; the benchmark's VPCs do not overlap, so it forwards the same way a
// VRF per VPC with leaked peering routes would.
import { formatIp4, parsePrefix } from '../src/config/ip.js';
import { nsRun } from '../src/lab/exec.js';
import { macOf, sysctl } from '../src/lab/topology.js';
import { type VpcLab, vpcLabDown, vpcLabUp } from '../src/lab/vpc.js';
import { silentLogger } from '../src/log/logger.js';
import { GatewayService } from '../src/service/gateway-service.js';
import { type BenchResult, lastCore } from './common.js';
import { attachSink, versusKernel } from './e2e.js';
import { type Placement, vxlanBenchConfig, vxlanFlows } from './vxlan.js';

const PREFIX = 'nfvgw-bvx';
const ROUTES = 100;
const FLOWS = 256;

interface BenchConfig {
  overlay: { routerMac: string };
  subnets: { id: string; cidr: string; vpc: string }[];
  vpcs: { id: string; vni: number }[];
  enis: { ip: string; mac: string; vtep: string; subnet: string }[];
  routeTables: { vpc: string; routes: { destination: string }[] }[];
}

/** The kernel as the VXLAN router in the gateway's namespace, configured like `cfg`. */
async function kernelVxlanUp(lab: VpcLab, cfg: BenchConfig): Promise<void> {
  const ns = lab.gwNs;
  await sysctl(ns, 'net.ipv4.conf.all.rp_filter=0');
  await sysctl(ns, 'net.ipv4.conf.default.rp_filter=0');
  const ip: string[] = [`addr add ${lab.gwIp}/24 dev ${lab.gwIface}`];
  const fdb: string[] = [];
  const devOf = new Map<string, string>();
  for (const v of cfg.vpcs) {
    const dev = `vx${v.vni}`;
    devOf.set(v.id, dev);
    ip.push(
      `link add ${dev} type vxlan id ${v.vni} local ${lab.gwIp} dstport 4789 nolearning dev ${lab.gwIface}`,
    );
    ip.push(`link set ${dev} address ${cfg.overlay.routerMac} mtu 1500 up`);
  }
  for (const s of cfg.subnets) {
    const p = parsePrefix(s.cidr)!;
    ip.push(`addr add ${formatIp4(p.ip + 1)}/${p.len} dev ${devOf.get(s.vpc)}`);
  }
  // Every route of a VPC's table leads to the peer: out of the peer's device.
  for (const t of cfg.routeTables) {
    const peer = [...devOf.entries()].find(([id]) => id !== t.vpc)![1];
    for (const r of t.routes) ip.push(`route replace ${r.destination} dev ${peer}`);
  }
  const vpcOfSubnet = new Map(cfg.subnets.map((s) => [s.id, s.vpc]));
  for (const e of cfg.enis) {
    const dev = devOf.get(vpcOfSubnet.get(e.subnet)!)!;
    ip.push(`neigh replace ${e.ip} lladdr ${e.mac} dev ${dev} nud permanent`);
    fdb.push(`fdb append ${e.mac} dev ${dev} dst ${e.vtep}`);
  }
  for (const hv of lab.hypervisors.values())
    ip.push(`neigh replace ${hv.ip} lladdr ${hv.mac} dev ${lab.gwIface} nud permanent`);
  await nsRun(ns, 'ip', ['-batch', '-'], { input: `${ip.join('\n')}\n` });
  await nsRun(ns, 'bridge', ['-batch', '-'], { input: `${fdb.join('\n')}\n` });
  await sysctl(ns, 'net.ipv4.ip_forward=1');
}

async function kernelVxlanDown(lab: VpcLab, cfg: BenchConfig): Promise<void> {
  const ns = lab.gwNs;
  await sysctl(ns, 'net.ipv4.ip_forward=0');
  for (const v of cfg.vpcs) await nsRun(ns, 'ip', ['link', 'del', `vx${v.vni}`]);
  await nsRun(ns, 'ip', ['addr', 'flush', 'dev', lab.gwIface]);
  await nsRun(ns, 'ip', ['neigh', 'flush', 'all']);
}

/** The kernel as a NAT gateway: vpc-a's VNI on a vxlan device, masquerade out of the uplink. */
async function kernelNatUp(lab: VpcLab, cfg: BenchConfig, publicIps: string[]): Promise<void> {
  const ns = lab.gwNs;
  const inet = lab.internet!;
  await sysctl(ns, 'net.ipv4.conf.all.rp_filter=0');
  await sysctl(ns, 'net.ipv4.conf.default.rp_filter=0');
  const vni = cfg.vpcs[0]!.vni;
  const subnet = parsePrefix(cfg.subnets[0]!.cidr)!;
  await nsRun(ns, 'ip', ['-batch', '-'], {
    input: [
      `addr add ${lab.gwIp}/24 dev ${lab.gwIface}`,
      `link add vx${vni} type vxlan id ${vni} local ${lab.gwIp} dstport 4789 nolearning dev ${lab.gwIface}`,
      `link set vx${vni} address ${cfg.overlay.routerMac} mtu 1500 up`,
      `addr add ${formatIp4(subnet.ip + 1)}/${subnet.len} dev vx${vni}`,
      `addr add ${inet.gwIp}/24 dev ${inet.gwIface}`,
      `route replace default via ${inet.routerIp}`,
      `neigh replace ${inet.routerIp} lladdr ${await macOf(inet.ns, 'eth0')} dev ${inet.gwIface} nud permanent`,
      '',
    ].join('\n'),
  });
  // Source NAT over the same public addresses, with connection tracking.
  await nsRun(ns, 'nft', ['-f', '-'], {
    input: `table ip nfvgw_bench { chain post { type nat hook postrouting priority 100; oifname "${inet.gwIface}" snat to ${publicIps[0]}-${publicIps[publicIps.length - 1]}; }; }\n`,
  });
  await sysctl(ns, 'net.ipv4.ip_forward=1');
}

async function kernelNatDown(lab: VpcLab, cfg: BenchConfig): Promise<void> {
  const ns = lab.gwNs;
  await sysctl(ns, 'net.ipv4.ip_forward=0');
  await nsRun(ns, 'nft', ['delete', 'table', 'ip', 'nfvgw_bench'], { allowFail: true });
  await nsRun(ns, 'ip', ['link', 'del', `vx${cfg.vpcs[0]!.vni}`]);
  for (const dev of [lab.gwIface, lab.internet!.gwIface])
    await nsRun(ns, 'ip', ['addr', 'flush', 'dev', dev]);
  await nsRun(ns, 'ip', ['neigh', 'flush', 'all']);
  await nsRun(ns, 'conntrack', ['-F'], { allowFail: true });
}

/**
 * e2e-nat and e2e-cps: vpc-a to the internet through a NAT gateway, in the
 * VPC lab with its internet namespace (the sink there, on the upstream
 * router's interface), against the kernel as the NAT gateway (a vxlan
 * device for the VNI, nftables source NAT over the same 64 public
 * addresses, conntrack). e2e-nat replays 4096 flows; e2e-cps a million
 * distinct ones, so nearly every packet makes a connection (and, for the
 * kernel, a conntrack entry).
 */
export async function e2eNat(mode: 'nat' | 'cps', opts: { seconds?: number } = {}): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 5;
  const core = lastCore();
  const flows = mode === 'nat' ? 4096 : 1_000_000;
  const prefix = `${PREFIX}-${mode}`;
  const lab = await vpcLabUp({
    prefix,
    hypervisors: ['hv1'],
    vpcs: [],
    subnets: [],
    vms: [],
    internet: { hosts: [] },
  });
  try {
    const hv1 = lab.hypervisors.get('hv1')!;
    const inet = lab.internet!;
    const gwMac = await macOf(lab.gwNs, lab.gwIface);
    await nsRun(lab.ulNs, 'bridge', ['fdb', 'replace', gwMac, 'dev', 'p-gw', 'master', 'static']);
    await attachSink(inet.ns, 'eth0');
    const publicIps = Array.from({ length: 64 }, (_, i) => `198.51.100.${i + 1}`);
    const place: Placement = { gateway: { ip: lab.gwIp, mac: gwMac }, src: [hv1], dst: [hv1] };
    const base = vxlanBenchConfig(
      core,
      1,
      place,
      { type: 'af_xdp', interface: lab.gwIface, netns: lab.gwNs },
      'tracked',
      4 * 1_000_000,
    );
    const cfg = {
      ...base,
      ports: [
        ...base.ports,
        {
          name: 'uplink',
          type: 'af_xdp' as const,
          interface: inet.gwIface,
          netns: lab.gwNs,
          addresses: [`${inet.gwIp}/24`],
        },
      ],
      routes: [{ destination: '0.0.0.0/0', via: inet.routerIp }],
      neighbors: [
        ...(base.neighbors ?? []),
        { port: 'uplink', address: inet.routerIp, mac: await macOf(inet.ns, 'eth0') },
      ],
      internet: { port: 'uplink' },
      natGateways: [{ id: 'ngw', vpc: 'vpc-a', publicIps }],
      routeTables: base.routeTables!.map((t) =>
        t.id === 'rt-a'
          ? { ...t, routes: [...(t.routes ?? []), { destination: '0.0.0.0/0', target: 'nat:ngw' }] }
          : t,
      ),
    };
    const kernelCfg = cfg as unknown as BenchConfig;
    const internetAddress = (i: number) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
    const r = await versusKernel({
      gen: { ns: hv1.ns, iface: 'eth0' },
      ingress: { ns: lab.gwNs, iface: lab.gwIface },
      templates: vxlanFlows(flows, place, internetAddress),
      seconds,
      core,
      kernelUp: () => kernelNatUp(lab, kernelCfg, publicIps),
      kernelDown: () => kernelNatDown(lab, kernelCfg),
      gateway: () => GatewayService.start(cfg, silentLogger()),
    });
    const bench = mode === 'nat' ? 'e2e-nat' : 'e2e-cps';
    return [
      {
        bench,
        ...r,
        ...(mode === 'cps' ? { cps: Math.round(r.mpps! * 1e6) } : {}),
        flows,
        frame_bytes: 110,
        seconds,
        core,
      },
    ];
  } finally {
    await vpcLabDown(prefix);
  }
}

export async function e2eVxlan(opts: { seconds?: number } = {}): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 5;
  const core = lastCore();
  const lab = await vpcLabUp({ prefix: PREFIX, hypervisors: ['hv1', 'hv2'], vpcs: [], subnets: [], vms: [] });
  try {
    const hv1 = lab.hypervisors.get('hv1')!;
    const hv2 = lab.hypervisors.get('hv2')!;
    const gwMac = (await nsRun(lab.gwNs, 'cat', [`/sys/class/net/${lab.gwIface}/address`])).stdout.trim();
    // The underlay bridge knows where hv2 and the gateway are from the
    // start, so it never floods the benchmark's frames to the generator.
    for (const [mac, port] of [
      [hv2.mac, 'p-hv2'],
      [gwMac, 'p-gw'],
    ] as const)
      await nsRun(lab.ulNs, 'bridge', ['fdb', 'replace', mac, 'dev', port, 'master', 'static']);
    await attachSink(hv2.ns, 'eth0');

    const place: Placement = { gateway: { ip: lab.gwIp, mac: gwMac }, src: [hv1], dst: [hv2] };
    const port = { type: 'af_xdp', interface: lab.gwIface, netns: lab.gwNs };
    const cfg = vxlanBenchConfig(core, ROUTES, place, port);
    const kernelCfg = cfg as unknown as BenchConfig;
    const r = await versusKernel({
      gen: { ns: hv1.ns, iface: 'eth0' },
      ingress: { ns: lab.gwNs, iface: lab.gwIface },
      templates: vxlanFlows(FLOWS, place),
      seconds,
      core,
      kernelUp: () => kernelVxlanUp(lab, kernelCfg),
      kernelDown: () => kernelVxlanDown(lab, kernelCfg),
      gateway: () => GatewayService.start(cfg, silentLogger()),
    });
    return [{ bench: 'e2e-vxlan', ...r, flows: FLOWS, routes: ROUTES, frame_bytes: 110, seconds, core }];
  } finally {
    await vpcLabDown(PREFIX);
  }
}
