// The desired-state document: what a gateway should be, as the operator or
// the controller writes it (YAML or JSON). This schema is the one
// definition of its shape and defaults; semantic checks that span fields
// (references, overlaps) are in validate.ts. Documented with examples in
// the README and examples/.
import { z } from 'zod';
import { isMac, parseIp4, parsePrefix } from './ip.js';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be 1-32 characters of a-z, 0-9, _ and -, starting with a letter');
const ip4 = z.string().refine((s) => parseIp4(s) !== null, 'must be an IPv4 address like 10.0.0.1');
const prefix = z.string().refine((s) => parsePrefix(s) !== null, 'must be an IPv4 prefix like 10.0.0.0/24');
const mac = z.string().refine(isMac, 'must be a MAC address like 02:00:00:00:00:01');
const powerOfTwo = (n: number) => (n & (n - 1)) === 0;

export const PortSchema = z.strictObject({
  /** How routes, neighbors and the API refer to the port. */
  name,
  /** af_xdp (XDP + AF_XDP sockets), af_packet (raw sockets), mem (in-memory, for tests and benchmarks). */
  type: z.enum(['af_xdp', 'af_packet', 'mem']),
  /** The network interface (af_xdp, af_packet). */
  interface: z.string().min(1).max(15).optional(),
  /** The network namespace the interface is in (`ip netns` name or a path); default: the gateway's. */
  netns: z.string().min(1).max(255).optional(),
  /** af_xdp: attach the XDP program in driver (native) or generic mode; auto tries native first. */
  xdpMode: z.enum(['auto', 'native', 'generic']).default('auto'),
  /** af_xdp: zero-copy sockets; auto uses them when every AF_XDP port's driver has them. */
  zeroCopy: z.enum(['auto', 'on', 'off']).default('auto'),
  /** af_xdp ring sizes (RX, TX, fill, completion); af_packet TX frames. A power of two. */
  ringSize: z.number().int().min(64).max(16384).refine(powerOfTwo, 'must be a power of two').default(2048),
  /** mem ports: the port's MAC address (interfaces use their own). */
  mac: mac.optional(),
  /** Layer-3 MTU; default: the interface's (1500 for mem ports). */
  mtu: z.number().int().min(68).max(1774).optional(),
  /** 802.1Q VLAN id: frames on this port carry this tag. */
  vlan: z.number().int().min(1).max(4094).optional(),
  /** The gateway's addresses on this port, with the prefix length of the subnet. */
  addresses: z.array(prefix).max(256).default([]),
});

export const WorkerSchema = z.strictObject({
  /** The CPU core to pin the worker thread to; unpinned when absent. */
  core: z.number().int().min(0).max(4095).optional(),
  /** busy: poll without pause (a whole core); adaptive: sleep in poll() when idle. */
  pollMode: z.enum(['busy', 'adaptive']).default('adaptive'),
});

export const RouteSchema = z.strictObject({
  /** The destination prefix; 0.0.0.0/0 is the default route. */
  destination: prefix,
  /** The next-hop router; must be on a subnet of one of the ports. */
  via: ip4.optional(),
  /** The output port: for on-link routes without `via`, or to pick the port of `via`. */
  port: name.optional(),
  /** unicast (forward), blackhole (drop silently), unreachable (drop with ICMP). */
  type: z.enum(['unicast', 'blackhole', 'unreachable']).default('unicast'),
});

export const NeighborSchema = z.strictObject({
  port: name,
  address: ip4,
  mac,
});

// --- The VPC overlay: VXLAN, VPCs, subnets, ENIs, route tables, peering,
// transit, network ACLs. Identifiers are like the cloud's: vpc-a, subnet-1.
const id = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be 1-63 characters of a-z, 0-9 and -, starting with a letter');

export const VpcSchema = z.strictObject({
  id,
  /** The VXLAN network identifier that carries this VPC's traffic (24 bits; 16777200 and up are reserved). */
  vni: z.number().int().min(1).max(16_777_199),
  /** The VPC's address ranges; VPCs may overlap each other, the VNI keeps them apart. */
  cidrs: z.array(prefix).min(1).max(5),
});

export const SubnetSchema = z.strictObject({
  id,
  vpc: id,
  /** Inside one of the VPC's CIDRs; its first host address is the subnet's gateway. */
  cidr: prefix,
  routeTable: id,
  /** Stateless rules for traffic entering and leaving the subnet; none: everything allowed. */
  networkAcl: id.optional(),
});

export const EniSchema = z.strictObject({
  id,
  subnet: id,
  mac,
  /** The primary private address, in the subnet. */
  ip: ip4,
  secondaryIps: z.array(ip4).max(49).default([]),
  /** The underlay address of the hypervisor (VTEP) the ENI is attached to; absent: detached. */
  vtep: ip4.optional(),
  /** 1 to 5 security groups of the ENI's VPC (their rules are enforced with connection tracking). */
  securityGroups: z.array(id).min(1).max(5),
});

const routeTarget = z
  .string()
  .regex(
    /^(blackhole|igw|(peering|transit|eni|nat):[a-z][a-z0-9-]{0,62})$/,
    'must be blackhole, igw, or peering:<id>, transit:<id>, eni:<id>, nat:<id>',
  );

export const VpcRouteSchema = z.strictObject({
  destination: prefix,
  /** Where the traffic goes; the VPC's own CIDRs are routed locally without a route. */
  target: routeTarget,
});

export const RouteTableSchema = z.strictObject({
  id,
  vpc: id,
  routes: z.array(VpcRouteSchema).default([]),
});

export const PeeringSchema = z.strictObject({
  id,
  /** The two VPCs; each needs a route to the other to use it. Not transitive. */
  vpcs: z.tuple([id, id]),
});

export const TransitGatewaySchema = z.strictObject({
  id,
  /** The VPCs attached to the hub. */
  attachments: z.array(id).min(1).max(5000),
  routes: z
    .array(
      z.strictObject({
        destination: prefix,
        /** vpc:<id> (an attachment) or blackhole. */
        target: z.string().regex(/^(blackhole|vpc:[a-z][a-z0-9-]{0,62})$/, 'must be vpc:<id> or blackhole'),
      }),
    )
    .default([]),
});

const portRange = z
  .union([
    z.number().int().min(0).max(65535),
    z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'must be a port or a range like 1024-65535'),
  ])
  .optional();

export const AclRuleSchema = z.strictObject({
  /** Evaluated in ascending order; the first match decides. */
  rule: z.number().int().min(1).max(32766),
  action: z.enum(['allow', 'deny']),
  /** all, tcp, udp, icmp, or an IP protocol number. */
  protocol: z.union([z.enum(['all', 'tcp', 'udp', 'icmp']), z.number().int().min(0).max(255)]).default('all'),
  /** TCP and UDP only: the destination port or range. */
  ports: portRange,
  /** The remote side: the source for inbound rules, the destination for outbound ones. */
  cidr: prefix,
});

export const NetworkAclSchema = z.strictObject({
  id,
  vpc: id,
  /** No rule matching is an implicit deny. */
  inbound: z.array(AclRuleSchema).max(40).default([]),
  outbound: z.array(AclRuleSchema).max(40).default([]),
});

export const SgRuleSchema = z.strictObject({
  /** all, tcp, udp, icmp, or an IP protocol number. */
  protocol: z.union([z.enum(['all', 'tcp', 'udp', 'icmp']), z.number().int().min(0).max(255)]).default('all'),
  /** TCP and UDP only: the destination port or range; absent: all. */
  ports: portRange,
  /** The remote side (the source inbound, the destination outbound): a CIDR ... */
  cidr: prefix.optional(),
  /** ... or another security group of the VPC: the addresses of its ENIs. */
  group: id.optional(),
});

export const SecurityGroupSchema = z.strictObject({
  id,
  vpc: id,
  description: z.string().max(255).optional(),
  /** Allowed new connections towards the ENIs; none by default. Replies pass without a rule. */
  inbound: z.array(SgRuleSchema).max(1000).default([]),
  /** Allowed new connections from the ENIs; everything by default. */
  outbound: z
    .array(SgRuleSchema)
    .max(1000)
    .default([{ protocol: 'all', cidr: '0.0.0.0/0' }]),
});

export const InternetSchema = z.strictObject({
  /**
   * The port towards the internet. The public addresses (NAT gateways,
   * elastic IPs) answer ARP there; what the VPCs send to the internet leaves
   * by the gateway's own routes (a default route via the upstream router).
   */
  port: name,
});

export const NatGatewaySchema = z.strictObject({
  id,
  vpc: id,
  /** The public addresses connections leave from; each inside address keeps one of them. */
  publicIps: z.array(ip4).min(1).max(64),
  /** The public ports mappings take, per address and protocol. */
  ports: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be a range like 1024-65535')
    .default('1024-65535'),
  /** Destination NAT: connections from the internet to a public port go to an ENI. */
  portForwards: z
    .array(
      z.strictObject({
        protocol: z.enum(['tcp', 'udp']),
        /** One of the gateway's public addresses (default: the first). */
        publicIp: ip4.optional(),
        /** Outside the range mappings take. */
        publicPort: z.number().int().min(1).max(65535),
        eni: id,
        /** Default: the ENI's primary address. */
        privateIp: ip4.optional(),
        /** Default: the public port. */
        privatePort: z.number().int().min(1).max(65535).optional(),
      }),
    )
    .max(10_000)
    .default([]),
});

export const EipSchema = z.strictObject({
  id,
  publicIp: ip4,
  /** The ENI it is bound to, and which of its private addresses (default: the primary). */
  eni: id,
  privateIp: ip4.optional(),
});

// --- The L4 load balancer: services (a VIP, a protocol, a port) spread over
// backends. See native/nf/lb/lb.h for the modes.
export const HealthCheckSchema = z.strictObject({
  /** tcp: a connection opens; http: GET `path` answers one of `expectStatus`. */
  type: z.enum(['tcp', 'http']),
  /** The port checked; default: the backend's. */
  port: z.number().int().min(1).max(65535).optional(),
  path: z.string().startsWith('/').max(1024).default('/'),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).max(32).default([200]),
  intervalMs: z.number().int().min(100).max(3_600_000).default(2000),
  /** At most the interval. */
  timeoutMs: z.number().int().min(10).max(3_600_000).default(1000),
  /** Successes in a row that bring a backend up, failures in a row that take it down. */
  rise: z.number().int().min(1).max(100).default(2),
  fall: z.number().int().min(1).max(100).default(3),
});

export const BackendSchema = z.strictObject({
  ip: ip4,
  /** nat, fullnat: the port connections go to (default: the service's); dr, tunnel keep the service's. */
  port: z.number().int().min(1).max(65535).optional(),
  /** Share of new connections; 0 drains: no new connections, existing ones go on. */
  weight: z.number().int().min(0).max(10_000).default(1),
  /**
   * dr on the gateway's ports: the backend's MAC address, so that it needs
   * no ARP (a static neighbor on the port whose subnet holds the backend).
   */
  mac: mac.optional(),
});

export const LoadBalancerSchema = z.strictObject({
  id,
  /**
   * An internal load balancer of this VPC: the VIP is a free address of the
   * VPC, the backends are addresses of its ENIs, the mode is nat. Absent:
   * a load balancer on the gateway's ports.
   */
  vpc: id.optional(),
  /** The virtual IP clients connect to; the gateway answers ARP for it. */
  vip: ip4,
  protocol: z.enum(['tcp', 'udp']),
  /** The service port; 0: every port of the VIP (each connection keeps its port). */
  port: z.number().int().min(0).max(65535),
  /**
   * dr: the backend's MAC, nothing else (backends on a subnet of a port,
   * the VIP on their loopback; replies go straight to the client); nat: the
   * destination becomes the backend (replies must come back through the
   * gateway); fullnat: the source becomes one of `localIps` too; tunnel:
   * IP-in-IP to the backend, which decapsulates and replies directly.
   */
  mode: z.enum(['dr', 'nat', 'fullnat', 'tunnel']),
  /** maglev (consistent hashing of the connection), rr, wrr, lc (least connections), sh (source-address hash). */
  scheduler: z.enum(['maglev', 'rr', 'wrr', 'lc', 'sh']).default('maglev'),
  /** maglev, sh: the lookup table's size, a prime at least 100 times the backends; default 65537 or the next such prime. */
  tableSize: z.number().int().min(101).max(16_777_259).optional(),
  /** fullnat: the source addresses connections to backends leave from (the gateway answers ARP for them). */
  localIps: z.array(ip4).max(64).default([]),
  backends: z.array(BackendSchema).max(10_000).default([]),
  healthCheck: HealthCheckSchema.optional(),
  /** When no backend is healthy: drop new connections (counted), or use every backend with a weight. */
  allBackendsDown: z.enum(['drop', 'all']).default('drop'),
  /**
   * Session affinity: a client address's new connections go to the backend
   * of its last one made within this many seconds (kube-proxy's ClientIP
   * affinity, IPVS persistence), while that backend takes new connections.
   */
  affinityTimeoutS: z.number().int().min(1).max(86_400).optional(),
});

const seconds = z.number().int().min(1).max(1_000_000);
export const ConntrackSchema = z.strictObject({
  /** Connections the table holds (64 bytes each and about 8-16 of index); fixed while the gateway runs. */
  maxConnections: z
    .number()
    .int()
    .min(1024)
    .max(1 << 28)
    .default(262_144),
  /** Seconds a connection lives without traffic, per state. */
  timeouts: z
    .strictObject({
      tcpSynSent: seconds.default(120),
      tcpSynRecv: seconds.default(60),
      tcpEstablished: seconds.default(7440),
      tcpFinWait: seconds.default(120),
      tcpCloseWait: seconds.default(60),
      tcpTimeWait: seconds.default(120),
      tcpClose: seconds.default(10),
      udpUnreplied: seconds.default(30),
      udpReplied: seconds.default(180),
      icmp: seconds.default(30),
    })
    .prefault({}),
});

export const OverlaySchema = z.strictObject({
  /** The underlay port: VXLAN arrives and leaves there; its first address is the gateway's VTEP address. */
  port: name,
  /** The VXLAN UDP port. */
  udpPort: z.number().int().min(1).max(65535).default(4789),
  /** The MAC the VMs see as their subnets' gateway. */
  routerMac: mac.default('02:00:5e:10:00:01'),
});

export const ConfigSchema = z.strictObject({
  /** One worker thread per entry; AF_XDP ports need one queue per worker. */
  workers: z
    .array(WorkerSchema)
    .min(1)
    .max(64)
    .default([{ pollMode: 'adaptive' }]),
  /** Frames received per poll (1-64). */
  burst: z.number().int().min(1).max(64).default(32),
  /**
   * The longest a frame waits before the kernel is told to transmit it
   * (microseconds). Kicks are batched (32 frames, or this long): fewer system
   * calls under load, at most this much added latency. 0 kicks every burst.
   */
  txDrainUs: z.number().int().min(0).max(10_000).default(50),
  /** auto: 2 MiB huge pages, reserved if needed, normal pages otherwise (with a warning); require; off. */
  hugepages: z.enum(['auto', 'require', 'off']).default('auto'),
  ports: z.array(PortSchema).min(1).max(1024),
  routes: z.array(RouteSchema).default([]),
  /** Static neighbors (ARP entries); others are learned. */
  neighbors: z.array(NeighborSchema).default([]),
  icmp: z
    .strictObject({
      /** ICMP errors (time exceeded, unreachable) per second per worker. */
      errorsPerSecond: z.number().int().min(0).max(1_000_000).default(1000),
      burst: z.number().int().min(0).max(1_000_000).default(50),
    })
    .prefault({}),
  overlay: OverlaySchema.optional(),
  vpcs: z.array(VpcSchema).default([]),
  subnets: z.array(SubnetSchema).default([]),
  enis: z.array(EniSchema).default([]),
  routeTables: z.array(RouteTableSchema).default([]),
  peerings: z.array(PeeringSchema).default([]),
  transitGateways: z.array(TransitGatewaySchema).default([]),
  networkAcls: z.array(NetworkAclSchema).default([]),
  securityGroups: z.array(SecurityGroupSchema).default([]),
  conntrack: ConntrackSchema.prefault({}),
  internet: InternetSchema.optional(),
  natGateways: z.array(NatGatewaySchema).default([]),
  eips: z.array(EipSchema).default([]),
  loadBalancers: z.array(LoadBalancerSchema).max(4096).default([]),
  /** The network namespace (`ip netns` name or path) health checks run from; default: the gateway's own. */
  healthCheckNetns: z.string().min(1).max(255).optional(),
  neighborTimers: z
    .strictObject({
      /** A learned neighbor is refreshed with an ARP request after this long. */
      reachableMs: z.number().int().min(100).max(86_400_000).default(30_000),
      /** ... and no longer used when nothing confirmed it for this long. */
      expireMs: z.number().int().min(100).max(86_400_000).default(90_000),
      /** At most one ARP request per neighbor per interval. */
      retryMs: z.number().int().min(10).max(86_400_000).default(1000),
    })
    .prefault({}),
});

/** A configuration as written (defaults may be missing). */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** A configuration with every default filled in. */
export type Config = z.output<typeof ConfigSchema>;
export type PortConfig = z.output<typeof PortSchema>;
export type RouteConfig = z.output<typeof RouteSchema>;
export type AclRuleConfig = z.output<typeof AclRuleSchema>;
export type SgRuleConfig = z.output<typeof SgRuleSchema>;
export type LoadBalancerConfig = z.output<typeof LoadBalancerSchema>;
export type HealthCheckConfig = z.output<typeof HealthCheckSchema>;
