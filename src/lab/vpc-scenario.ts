// The VPC scenario the tests, the demo and `nfvgw lab up --scenario vpc` share:
// four VPCs on three hypervisors. vpc-a (two subnets, a network ACL on a2)
// peers with vpc-b and reaches vpc-d through a transit gateway; vpc-c uses
// the same address space as vpc-a and stays apart from it.
import type { ConfigInput } from '../config/schema.js';
import { type VpcLab, type VpcLabSpec, vtepOf } from './vpc.js';

export const VPC_SCENARIO: VpcLabSpec = {
  prefix: 'nfvgw-vpc',
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

export function vpcScenarioConfig(
  lab: VpcLab,
  opts: { type?: 'af_xdp' | 'af_packet'; workers?: { core?: number; pollMode?: 'busy' | 'adaptive' }[] } = {},
): ConfigInput {
  const tables: Record<string, string> = { a1: 'rt-a', a2: 'rt-a', b1: 'rt-b', c1: 'rt-c', d1: 'rt-d' };
  const spec = lab.spec;
  const cfg: ConfigInput = {
    ...(opts.workers ? { workers: opts.workers } : {}),
    ports: [
      {
        name: 'underlay',
        type: opts.type ?? 'af_xdp',
        interface: lab.gwIface,
        netns: lab.gwNs,
        addresses: ['192.168.100.1/24'],
      },
    ],
    overlay: { port: 'underlay' },
    vpcs: spec.vpcs,
    subnets: spec.subnets.map((s) => ({
      ...s,
      routeTable: tables[s.id]!,
      ...(s.id === 'a2' ? { networkAcl: 'acl-a2' } : {}),
    })),
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
    // New connections from the cloud's private space are allowed in; replies
    // pass by connection tracking (outbound is open by default).
    securityGroups: ['a', 'b', 'c', 'd'].map((v) => ({
      id: `sg-${v}`,
      vpc: `vpc-${v}`,
      inbound: [{ protocol: 'all' as const, cidr: '10.0.0.0/8' }],
    })),
  };
  return lab.internet ? withInternet(cfg, lab, opts.type ?? 'af_xdp') : cfg;
}

/**
 * The scenario with its internet side: an uplink port, a NAT gateway for
 * vpc-a (its default route) forwarding its public port 8080 to a3's HTTP
 * server, and an elastic IP for b1 (vpc-b's default route is the internet
 * gateway); the groups of a and b take HTTP from anywhere.
 */
function withInternet(cfg: ConfigInput, lab: VpcLab, type: 'af_xdp' | 'af_packet'): ConfigInput {
  const inet = lab.internet!;
  const defaultRoute = (table: string) =>
    table === 'rt-a' ? 'nat:ngw-a' : table === 'rt-b' ? 'igw' : undefined;
  return {
    ...cfg,
    ports: [
      ...cfg.ports,
      { name: 'uplink', type, interface: inet.gwIface, netns: lab.gwNs, addresses: [`${inet.gwIp}/24`] },
    ],
    routes: [{ destination: '0.0.0.0/0', via: inet.routerIp }],
    internet: { port: 'uplink' },
    natGateways: [
      {
        id: 'ngw-a',
        vpc: 'vpc-a',
        publicIps: [NAT_PUBLIC_IP],
        portForwards: [{ protocol: 'tcp', publicPort: 8080, eni: 'eni-a3', privatePort: 80 }],
      },
    ],
    eips: [{ id: 'eip-b1', publicIp: EIP_B1, eni: 'eni-b1' }],
    routeTables: cfg.routeTables!.map((t) => {
      const target = defaultRoute(t.id);
      return target ? { ...t, routes: [...(t.routes ?? []), { destination: '0.0.0.0/0', target }] } : t;
    }),
    securityGroups: cfg.securityGroups!.map((g) =>
      g.id === 'sg-a' || g.id === 'sg-b'
        ? {
            ...g,
            inbound: [...(g.inbound ?? []), { protocol: 'tcp' as const, ports: 80, cidr: '0.0.0.0/0' }],
          }
        : g,
    ),
  };
}

/** The scenario's public addresses: vpc-a's NAT gateway and b1's elastic IP. */
export const NAT_PUBLIC_IP = '198.51.100.10';
export const EIP_B1 = '198.51.100.20';
