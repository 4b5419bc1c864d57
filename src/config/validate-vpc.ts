// The rules of the VPC model that span fields: every reference resolves,
// addresses sit where they must (subnets in their VPC, ENIs in their
// subnet), nothing is claimed twice, and every route target means something.
// Reports through `add(path, message)`, like the rest of validation.
import {
  broadcastOf,
  contains,
  formatPrefix,
  networkOf,
  overlaps,
  type Prefix,
  parseIp4,
  parsePrefix,
} from './ip.js';
import type { Config } from './schema.js';

export type Add = (path: ReadonlyArray<PropertyKey>, message: string) => void;

/** "80" or "1024-65535" or 80 to [lo, hi]; null when the range is backwards or out of bounds. */
export function parsePorts(ports: number | string | undefined): [number, number] | null {
  if (ports === undefined) return [0, 65535];
  const parts = typeof ports === 'number' ? [ports] : ports.split('-').map(Number);
  const lo = parts[0]!;
  const hi = parts[1] ?? lo;
  if (lo > 65535 || hi > 65535 || lo > hi) return null;
  return [lo, hi];
}

/** The subnet's gateway: its first host address. */
export function subnetGateway(p: Prefix): number {
  return (networkOf(p.ip, p.len) + 1) >>> 0;
}

export function uniqueIds<T extends { id: string }>(items: T[], path: string, add: Add): Map<string, number> {
  const index = new Map<string, number>();
  items.forEach((item, i) => {
    const other = index.get(item.id);
    if (other !== undefined) add([path, i, 'id'], `${item.id} is already ${path}[${other}]`);
    else index.set(item.id, i);
  });
  return index;
}

function checkNetworkForm(text: string, path: ReadonlyArray<PropertyKey>, add: Add): Prefix {
  const p = networkForm(text);
  if (p.ip !== p.given) addHostBits(text, p, path, add);
  return p;
}

/** The prefix in `text` (schema-checked) with its host bits cleared; `given` is the address as written. */
function networkForm(text: string): Prefix & { given: number } {
  const p = parsePrefix(text)!;
  return { ip: networkOf(p.ip, p.len), len: p.len, given: p.ip };
}

function addHostBits(text: string, p: Prefix, path: ReadonlyArray<PropertyKey>, add: Add): void {
  add(path, `${text} has host bits set (did you mean ${formatPrefix(p)}?)`);
}

export function vpcIssues(cfg: Config, add: Add): void {
  const vpcs = uniqueIds(cfg.vpcs, 'vpcs', add);
  const subnets = uniqueIds(cfg.subnets, 'subnets', add);
  const enis = uniqueIds(cfg.enis, 'enis', add);
  const tables = uniqueIds(cfg.routeTables, 'routeTables', add);
  const peerings = uniqueIds(cfg.peerings, 'peerings', add);
  const tgws = uniqueIds(cfg.transitGateways, 'transitGateways', add);
  const acls = uniqueIds(cfg.networkAcls, 'networkAcls', add);
  const sgs = uniqueIds(cfg.securityGroups, 'securityGroups', add);
  const nats = uniqueIds(cfg.natGateways, 'natGateways', add);
  uniqueIds(cfg.eips, 'eips', add);
  const ref = (map: Map<string, number>, value: string, path: ReadonlyArray<PropertyKey>, what: string) => {
    const i = map.get(value);
    if (i === undefined) add(path, `no ${what} is named ${value}`);
    return i;
  };

  if (cfg.vpcs.length && !cfg.overlay)
    add(['overlay'], 'VPCs need an overlay section naming the underlay port');
  if (cfg.overlay) {
    const port = cfg.ports.findIndex((p) => p.name === cfg.overlay!.port);
    if (port < 0) add(['overlay', 'port'], `no port is named ${cfg.overlay.port}`);
    else if (!cfg.ports[port]!.addresses.length)
      add(['overlay', 'port'], `port ${cfg.overlay.port} has no address to use as the VTEP address`);
  }

  const vnis = new Map<number, number>();
  const vpcCidrs: Prefix[][] = cfg.vpcs.map((v, i) => {
    const other = vnis.get(v.vni);
    if (other !== undefined) add(['vpcs', i, 'vni'], `VNI ${v.vni} is already vpcs[${other}]`);
    else vnis.set(v.vni, i);
    const cidrs = v.cidrs.map((c, j) => checkNetworkForm(c, ['vpcs', i, 'cidrs', j], add));
    cidrs.forEach((c, j) => {
      for (let k = 0; k < j; k++)
        if (overlaps(c, cidrs[k]!))
          add(['vpcs', i, 'cidrs', j], `${v.cidrs[j]} overlaps ${v.cidrs[k]} of the same VPC`);
    });
    return cidrs;
  });

  // Subnets: inside their VPC, not overlapping their siblings, with tables and ACLs of the same VPC.
  const subnetCidr: (Prefix | undefined)[] = [];
  const subnetVpc: (number | undefined)[] = [];
  cfg.subnets.forEach((s, i) => {
    const vpc = ref(vpcs, s.vpc, ['subnets', i, 'vpc'], 'VPC');
    subnetVpc[i] = vpc;
    const cidr = checkNetworkForm(s.cidr, ['subnets', i, 'cidr'], add);
    subnetCidr[i] = cidr;
    if (cidr.len > 28)
      add(['subnets', i, 'cidr'], `a subnet needs at least /28 (network, gateway, hosts, broadcast)`);
    if (vpc !== undefined) {
      if (!vpcCidrs[vpc]!.some((c) => c.len <= cidr.len && contains(c, cidr.ip)))
        add(['subnets', i, 'cidr'], `${s.cidr} is not inside the CIDRs of ${s.vpc}`);
      for (let k = 0; k < i; k++) {
        if (subnetVpc[k] === vpc && subnetCidr[k] && overlaps(cidr, subnetCidr[k]!))
          add(['subnets', i, 'cidr'], `${s.cidr} overlaps subnets[${k}] (${cfg.subnets[k]!.id})`);
      }
    }
    const table = ref(tables, s.routeTable, ['subnets', i, 'routeTable'], 'route table');
    if (table !== undefined && vpc !== undefined && cfg.routeTables[table]!.vpc !== s.vpc)
      add(
        ['subnets', i, 'routeTable'],
        `${s.routeTable} belongs to ${cfg.routeTables[table]!.vpc}, not ${s.vpc}`,
      );
    if (s.networkAcl !== undefined) {
      const acl = ref(acls, s.networkAcl, ['subnets', i, 'networkAcl'], 'network ACL');
      if (acl !== undefined && vpc !== undefined && cfg.networkAcls[acl]!.vpc !== s.vpc)
        add(
          ['subnets', i, 'networkAcl'],
          `${s.networkAcl} belongs to ${cfg.networkAcls[acl]!.vpc}, not ${s.vpc}`,
        );
    }
  });

  // ENIs: addresses in their subnet and unique in the VPC, MACs unique.
  const ipOwner = new Map<string, string>();
  const macOwner = new Map<string, number>();
  cfg.enis.forEach((e, i) => {
    const subnet = ref(subnets, e.subnet, ['enis', i, 'subnet'], 'subnet');
    const mac = e.mac.toLowerCase();
    const other = macOwner.get(mac);
    if (other !== undefined) add(['enis', i, 'mac'], `${e.mac} is already the MAC of enis[${other}]`);
    else macOwner.set(mac, i);
    if (Number.parseInt(mac.slice(0, 2), 16) & 1) add(['enis', i, 'mac'], `${e.mac} is a multicast MAC`);
    if (e.vtep !== undefined) {
      const v = parseIp4(e.vtep)!;
      if (v >>> 24 === 0 || v >>> 24 === 127 || v >>> 24 >= 224)
        add(['enis', i, 'vtep'], `${e.vtep} cannot be a VTEP address`);
    }
    if (subnet === undefined) return;
    const cidr = subnetCidr[subnet];
    const vpc = cfg.subnets[subnet]!.vpc;
    [e.ip, ...e.secondaryIps].forEach((text, j) => {
      const path = j === 0 ? ['enis', i, 'ip'] : ['enis', i, 'secondaryIps', j - 1];
      const ip = parseIp4(text)!;
      if (cidr) {
        if (!contains(cidr, ip)) add(path, `${text} is not in subnet ${e.subnet} (${formatPrefix(cidr)})`);
        else if (ip === cidr.ip || ip === broadcastOf(cidr.ip, cidr.len))
          add(path, `${text} is the network or broadcast address of ${e.subnet}`);
        else if (ip === subnetGateway(cidr)) add(path, `${text} is the gateway address of ${e.subnet}`);
      }
      const key = `${vpc}/${ip}`;
      const owner = ipOwner.get(key);
      if (owner !== undefined) add(path, `${text} is already used by ${owner} in ${vpc}`);
      else ipOwner.set(key, e.id);
    });
    e.securityGroups.forEach((g, j) => {
      const sg = ref(sgs, g, ['enis', i, 'securityGroups', j], 'security group');
      if (sg !== undefined && cfg.securityGroups[sg]!.vpc !== vpc)
        add(['enis', i, 'securityGroups', j], `${g} belongs to ${cfg.securityGroups[sg]!.vpc}, not ${vpc}`);
    });
    if (new Set(e.securityGroups).size !== e.securityGroups.length)
      add(['enis', i, 'securityGroups'], 'a group is listed twice');
  });

  // Peerings: two different VPCs whose address space does not overlap.
  const peered = new Set<string>();
  cfg.peerings.forEach((p, i) => {
    const a = ref(vpcs, p.vpcs[0], ['peerings', i, 'vpcs', 0], 'VPC');
    const b = ref(vpcs, p.vpcs[1], ['peerings', i, 'vpcs', 1], 'VPC');
    if (a === undefined || b === undefined) return;
    if (a === b) add(['peerings', i, 'vpcs'], 'a VPC cannot peer with itself');
    const key = [p.vpcs[0], p.vpcs[1]].sort().join('/');
    if (peered.has(key)) add(['peerings', i, 'vpcs'], `${p.vpcs[0]} and ${p.vpcs[1]} are already peered`);
    peered.add(key);
    for (const x of vpcCidrs[a]!)
      for (const y of vpcCidrs[b]!)
        if (overlaps(x, y))
          add(
            ['peerings', i, 'vpcs'],
            `${p.vpcs[0]} and ${p.vpcs[1]} overlap (${formatPrefix(x)}, ${formatPrefix(y)}): they cannot peer`,
          );
  });

  // Transit gateways: attachments exist, routes go to attachments.
  cfg.transitGateways.forEach((t, i) => {
    const attached = new Set<string>();
    t.attachments.forEach((v, j) => {
      ref(vpcs, v, ['transitGateways', i, 'attachments', j], 'VPC');
      if (attached.has(v)) add(['transitGateways', i, 'attachments', j], `${v} is attached twice`);
      attached.add(v);
    });
    const seen = new Set<string>();
    t.routes.forEach((r, j) => {
      const d = checkNetworkForm(r.destination, ['transitGateways', i, 'routes', j, 'destination'], add);
      const key = formatPrefix(d);
      if (seen.has(key)) add(['transitGateways', i, 'routes', j, 'destination'], `${key} is routed twice`);
      seen.add(key);
      if (r.target.startsWith('vpc:') && !attached.has(r.target.slice(4)))
        add(['transitGateways', i, 'routes', j, 'target'], `${r.target.slice(4)} is not attached to ${t.id}`);
    });
  });

  // Route tables: every target resolves. A table may hold 100 000 routes:
  // the loop allocates nothing per route unless it reports, and checks what
  // depends on the target alone once per distinct target.
  const checkRoute = vpcRouteChecker(cfg, { vpcs, subnets, enis, peerings, tgws, nats }, vpcCidrs);
  cfg.routeTables.forEach((t, i) => {
    const vpc = ref(vpcs, t.vpc, ['routeTables', i, 'vpc'], 'VPC');
    const seen = new Set<number>();
    t.routes.forEach((r, j) => {
      const key = checkRoute(i, vpc, r, ['routeTables', i, 'routes', j], add);
      if (seen.has(key))
        add(['routeTables', i, 'routes', j, 'destination'], `${r.destination} is already in ${t.id}`);
      seen.add(key);
    });
  });

  // Network ACLs: unique rule numbers, ports only where there are ports.
  cfg.networkAcls.forEach((a, i) => {
    ref(vpcs, a.vpc, ['networkAcls', i, 'vpc'], 'VPC');
    for (const dir of ['inbound', 'outbound'] as const) {
      const numbers = new Map<number, number>();
      a[dir].forEach((r, j) => {
        const path = ['networkAcls', i, dir, j];
        const other = numbers.get(r.rule);
        if (other !== undefined) add([...path, 'rule'], `rule ${r.rule} is already ${dir}[${other}]`);
        else numbers.set(r.rule, j);
        checkNetworkForm(r.cidr, [...path, 'cidr'], add);
        if (r.ports !== undefined) {
          if (r.protocol !== 'tcp' && r.protocol !== 'udp')
            add([...path, 'ports'], 'ports apply to tcp and udp rules only');
          else if (!parsePorts(r.ports)) add([...path, 'ports'], `${r.ports} is not a port range`);
        }
      });
    }
  });
  // The internet side: an uplink port, public addresses used once and not
  // the gateway's own, NAT port ranges, EIPs on an address of their ENI.
  if ((cfg.natGateways.length || cfg.eips.length) && !cfg.internet)
    add(['internet'], 'NAT gateways and elastic IPs need an internet section naming the uplink port');
  if (cfg.internet) {
    if (!cfg.ports.some((p) => p.name === cfg.internet!.port))
      add(['internet', 'port'], `no port is named ${cfg.internet.port}`);
    else if (cfg.overlay && cfg.internet.port === cfg.overlay.port)
      add(['internet', 'port'], 'the uplink must be another port than the overlay port');
  }
  const own = new Set(cfg.ports.flatMap((p) => p.addresses.map((a) => parsePrefix(a)!.ip)));
  const publicOwner = new Map<number, string>();
  const claimPublic = (text: string, path: ReadonlyArray<PropertyKey>, owner: string): void => {
    const ip = parseIp4(text)!;
    const first = ip >>> 24;
    const other = publicOwner.get(ip);
    if (first === 0 || first === 127 || first >= 224) add(path, `${text} cannot be a public address`);
    else if (own.has(ip)) add(path, `${text} is an address of a port of the gateway`);
    else if (other !== undefined) add(path, `${text} is already used by ${other}`);
    else publicOwner.set(ip, owner);
  };
  cfg.natGateways.forEach((n, i) => {
    ref(vpcs, n.vpc, ['natGateways', i, 'vpc'], 'VPC');
    n.publicIps.forEach((ip, j) => {
      claimPublic(ip, ['natGateways', i, 'publicIps', j], n.id);
    });
    const range = parsePorts(n.ports);
    if (!range || range[0] < 1)
      add(['natGateways', i, 'ports'], `${n.ports} is not a port range within 1-65535`);
  });
  const eipOf = new Map<string, string>();
  cfg.eips.forEach((e, i) => {
    claimPublic(e.publicIp, ['eips', i, 'publicIp'], e.id);
    const k = ref(enis, e.eni, ['eips', i, 'eni'], 'ENI');
    if (k === undefined) return;
    const eni = cfg.enis[k]!;
    const priv = e.privateIp ?? eni.ip;
    if (priv !== eni.ip && !eni.secondaryIps.includes(priv))
      add(['eips', i, 'privateIp'], `${priv} is not an address of ${e.eni}`);
    const key = `${e.eni}/${priv}`;
    const other = eipOf.get(key);
    if (other !== undefined) add(['eips', i, 'privateIp'], `${priv} of ${e.eni} already has ${other}`);
    else eipOf.set(key, e.id);
  });

  // Security groups: each rule names a CIDR or a group of the same VPC;
  // ports only where there are ports.
  const groups = new Map(cfg.securityGroups.map((g, i) => [g.id, i]));
  cfg.securityGroups.forEach((g, i) => {
    ref(vpcs, g.vpc, ['securityGroups', i, 'vpc'], 'VPC');
    for (const dir of ['inbound', 'outbound'] as const) {
      g[dir].forEach((r, j) => {
        const path = ['securityGroups', i, dir, j];
        if ((r.cidr === undefined) === (r.group === undefined)) {
          add(path, 'a rule names either a cidr or a group');
        } else if (r.cidr !== undefined) {
          checkNetworkForm(r.cidr, [...path, 'cidr'], add);
        } else {
          const other = ref(groups, r.group!, [...path, 'group'], 'security group');
          if (other !== undefined && cfg.securityGroups[other]!.vpc !== g.vpc)
            add([...path, 'group'], `${r.group} belongs to ${cfg.securityGroups[other]!.vpc}, not ${g.vpc}`);
        }
        if (r.ports !== undefined) {
          if (r.protocol !== 'tcp' && r.protocol !== 'udp')
            add([...path, 'ports'], 'ports apply to tcp and udp rules only');
          else if (!parsePorts(r.ports)) add([...path, 'ports'], `${r.ports} is not a port range`);
        }
      });
    }
  });
}

/** Indexes by id of what route targets name. */
export interface RouteRefs {
  vpcs: Map<string, number>;
  subnets: Map<string, number>;
  enis: Map<string, number>;
  peerings: Map<string, number>;
  tgws: Map<string, number>;
  nats: Map<string, number>;
}

/**
 * The indexes of a valid configuration, for checking routes on their own.
 * Kept while the lists are the same arrays (a route change shares them with
 * the configuration before it): 10 000 ENIs are not indexed at every change.
 */
export function routeRefs(cfg: Config): RouteRefs {
  const lists = [
    cfg.vpcs,
    cfg.subnets,
    cfg.enis,
    cfg.peerings,
    cfg.transitGateways,
    cfg.natGateways,
  ] as const;
  const known = refsCache.get(cfg.enis);
  if (known?.lists.every((l, i) => l === lists[i])) return known.refs;
  const ids = (items: readonly { id: string }[]) => new Map(items.map((x, i) => [x.id, i]));
  const refs = {
    vpcs: ids(cfg.vpcs),
    subnets: ids(cfg.subnets),
    enis: ids(cfg.enis),
    peerings: ids(cfg.peerings),
    tgws: ids(cfg.transitGateways),
    nats: ids(cfg.natGateways),
  };
  refsCache.set(cfg.enis, { lists, refs });
  return refs;
}
const refsCache = new WeakMap<object, { lists: readonly (readonly unknown[])[]; refs: RouteRefs }>();

/** Each VPC's CIDRs, of a valid configuration. */
export function vpcCidrsOf(cfg: Config): Prefix[][] {
  return cfg.vpcs.map((v) => v.cidrs.map((c) => networkForm(c)));
}

/**
 * The check of one route of a VPC route table (the whole-document
 * validation runs it on every route; a single route change on its own):
 * the destination in network form and not a CIDR of the table's VPC, the
 * target existing and meaning something for that VPC. Returns the
 * destination's key (network * 64 + length), for finding duplicates. What
 * depends on the target alone is checked once per distinct target and table.
 */
export function vpcRouteChecker(cfg: Config, refs: RouteRefs, vpcCidrs: Prefix[][]) {
  // What a route target of a table of `vpc` means, as far as it does not
  // depend on the destination: a problem, or the peer VPC of a peering.
  interface TargetCheck {
    problem?: string;
    peer?: number;
  }
  const checkTarget = (target: string, vpc: string): TargetCheck => {
    const colon = target.indexOf(':');
    const kind = colon < 0 ? target : target.slice(0, colon);
    const name = target.slice(colon + 1);
    const named = (map: Map<string, number>, what: string) => {
      const k = map.get(name);
      return k === undefined ? { problem: `no ${what} is named ${name}` } : k;
    };
    if (kind === 'peering') {
      const p = named(refs.peerings, 'peering');
      if (typeof p !== 'number') return p;
      const pair = cfg.peerings[p]!.vpcs;
      if (!pair.includes(vpc)) return { problem: `${name} does not connect ${vpc}` };
      return { peer: refs.vpcs.get(pair[0] === vpc ? pair[1] : pair[0]) };
    }
    if (kind === 'transit') {
      const g = named(refs.tgws, 'transit gateway');
      if (typeof g !== 'number') return g;
      return cfg.transitGateways[g]!.attachments.includes(vpc)
        ? {}
        : { problem: `${vpc} is not attached to ${name}` };
    }
    if (kind === 'eni') {
      const e = named(refs.enis, 'ENI');
      if (typeof e !== 'number') return e;
      const s = refs.subnets.get(cfg.enis[e]!.subnet);
      return s !== undefined && cfg.subnets[s]!.vpc !== vpc ? { problem: `${name} is not in ${vpc}` } : {};
    }
    if (kind === 'nat') {
      const n = named(refs.nats, 'NAT gateway');
      if (typeof n !== 'number') return n;
      return cfg.natGateways[n]!.vpc === vpc ? {} : { problem: `${name} is not in ${vpc}` };
    }
    if (kind === 'igw' && !cfg.internet)
      return { problem: 'igw needs an internet section naming the uplink port' };
    return {};
  };
  const checks: Map<string, TargetCheck>[] = []; // per table, by target
  return (
    table: number,
    vpc: number | undefined,
    r: { destination: string; target: string },
    path: ReadonlyArray<PropertyKey>,
    add: Add,
  ): number => {
    const t = cfg.routeTables[table]!;
    const at = (field: string) => [...path, field];
    const d = networkForm(r.destination);
    if (d.ip !== d.given) addHostBits(r.destination, d, at('destination'), add);
    if (vpc !== undefined) {
      for (const c of vpcCidrs[vpc]!)
        if (c.ip === d.ip && c.len === d.len)
          add(at('destination'), `${formatPrefix(d)} is a CIDR of ${t.vpc}, routed locally without a route`);
    }
    const known = checks[table] ?? new Map<string, TargetCheck>();
    checks[table] = known;
    let check = known.get(r.target);
    if (check === undefined) {
      check = checkTarget(r.target, t.vpc);
      known.set(r.target, check);
    }
    if (check.problem !== undefined) {
      add(at('target'), check.problem);
    } else if (
      check.peer !== undefined &&
      !vpcCidrs[check.peer]!.some((c) => c.len <= d.len && contains(c, d.ip))
    ) {
      add(
        at('destination'),
        `${formatPrefix(d)} is not inside the CIDRs of the peer ${cfg.vpcs[check.peer]!.id}`,
      );
    }
    return d.ip * 64 + d.len;
  };
}
