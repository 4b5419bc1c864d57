// Validation of the VPC model: references resolve, addresses sit where they
// must, nothing is claimed twice, route targets mean something; each
// problem with its JSON path.
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/validate.js';
import type { NfvgwError } from '../../src/core/errors.js';

const base = () => ({
  ports: [{ name: 'underlay', type: 'mem', addresses: ['192.168.100.1/24'] }],
  overlay: { port: 'underlay' },
  vpcs: [
    { id: 'vpc-a', vni: 1001, cidrs: ['10.1.0.0/16'] },
    { id: 'vpc-b', vni: 1002, cidrs: ['10.2.0.0/16'] },
  ],
  subnets: [
    { id: 'a1', vpc: 'vpc-a', cidr: '10.1.1.0/24', routeTable: 'rt-a', networkAcl: 'acl-a' },
    { id: 'b1', vpc: 'vpc-b', cidr: '10.2.1.0/24', routeTable: 'rt-b' },
  ],
  enis: [
    {
      id: 'eni-1',
      subnet: 'a1',
      mac: '02:00:00:00:00:01',
      ip: '10.1.1.10',
      vtep: '192.168.100.11',
      securityGroups: ['sg-a'],
    },
    {
      id: 'eni-2',
      subnet: 'b1',
      mac: '02:00:00:00:00:02',
      ip: '10.2.1.10',
      vtep: '192.168.100.12',
      securityGroups: ['sg-b'],
    },
  ],
  routeTables: [
    { id: 'rt-a', vpc: 'vpc-a', routes: [{ destination: '10.2.0.0/16', target: 'peering:pcx' }] },
    { id: 'rt-b', vpc: 'vpc-b', routes: [{ destination: '10.1.0.0/16', target: 'peering:pcx' }] },
  ],
  peerings: [{ id: 'pcx', vpcs: ['vpc-a', 'vpc-b'] }],
  networkAcls: [{ id: 'acl-a', vpc: 'vpc-a', inbound: [{ rule: 100, action: 'allow', cidr: '0.0.0.0/0' }] }],
  securityGroups: [
    { id: 'sg-a', vpc: 'vpc-a' } as { id: string; vpc: string; inbound?: unknown[]; outbound?: unknown[] },
    { id: 'sg-b', vpc: 'vpc-b' },
  ],
});

type Doc = ReturnType<typeof base> & Record<string, unknown>;

function problems(edit: (d: Doc) => void): { path: string; message: string }[] {
  const d = base() as Doc;
  edit(d);
  try {
    validateConfig(d);
  } catch (e) {
    return (e as NfvgwError).details;
  }
  throw new Error('expected the configuration to be refused');
}

describe('VPC model validation', () => {
  it('accepts the base document and compiles it', () => {
    const cfg = validateConfig(base());
    const c = compile(cfg, { bpfDir: '/x', generation: 1 });
    const o = c.snapshot.overlay!;
    expect(o.vnis).toEqual([1001, 1002]);
    expect(o.vtepIp).toBe(0xc0a86401);
    expect(o.subnets[0]).toEqual({
      vpc: 0,
      prefix: 0x0a010100,
      length: 24,
      gateway: 0x0a010101,
      routeTable: 0,
      acl: 0,
    });
    expect(o.enis[0]).toMatchObject({ vpc: 0, subnet: 0, vtep: 0xc0a8640b, ips: [0x0a01010a] });
    // rt-a: the implicit local route, then the peering route
    expect(Array.from(o.routes.table)).toEqual([0, 0, 1, 1]);
    expect(o.targets[o.routes.target[0]!]).toEqual({ kind: 'local', vpc: 0 });
    expect(o.targets[o.routes.target[1]!]).toEqual({ kind: 'peering', vpc: 1 });
    expect(o.acls[0]!.inbound).toEqual([
      { allow: true, proto: -1, portLo: 0, portHi: 65535, prefix: 0, length: 0 },
    ]);
  });

  const cases: [string, (d: Doc) => void, string, RegExp][] = [
    [
      'VPCs without an overlay',
      (d) => Object.assign(d, { overlay: undefined }),
      '$.overlay',
      /underlay port/,
    ],
    ['a duplicate VNI', (d) => (d.vpcs[1]!.vni = 1001), '$.vpcs[1].vni', /already vpcs\[0\]/],
    ['a duplicate id', (d) => (d.vpcs[1]!.id = 'vpc-a'), '$.vpcs[1].id', /already vpcs\[0\]/],
    [
      'a subnet outside its VPC',
      (d) => (d.subnets[0]!.cidr = '10.9.1.0/24'),
      '$.subnets[0].cidr',
      /not inside the CIDRs of vpc-a/,
    ],
    [
      'overlapping subnets',
      (d) => d.subnets.push({ id: 'a2', vpc: 'vpc-a', cidr: '10.1.1.128/25', routeTable: 'rt-a' } as never),
      '$.subnets[2].cidr',
      /overlaps subnets\[0\]/,
    ],
    [
      'a route table of another VPC',
      (d) => (d.subnets[0]!.routeTable = 'rt-b'),
      '$.subnets[0].routeTable',
      /belongs to vpc-b/,
    ],
    [
      'an ENI address outside its subnet',
      (d) => (d.enis[0]!.ip = '10.1.2.10'),
      '$.enis[0].ip',
      /not in subnet a1/,
    ],
    [
      'an ENI on the subnet gateway',
      (d) => (d.enis[0]!.ip = '10.1.1.1'),
      '$.enis[0].ip',
      /gateway address of a1/,
    ],
    [
      'an address used twice in a VPC',
      (d) => d.enis.push({ ...d.enis[0]!, id: 'eni-3', mac: '02:00:00:00:00:03' }),
      '$.enis[2].ip',
      /already used by eni-1/,
    ],
    [
      'a MAC used twice',
      (d) => (d.enis[1]!.mac = '02:00:00:00:00:01'),
      '$.enis[1].mac',
      /already the MAC of enis\[0\]/,
    ],
    [
      'a security group of another VPC',
      (d) => (d.enis[0]!.securityGroups = ['sg-b']),
      '$.enis[0].securityGroups[0]',
      /belongs to vpc-b/,
    ],
    ['no security group', (d) => (d.enis[0]!.securityGroups = []), '$.enis[0].securityGroups', /1|least/],
    [
      'six security groups',
      (d) => (d.enis[0]!.securityGroups = Array(6).fill('sg-a')),
      '$.enis[0].securityGroups',
      /5|most/,
    ],
    [
      'a security-group rule with a CIDR and a group',
      (d) => (d.securityGroups[0]!.inbound = [{ cidr: '10.0.0.0/8', group: 'sg-a' }]),
      '$.securityGroups[0].inbound[0]',
      /either a cidr or a group/,
    ],
    [
      'a security-group rule with neither',
      (d) => (d.securityGroups[0]!.outbound = [{ protocol: 'tcp' }]),
      '$.securityGroups[0].outbound[0]',
      /either a cidr or a group/,
    ],
    [
      'a security-group rule naming an unknown group',
      (d) => (d.securityGroups[0]!.inbound = [{ group: 'sg-x' }]),
      '$.securityGroups[0].inbound[0].group',
      /no security group is named sg-x/,
    ],
    [
      'a security-group rule naming a group of another VPC',
      (d) => (d.securityGroups[0]!.inbound = [{ group: 'sg-b' }]),
      '$.securityGroups[0].inbound[0].group',
      /sg-b belongs to vpc-b, not vpc-a/,
    ],
    [
      'a security-group rule with ports on ICMP',
      (d) => (d.securityGroups[0]!.inbound = [{ protocol: 'icmp', ports: 80, cidr: '0.0.0.0/0' }]),
      '$.securityGroups[0].inbound[0].ports',
      /tcp and udp rules only/,
    ],
    [
      'a security-group rule with a backwards port range',
      (d) => (d.securityGroups[0]!.inbound = [{ protocol: 'tcp', ports: '90-80', cidr: '0.0.0.0/0' }]),
      '$.securityGroups[0].inbound[0].ports',
      /not a port range/,
    ],
    [
      'a security-group CIDR with host bits',
      (d) => (d.securityGroups[0]!.inbound = [{ cidr: '10.1.1.1/24' }]),
      '$.securityGroups[0].inbound[0].cidr',
      /host bits set/,
    ],
    [
      'a connection table too small',
      (d) => (d.conntrack = { maxConnections: 10 }),
      '$.conntrack.maxConnections',
      /1024|too small|>=/,
    ],
    [
      'an unknown peering',
      (d) => (d.routeTables[0]!.routes[0]!.target = 'peering:nope'),
      '$.routeTables[0].routes[0].target',
      /no peering is named nope/,
    ],
    [
      'a peering route outside the peer',
      (d) => (d.routeTables[0]!.routes[0]!.destination = '10.3.0.0/16'),
      '$.routeTables[0].routes[0].destination',
      /not inside the CIDRs of the peer vpc-b/,
    ],
    [
      'peering overlapping VPCs',
      (d) => (d.vpcs[1]!.cidrs = ['10.1.0.0/16']),
      '$.peerings[0].vpcs',
      /overlap .* cannot peer/,
    ],
    [
      'a route to the VPC CIDR itself',
      (d) => d.routeTables[0]!.routes.push({ destination: '10.1.0.0/16', target: 'blackhole' }),
      '$.routeTables[0].routes[1].destination',
      /routed locally/,
    ],
    [
      'an unknown NAT gateway',
      (d) => d.routeTables[0]!.routes.push({ destination: '0.0.0.0/0', target: 'nat:ngw-1' }),
      '$.routeTables[0].routes[1].target',
      /no NAT gateway is named ngw-1/,
    ],
    [
      'igw without an internet section',
      (d) => d.routeTables[0]!.routes.push({ destination: '0.0.0.0/0', target: 'igw' }),
      '$.routeTables[0].routes[1].target',
      /internet section/,
    ],
    [
      'an EIP on an address its ENI does not have',
      (d) => {
        d.internet = { port: 'underlay' };
        d.eips = [{ id: 'eip-1', publicIp: '198.51.100.1', eni: 'eni-1', privateIp: '10.1.1.99' }];
      },
      '$.eips[0].privateIp',
      /not an address of eni-1/,
    ],
    [
      'a public address used twice',
      (d) => {
        d.internet = { port: 'underlay' };
        d.natGateways = [{ id: 'ngw-1', vpc: 'vpc-a', publicIps: ['198.51.100.1'] }];
        d.eips = [{ id: 'eip-1', publicIp: '198.51.100.1', eni: 'eni-1' }];
      },
      '$.eips[0].publicIp',
      /already used by ngw-1/,
    ],
    [
      'a NAT gateway without an internet section',
      (d) => (d.natGateways = [{ id: 'ngw-1', vpc: 'vpc-a', publicIps: ['198.51.100.1'] }]),
      '$.internet',
      /internet section/,
    ],
    [
      'a NAT port range that is not one',
      (d) => {
        d.internet = { port: 'underlay' };
        d.natGateways = [{ id: 'ngw-1', vpc: 'vpc-a', publicIps: ['198.51.100.1'], ports: '0-100' }];
      },
      '$.natGateways[0].ports',
      /not a port range/,
    ],
    [
      'an unknown target kind',
      (d) => (d.routeTables[0]!.routes[0]!.target = 'vpn:x'),
      '$.routeTables[0].routes[0].target',
      /must be blackhole/,
    ],
    [
      'a transit route to an unattached VPC',
      (d) => {
        d.transitGateways = [
          {
            id: 'tgw',
            attachments: ['vpc-a'],
            routes: [{ destination: '10.2.0.0/16', target: 'vpc:vpc-b' }],
          },
        ];
      },
      '$.transitGateways[0].routes[0].target',
      /vpc-b is not attached to tgw/,
    ],
    [
      'a table routing to a transit gateway its VPC is not attached to',
      (d) => {
        d.transitGateways = [{ id: 'tgw', attachments: ['vpc-b'] }];
        d.routeTables[0]!.routes.push({ destination: '10.8.0.0/16', target: 'transit:tgw' });
      },
      '$.routeTables[0].routes[1].target',
      /vpc-a is not attached to tgw/,
    ],
    [
      'an ENI target in another VPC',
      (d) => d.routeTables[0]!.routes.push({ destination: '10.8.0.0/16', target: 'eni:eni-2' }),
      '$.routeTables[0].routes[1].target',
      /eni-2 is not in vpc-a/,
    ],
    [
      'duplicate ACL rule numbers',
      (d) => d.networkAcls[0]!.inbound.push({ rule: 100, action: 'deny', cidr: '10.0.0.0/8' }),
      '$.networkAcls[0].inbound[1].rule',
      /rule 100 is already inbound\[0\]/,
    ],
    [
      'ports on an ICMP rule',
      (d) =>
        d.networkAcls[0]!.inbound.push({
          rule: 200,
          action: 'deny',
          protocol: 'icmp',
          ports: 80,
          cidr: '0.0.0.0/0',
        } as never),
      '$.networkAcls[0].inbound[1].ports',
      /tcp and udp rules only/,
    ],
    [
      'a backwards port range',
      (d) =>
        d.networkAcls[0]!.inbound.push({
          rule: 200,
          action: 'deny',
          protocol: 'tcp',
          ports: '90-80',
          cidr: '0.0.0.0/0',
        } as never),
      '$.networkAcls[0].inbound[1].ports',
      /not a port range/,
    ],
    ['a loopback VTEP', (d) => (d.enis[0]!.vtep = '127.0.0.1'), '$.enis[0].vtep', /cannot be a VTEP/],
    [
      'an overlay on an unknown port',
      (d) => (d.overlay.port = 'nope'),
      '$.overlay.port',
      /no port is named nope/,
    ],
  ];
  for (const [name, edit, path, message] of cases) {
    it(`refuses ${name}`, () => {
      expect(problems(edit)).toContainEqual({ path, message: expect.stringMatching(message) });
    });
  }
});
