// A VPC lab: hypervisors with the Linux kernel's own VXLAN devices as VTEPs,
// VMs behind them, and the gateway as the VXLAN hub, all in network
// namespaces:
//
//   <p>-ul        the underlay switch (a bridge), 192.168.100.0/24, MTU 1600
//   <p>-gw        the gateway's namespace: ul0 = 192.168.100.1 (nfvgw's port)
//   <p>-hvN       a hypervisor: eth0 = 192.168.100.1N; per VNI a vxlan device
//                 (remote: the gateway) bridged with its VMs' veths
//   <p>-<vm>      a VM: eth0 with its ENI's MAC and address, its subnet's
//                 gateway as default route
//
// Each hypervisor sends everything of a VNI to the gateway, as hypervisors
// do with a cloud's VPC router; the gateway knows where each ENI is. The
// underlay runs at MTU 1600 so that 1500-byte VM packets fit encapsulated.
import { formatIp4, networkOf, parsePrefix } from '../config/ip.js';
import { nsRun } from './exec.js';
import { createNs, labBridge, labDown, macOf, offloadsOff, sysctl, vethPair } from './topology.js';

export interface VpcLabSpec {
  prefix?: string;
  hypervisors: string[];
  /** An "internet" namespace behind an uplink of the gateway, with these addresses (servers) on it. */
  internet?: { hosts: string[] };
  /** Queues of the gateway's interfaces (one per worker); default 1. */
  queues?: number;
  vpcs: { id: string; vni: number; cidrs: string[] }[];
  subnets: { id: string; vpc: string; cidr: string }[];
  vms: { name: string; subnet: string; ip: string; mac: string; hv: string }[];
}

export interface VpcLabVm {
  name: string;
  ns: string;
  ip: string;
  mac: string;
  hv: string;
  vni: number;
  gateway: string;
  prefixLen: number;
}

export interface VpcLab {
  prefix: string;
  gwNs: string;
  ulNs: string;
  gwIface: string;
  gwIp: string;
  hypervisors: Map<string, { ns: string; ip: string; mac: string }>;
  vms: Map<string, VpcLabVm>;
  spec: VpcLabSpec;
  internet?: VpcLabInternet;
}

/**
 * The internet side: <p>-inet, the upstream router at 203.0.113.254 with
 * the hosts' addresses on its loopback, on a veth to the gateway's `up0`
 * (203.0.113.1). The public block 198.51.100.0/24 (NAT gateways, EIPs) is
 * on-link there: the gateway answers ARP for its public addresses.
 */
export interface VpcLabInternet {
  ns: string;
  gwIface: string;
  gwIp: string;
  routerIp: string;
  publicPrefix: string;
}

export const UNDERLAY_MTU = 1600;

/** Plugs VM `vm` into its hypervisor's bridge for its VNI (used to build and to move VMs). */
async function plugVm(lab: VpcLab, vm: VpcLabVm): Promise<void> {
  const hv = lab.hypervisors.get(vm.hv)!;
  await vethPair(hv.ns, vm.name, vm.ns, 'eth0');
  await nsRun(hv.ns, 'ip', ['link', 'set', vm.name, 'master', `br${vm.vni}`, 'up']);
  await nsRun(vm.ns, 'ip', ['link', 'set', 'eth0', 'address', vm.mac]);
  await nsRun(vm.ns, 'ip', ['addr', 'add', `${vm.ip}/${vm.prefixLen}`, 'dev', 'eth0']);
  await nsRun(vm.ns, 'ip', ['link', 'set', 'eth0', 'up']);
  await nsRun(vm.ns, 'ip', ['route', 'add', 'default', 'via', vm.gateway]);
}

async function ensureVni(lab: VpcLab, hvName: string, vni: number): Promise<void> {
  const hv = lab.hypervisors.get(hvName)!;
  const exists = await nsRun(hv.ns, 'ip', ['link', 'show', `br${vni}`], { allowFail: true });
  if (exists.code === 0) return;
  await labBridge(hv.ns, `br${vni}`);
  await nsRun(hv.ns, 'ip', [
    'link',
    'add',
    `vx${vni}`,
    'type',
    'vxlan',
    'id',
    String(vni),
    'local',
    hv.ip,
    'remote',
    lab.gwIp,
    'dstport',
    '4789',
    'nolearning',
    'dev',
    'eth0',
  ]);
  await nsRun(hv.ns, 'ip', ['link', 'set', `vx${vni}`, 'mtu', '1500', 'master', `br${vni}`, 'up']);
  await offloadsOff(hv.ns, `vx${vni}`);
  await nsRun(hv.ns, 'ip', ['link', 'set', `br${vni}`, 'up']);
}

export async function vpcLabUp(spec: VpcLabSpec): Promise<VpcLab> {
  const prefix = spec.prefix ?? 'nfvgw-vpc';
  await vpcLabDown(prefix);
  const lab: VpcLab = {
    prefix,
    gwNs: `${prefix}-gw`,
    ulNs: `${prefix}-ul`,
    gwIface: 'ul0',
    gwIp: '192.168.100.1',
    hypervisors: new Map(),
    vms: new Map(),
    spec,
  };
  await createNs(lab.ulNs);
  await labBridge(lab.ulNs, 'br0');
  await nsRun(lab.ulNs, 'ip', ['link', 'set', 'br0', 'mtu', String(UNDERLAY_MTU), 'up']);
  const plugUnderlay = async (ns: string, iface: string, port: string, queues = 1) => {
    await vethPair(ns, iface, lab.ulNs, port, queues);
    await nsRun(ns, 'ip', ['link', 'set', iface, 'mtu', String(UNDERLAY_MTU)]);
    await nsRun(lab.ulNs, 'ip', ['link', 'set', port, 'mtu', String(UNDERLAY_MTU), 'master', 'br0', 'up']);
    await nsRun(ns, 'ip', ['link', 'set', iface, 'up']);
  };

  await createNs(lab.gwNs);
  await sysctl(lab.gwNs, 'net.ipv4.ip_forward=0');
  await plugUnderlay(lab.gwNs, lab.gwIface, 'p-gw', spec.queues);

  for (const [i, name] of spec.hypervisors.entries()) {
    const ns = `${prefix}-${name}`;
    await createNs(ns);
    await plugUnderlay(ns, 'eth0', `p-${name}`);
    const ip = `192.168.100.${11 + i}`;
    await nsRun(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    lab.hypervisors.set(name, { ns, ip, mac: await macOf(ns, 'eth0') });
  }

  if (spec.internet) {
    const inet: VpcLabInternet = {
      ns: `${prefix}-inet`,
      gwIface: 'up0',
      gwIp: '203.0.113.1',
      routerIp: '203.0.113.254',
      publicPrefix: '198.51.100.0/24',
    };
    await createNs(inet.ns);
    await vethPair(lab.gwNs, inet.gwIface, inet.ns, 'eth0', spec.queues);
    await nsRun(lab.gwNs, 'ip', ['link', 'set', inet.gwIface, 'up']);
    await nsRun(inet.ns, 'ip', ['addr', 'add', `${inet.routerIp}/24`, 'dev', 'eth0']);
    await nsRun(inet.ns, 'ip', ['link', 'set', 'eth0', 'up']);
    for (const host of spec.internet.hosts)
      await nsRun(inet.ns, 'ip', ['addr', 'add', `${host}/32`, 'dev', 'lo']);
    await nsRun(inet.ns, 'ip', ['route', 'add', inet.publicPrefix, 'dev', 'eth0']);
    lab.internet = inet;
  }

  const vpcOf = new Map(spec.vpcs.map((v) => [v.id, v]));
  const subnetOf = new Map(spec.subnets.map((s) => [s.id, s]));
  for (const v of spec.vms) {
    const subnet = subnetOf.get(v.subnet)!;
    const vpc = vpcOf.get(subnet.vpc)!;
    const p = parsePrefix(subnet.cidr)!;
    const vm: VpcLabVm = {
      name: v.name,
      ns: `${prefix}-${v.name}`,
      ip: v.ip,
      mac: v.mac,
      hv: v.hv,
      vni: vpc.vni,
      gateway: formatIp4((networkOf(p.ip, p.len) + 1) >>> 0),
      prefixLen: p.len,
    };
    await createNs(vm.ns);
    await ensureVni(lab, v.hv, vpc.vni);
    await plugVm(lab, vm);
    lab.vms.set(v.name, vm);
  }
  return lab;
}

/** Moves a VM to another hypervisor (its ENI keeps MAC and address), as a live migration would. */
export async function moveVm(lab: VpcLab, name: string, toHv: string): Promise<void> {
  const vm = lab.vms.get(name)!;
  const from = lab.hypervisors.get(vm.hv)!;
  await nsRun(from.ns, 'ip', ['link', 'del', vm.name]);
  vm.hv = toHv;
  await ensureVni(lab, toHv, vm.vni);
  await plugVm(lab, vm);
}

export function vpcLabDown(prefix = 'nfvgw-vpc'): Promise<string[]> {
  return labDown(prefix);
}

/** The lab's VTEP for ENI configuration: the hypervisor's underlay address. */
export function vtepOf(lab: VpcLab, hv: string): string {
  return lab.hypervisors.get(hv)!.ip;
}
