// The configuration the pipeline fuzzer (native/fuzz/fuzz_pipeline.cc) runs
// with, compiled by the real compiler into C++ at build time
// (spec-header.ts), and the one the fuzz regression tests
// (test/golden/fuzz-regressions.test.ts) start their MemGateway with, so a
// crashing input replays there against the same tables.
//
// It has a bit of everything: three ports (one with a VLAN tag and a small
// MTU), a default route via a static neighbor and a route via a router only
// ARP resolves; the overlay with three VPCs (a peering, a transit gateway),
// subnets with a network ACL, stateful and open security groups, an
// appliance route, a detached ENI and one on a hypervisor only ARP
// resolves; a NAT gateway with port forwards and a small port range, an
// elastic IP; load balancers in every mode and scheduler, and an internal
// one in a VPC. Addresses and MACs are those of the golden tests where they
// agree (port 0 is 02:00:00:00:01:01, port 1 02:00:00:00:02:01), so the
// golden packets make a useful seed corpus. Tables are small (Maglev sizes,
// the connection table) so that the fuzzer can build them for every input.
import type { ConfigInput } from '../../src/config/schema.js';

const HV1 = { ip: '192.168.100.11', mac: '02:cc:00:00:00:11' };
const HV2 = { ip: '192.168.100.12', mac: '02:cc:00:00:00:12' };
const HV3 = '192.168.100.14'; // no static neighbor: resolved by ARP
const B = ['10.80.0.11', '10.80.0.12', '10.80.0.13'];

const eni = (
  id: string,
  subnet: string,
  mac: string,
  ip: string,
  vtep: string | undefined,
  group: string,
  secondaryIps: string[] = [],
) => ({ id, subnet, mac, ip, vtep, securityGroups: [group], secondaryIps });

export const fuzzConfig: ConfigInput = {
  workers: [{ pollMode: 'adaptive' }, { pollMode: 'adaptive' }],
  ports: [
    {
      name: 'underlay',
      type: 'mem',
      mac: '02:00:00:00:01:01',
      mtu: 1600,
      addresses: ['192.168.100.1/24', '10.70.0.1/24'],
    },
    { name: 'uplink', type: 'mem', mac: '02:00:00:00:02:01', addresses: ['203.0.113.1/24', '10.80.0.1/24'] },
    {
      name: 'tagged',
      type: 'mem',
      mac: '02:00:00:00:00:03',
      mtu: 1400,
      vlan: 100,
      addresses: ['10.0.3.1/24'],
    },
  ],
  routes: [
    { destination: '0.0.0.0/0', via: '203.0.113.254' },
    { destination: '10.99.0.0/16', via: '10.80.0.254' },
    { destination: '10.9.0.0/16', via: '10.0.3.254' }, // learned by ARP
    { destination: '100.64.0.0/10', type: 'blackhole' },
    { destination: '192.0.2.0/24', type: 'unreachable' },
    { destination: '10.55.0.0/16', port: 'tagged' }, // on-link, no address there
  ],
  neighbors: [
    { port: 'underlay', address: HV1.ip, mac: HV1.mac },
    { port: 'underlay', address: HV2.ip, mac: HV2.mac },
    { port: 'underlay', address: '10.70.0.10', mac: '02:c0:00:00:00:10' },
    { port: 'uplink', address: '203.0.113.254', mac: '02:ee:00:00:00:fe' },
    { port: 'uplink', address: '10.80.0.254', mac: '02:b0:00:00:00:fe' },
    { port: 'uplink', address: B[0]!, mac: '02:b0:00:00:00:11' },
    { port: 'uplink', address: B[1]!, mac: '02:b0:00:00:00:12' },
    { port: 'uplink', address: B[2]!, mac: '02:b0:00:00:00:13' },
    { port: 'tagged', address: '10.0.3.2', mac: '02:cc:00:00:00:02' },
  ],
  icmp: { errorsPerSecond: 1000, burst: 50 },
  neighborTimers: { reachableMs: 5000, expireMs: 15_000, retryMs: 200 },
  conntrack: {
    maxConnections: 1024,
    timeouts: { tcpSynSent: 5, tcpClose: 2, tcpTimeWait: 5, udpUnreplied: 5, udpReplied: 20, icmp: 3 },
  },
  overlay: { port: 'underlay' },
  internet: { port: 'uplink' },
  vpcs: [
    { id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] },
    { id: 'vpc-b', vni: 1002, cidrs: ['10.2.0.0/16'] },
    { id: 'vpc-d', vni: 1004, cidrs: ['10.4.0.0/16'] },
  ],
  subnets: [
    { id: 'a1', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt-a-private' },
    { id: 'a2', vpc: 'vpc-a', cidr: '10.1.2.0/24', routeTable: 'rt-a-public', networkAcl: 'acl-a2' },
    { id: 'b1', vpc: 'vpc-b', cidr: '10.2.1.0/24', routeTable: 'rt-b' },
    { id: 'd1', vpc: 'vpc-d', cidr: '10.4.1.0/24', routeTable: 'rt-d' },
  ],
  routeTables: [
    {
      id: 'rt-a-private',
      vpc: 'vpc-a',
      routes: [
        { destination: '0.0.0.0/0', target: 'nat:ngw-1' },
        { destination: '10.2.0.0/16', target: 'peering:pcx-ab' },
        { destination: '10.4.0.0/16', target: 'transit:tgw-1' },
        { destination: '10.1.66.0/24', target: 'blackhole' },
        { destination: '10.5.0.0/16', target: 'eni:eni-fw' },
      ],
    },
    {
      id: 'rt-a-public',
      vpc: 'vpc-a',
      routes: [
        { destination: '0.0.0.0/0', target: 'igw' },
        { destination: '10.2.0.0/16', target: 'peering:pcx-ab' },
        { destination: '10.4.0.0/16', target: 'transit:tgw-1' },
      ],
    },
    { id: 'rt-b', vpc: 'vpc-b', routes: [{ destination: '10.1.0.0/16', target: 'peering:pcx-ab' }] },
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
        { destination: '10.1.77.0/24', target: 'blackhole' },
      ],
    },
  ],
  networkAcls: [
    {
      id: 'acl-a2',
      vpc: 'vpc-a',
      inbound: [
        { rule: 100, action: 'deny', protocol: 'tcp', ports: 8080, cidr: '10.1.1.10/32' },
        { rule: 150, action: 'deny', protocol: 'udp', ports: '7000-7999', cidr: '0.0.0.0/0' },
        { rule: 200, action: 'allow', cidr: '0.0.0.0/0' },
      ],
      outbound: [
        { rule: 100, action: 'deny', protocol: 47, cidr: '0.0.0.0/0' },
        { rule: 200, action: 'allow', cidr: '0.0.0.0/0' },
      ],
    },
  ],
  enis: [
    eni('eni-a1', 'a1', '02:a0:00:00:00:01', '10.1.1.10', HV1.ip, 'sg-client'),
    eni('eni-a2', 'a1', '02:a0:00:00:00:02', '10.1.1.20', HV2.ip, 'sg-web'),
    eni('eni-a3', 'a2', '02:a0:00:00:00:03', '10.1.2.10', HV2.ip, 'sg-app', ['10.1.2.13']),
    eni('eni-a4', 'a2', '02:a0:00:00:00:04', '10.1.2.20', HV1.ip, 'sg-db'),
    eni('eni-a5', 'a2', '02:a0:00:00:00:05', '10.1.2.50', HV3, 'sg-web'),
    eni('eni-fw', 'a2', '02:a0:00:00:00:fe', '10.1.2.100', HV1.ip, 'sg-open-a'),
    eni('eni-lb1', 'a2', '02:a0:00:00:00:11', '10.1.2.11', HV1.ip, 'sg-web'),
    eni('eni-lb2', 'a2', '02:a0:00:00:00:12', '10.1.2.12', HV2.ip, 'sg-web'),
    eni('eni-x', 'a1', '02:a0:00:00:00:99', '10.1.1.30', undefined, 'sg-client'),
    eni('eni-b1', 'b1', '02:b0:00:00:00:01', '10.2.1.10', HV1.ip, 'sg-open-b'),
    eni('eni-d1', 'd1', '02:d0:00:00:00:01', '10.4.1.10', HV2.ip, 'sg-d'),
  ],
  securityGroups: [
    { id: 'sg-client', vpc: 'vpc-a' },
    {
      id: 'sg-web',
      vpc: 'vpc-a',
      inbound: [
        { protocol: 'tcp', ports: 80, cidr: '0.0.0.0/0' },
        { protocol: 'tcp', ports: 22, cidr: '0.0.0.0/0' },
        { protocol: 'tcp', ports: '8080-8081', cidr: '10.1.0.0/16' },
        { protocol: 'udp', ports: 53, cidr: '0.0.0.0/0' },
        { protocol: 'icmp', cidr: '10.1.0.0/16' },
      ],
    },
    {
      id: 'sg-app',
      vpc: 'vpc-a',
      inbound: [
        { protocol: 'tcp', ports: '8080-8081', group: 'sg-web' },
        { protocol: 'tcp', ports: 22, cidr: '0.0.0.0/0' },
        { protocol: 'udp', cidr: '0.0.0.0/0' },
      ],
    },
    {
      id: 'sg-db',
      vpc: 'vpc-a',
      inbound: [{ protocol: 'tcp', ports: 5432, group: 'sg-app' }],
      outbound: [],
    },
    { id: 'sg-open-a', vpc: 'vpc-a', inbound: [{ protocol: 'all', cidr: '0.0.0.0/0' }] },
    { id: 'sg-open-b', vpc: 'vpc-b', inbound: [{ protocol: 'all', cidr: '0.0.0.0/0' }] },
    { id: 'sg-d', vpc: 'vpc-d', inbound: [{ protocol: 'tcp', ports: 22, cidr: '10.1.0.0/16' }] },
  ],
  natGateways: [
    {
      id: 'ngw-1',
      vpc: 'vpc-a',
      publicIps: ['198.51.100.10', '198.51.100.11'],
      ports: '1024-1087',
      portForwards: [
        { protocol: 'tcp', publicPort: 22, eni: 'eni-a1' },
        { protocol: 'udp', publicPort: 5353, eni: 'eni-a2', privatePort: 53 },
        { protocol: 'tcp', publicIp: '198.51.100.11', publicPort: 8080, eni: 'eni-a3' },
      ],
    },
  ],
  eips: [{ id: 'eip-1', publicIp: '198.51.100.20', eni: 'eni-a3' }],
  loadBalancers: [
    {
      id: 'web-dr',
      vip: '10.90.0.1',
      protocol: 'tcp',
      port: 80,
      mode: 'dr',
      tableSize: 307,
      backends: B.map((ip, i) => ({ ip, weight: i + 1 })),
    },
    {
      id: 'web-nat',
      vip: '10.90.0.2',
      protocol: 'tcp',
      port: 80,
      mode: 'nat',
      scheduler: 'rr',
      affinityTimeoutS: 60,
      backends: [
        { ip: B[0]!, port: 8080 },
        { ip: B[1]!, port: 8080 },
      ],
    },
    {
      id: 'web-fullnat',
      vip: '10.90.0.3',
      protocol: 'tcp',
      port: 80,
      mode: 'fullnat',
      tableSize: 101,
      localIps: ['10.80.0.200'],
      backends: [{ ip: B[2]!, port: 8080 }],
    },
    {
      id: 'web-tunnel',
      vip: '10.90.0.4',
      protocol: 'tcp',
      port: 443,
      mode: 'tunnel',
      tableSize: 211,
      backends: [{ ip: '10.99.0.5' }, { ip: '10.9.0.5' }],
    },
    {
      id: 'dns',
      vip: '10.90.0.5',
      protocol: 'udp',
      port: 53,
      mode: 'nat',
      scheduler: 'wrr',
      backends: [
        { ip: B[0]!, weight: 3 },
        { ip: B[1]!, weight: 1 },
      ],
    },
    {
      id: 'any-port',
      vip: '10.90.0.6',
      protocol: 'tcp',
      port: 0,
      mode: 'nat',
      scheduler: 'lc',
      backends: [{ ip: B[0]! }, { ip: B[1]! }],
    },
    {
      id: 'drained',
      vip: '10.90.0.7',
      protocol: 'tcp',
      port: 80,
      mode: 'nat',
      tableSize: 101,
      backends: [{ ip: B[0]!, weight: 0 }],
    },
    {
      id: 'udp-fullnat-sh',
      vip: '10.90.0.8',
      protocol: 'udp',
      port: 0,
      mode: 'fullnat',
      scheduler: 'sh',
      tableSize: 211,
      localIps: ['10.80.0.201', '10.80.0.202'],
      backends: [{ ip: B[0]! }, { ip: B[2]! }],
    },
    {
      id: 'udp-dr',
      vip: '10.90.0.1',
      protocol: 'udp',
      port: 0,
      mode: 'dr',
      tableSize: 211,
      backends: [{ ip: B[1]! }, { ip: B[2]! }],
    },
    {
      id: 'internal-web',
      vpc: 'vpc-a',
      vip: '10.1.3.100',
      protocol: 'tcp',
      port: 80,
      mode: 'nat',
      scheduler: 'rr',
      backends: [
        { ip: '10.1.2.11', port: 8080 },
        { ip: '10.1.2.12', port: 8080 },
      ],
    },
    {
      id: 'internal-dns',
      vpc: 'vpc-a',
      vip: '10.1.3.100',
      protocol: 'udp',
      port: 0,
      mode: 'nat',
      tableSize: 211,
      backends: [{ ip: '10.1.2.11' }, { ip: '10.1.2.12' }],
    },
    {
      id: 'internal-dr',
      vpc: 'vpc-a',
      vip: '10.1.3.101',
      protocol: 'tcp',
      port: 8080,
      mode: 'dr',
      scheduler: 'rr',
      backends: [{ ip: '10.1.2.11' }, { ip: '10.1.2.12' }],
    },
    {
      id: 'internal-tunnel',
      vpc: 'vpc-a',
      vip: '10.1.3.102',
      protocol: 'tcp',
      port: 443,
      mode: 'tunnel',
      tableSize: 211,
      affinityTimeoutS: 30,
      backends: [{ ip: '10.1.2.11' }, { ip: '10.1.2.12' }],
    },
    {
      id: 'internal-fullnat',
      vpc: 'vpc-a',
      vip: '10.1.3.103',
      protocol: 'udp',
      port: 0,
      mode: 'fullnat',
      scheduler: 'sh',
      tableSize: 211,
      localIps: ['10.1.3.200'],
      backends: [{ ip: '10.1.2.11' }, { ip: '10.1.2.12' }],
    },
  ],
};
