// Compiling the VPC model (validated) into the overlay tables of a
// snapshot: everything by index. Each route table gets its VPC's CIDRs as
// implicit local routes; all tables travel as one set of typed arrays.
import type { AclRuleSpec, OverlaySpec, RouteArrays, SgRuleSpec } from '../dataplane/native.js';
import { IP_PROTOCOLS, networkOf, parseIp4, parsePrefix } from './ip.js';
import type { AclRuleConfig, Config, SgRuleConfig } from './schema.js';
import { parsePorts, subnetGateway } from './validate-vpc.js';

const PROTOCOLS: Record<string, number> = { all: -1, ...IP_PROTOCOLS };

class RouteBuilder {
  table: number[] = [];
  prefix: number[] = [];
  length: number[] = [];
  target: number[] = [];

  add(table: number, destination: string, target: number) {
    const p = parsePrefix(destination)!;
    this.table.push(table);
    this.prefix.push(networkOf(p.ip, p.len));
    this.length.push(p.len);
    this.target.push(target);
  }

  arrays(): RouteArrays {
    return {
      table: Uint32Array.from(this.table),
      prefix: Uint32Array.from(this.prefix),
      length: Uint8Array.from(this.length),
      target: Uint32Array.from(this.target),
    };
  }
}

function aclRules(rules: readonly AclRuleConfig[]): AclRuleSpec[] {
  return [...rules]
    .sort((a, b) => a.rule - b.rule)
    .map((r) => {
      const p = parsePrefix(r.cidr)!;
      const [portLo, portHi] = parsePorts(r.ports)!;
      return {
        allow: r.action === 'allow',
        proto: typeof r.protocol === 'number' ? r.protocol : PROTOCOLS[r.protocol]!,
        portLo,
        portHi,
        prefix: networkOf(p.ip, p.len),
        length: p.len,
      };
    });
}

/**
 * The security-group sets: one per distinct combination of groups on ENIs
 * (most ENIs share a few), each the union of its groups' rules, with group
 * references expanded into the addresses of the member ENIs.
 */
function compileSgSets(cfg: Config): { sets: OverlaySpec['sgSets']; ofEni: number[] } {
  const groups = new Map(cfg.securityGroups.map((g) => [g.id, g]));
  const members = new Map<string, number[]>();
  for (const e of cfg.enis) {
    const ips = [e.ip, ...e.secondaryIps].map((a) => parseIp4(a)!);
    for (const g of new Set(e.securityGroups)) {
      const list = members.get(g) ?? [];
      list.push(...ips);
      members.set(g, list);
    }
  }
  const rules = (list: readonly SgRuleConfig[]): SgRuleSpec[] =>
    list.flatMap((r) => {
      const proto = typeof r.protocol === 'number' ? r.protocol : PROTOCOLS[r.protocol]!;
      const [portLo, portHi] = parsePorts(r.ports)!;
      if (r.cidr !== undefined) {
        const p = parsePrefix(r.cidr)!;
        return [{ proto, portLo, portHi, prefix: networkOf(p.ip, p.len), length: p.len }];
      }
      return (members.get(r.group!) ?? []).map((ip) => ({ proto, portLo, portHi, prefix: ip, length: 32 }));
    });
  const sets: OverlaySpec['sgSets'] = [];
  const index = new Map<string, number>();
  const ofEni = cfg.enis.map((e) => {
    const ids = [...new Set(e.securityGroups)].sort();
    const key = ids.join(',');
    let i = index.get(key);
    if (i === undefined) {
      i = sets.length;
      index.set(key, i);
      const gs = ids.map((id) => groups.get(id)!);
      sets.push({
        inbound: gs.flatMap((g) => rules(g.inbound)),
        outbound: gs.flatMap((g) => rules(g.outbound)),
      });
    }
    return i;
  });
  return { sets, ofEni };
}

type OverlayTarget = OverlaySpec['targets'][number];

/** The snapshot's route targets: each distinct one once, by index (0: no route). */
export class RouteTargets {
  readonly list: OverlayTarget[];
  readonly #index = new Map<string, number>();

  /** Starts from the targets of a compiled snapshot, or from "no route" alone. */
  constructor(list: readonly OverlayTarget[] = [{ kind: 'none' }]) {
    this.list = [...list];
    this.list.forEach((t, i) => {
      this.#index.set(RouteTargets.#key(t), i);
    });
  }

  /** The index of `t`, appended when it is new. */
  of(t: OverlayTarget): number {
    const key = RouteTargets.#key(t);
    let i = this.#index.get(key);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(t);
      this.#index.set(key, i);
    }
    return i;
  }

  static #key(t: OverlayTarget): string {
    return `${t.kind}/${t.vpc ?? ''}/${t.tgw ?? ''}/${t.eni ?? ''}/${t.nat ?? ''}`;
  }
}

/** The index of the item with `id` in one of the configuration's lists. */
export type IndexOf = (
  what: 'vpcs' | 'enis' | 'peerings' | 'transitGateways' | 'natGateways',
  id: string,
) => number;

/** What the target of a route in a table of `vpc` (validated) names, by index. */
export function vpcRouteTarget(cfg: Config, vpc: string, target: string, indexOf: IndexOf): OverlayTarget {
  const colon = target.indexOf(':');
  const kind = colon < 0 ? target : target.slice(0, colon);
  const id = target.slice(colon + 1);
  switch (kind) {
    case 'blackhole':
      return { kind: 'blackhole' };
    case 'igw':
      return { kind: 'igw' };
    case 'peering': {
      const pair = cfg.peerings[indexOf('peerings', id)]!.vpcs;
      return { kind: 'peering', vpc: indexOf('vpcs', pair[0] === vpc ? pair[1] : pair[0]) };
    }
    case 'transit':
      return { kind: 'transit', tgw: indexOf('transitGateways', id) };
    case 'nat':
      return { kind: 'nat', nat: indexOf('natGateways', id) };
    default:
      return { kind: 'eni', eni: indexOf('enis', id) };
  }
}

/** The overlay part of a snapshot, or undefined when there is no overlay. */
export function compileOverlay(cfg: Config, portIndex: Map<string, number>): OverlaySpec | undefined {
  if (!cfg.overlay) return undefined;
  const port = portIndex.get(cfg.overlay.port)!;
  const vpcIndex = new Map(cfg.vpcs.map((v, i) => [v.id, i]));
  const subnetIndex = new Map(cfg.subnets.map((s, i) => [s.id, i]));
  const tableIndex = new Map(cfg.routeTables.map((t, i) => [t.id, i]));
  const aclIndex = new Map(cfg.networkAcls.map((a, i) => [a.id, i]));
  const eniIndex = new Map(cfg.enis.map((e, i) => [e.id, i]));
  const tgwIndex = new Map(cfg.transitGateways.map((t, i) => [t.id, i]));
  const peeringIndex = new Map(cfg.peerings.map((p, i) => [p.id, i]));
  const natIndex = new Map(cfg.natGateways.map((n, i) => [n.id, i]));
  const indexes = {
    vpcs: vpcIndex,
    enis: eniIndex,
    peerings: peeringIndex,
    transitGateways: tgwIndex,
    natGateways: natIndex,
  };
  const find: IndexOf = (what, id) => indexes[what].get(id)!;

  const targets = new RouteTargets();
  const target = (t: OverlayTarget) => targets.of(t);

  const sg = compileSgSets(cfg);
  const routes = new RouteBuilder();
  cfg.routeTables.forEach((t, ti) => {
    const vpc = vpcIndex.get(t.vpc)!;
    for (const cidr of cfg.vpcs[vpc]!.cidrs) routes.add(ti, cidr, target({ kind: 'local', vpc }));
    const byName = new Map<string, number>(); // a table's routes share a few targets
    for (const r of t.routes) {
      let to = byName.get(r.target);
      if (to === undefined) {
        to = target(vpcRouteTarget(cfg, t.vpc, r.target, find));
        byName.set(r.target, to);
      }
      routes.add(ti, r.destination, to);
    }
  });

  const transit = new RouteBuilder();
  cfg.transitGateways.forEach((t, ti) => {
    for (const r of t.routes) {
      const to =
        r.target === 'blackhole'
          ? target({ kind: 'blackhole' })
          : target({ kind: 'attachment', vpc: vpcIndex.get(r.target.slice(4))! });
      transit.add(ti, r.destination, to);
    }
  });

  return {
    port,
    vtepIp: parsePrefix(cfg.ports[port]!.addresses[0]!)!.ip,
    udpPort: cfg.overlay.udpPort,
    routerMac: cfg.overlay.routerMac.toLowerCase(),
    vnis: cfg.vpcs.map((v) => v.vni),
    subnets: cfg.subnets.map((s) => {
      const p = parsePrefix(s.cidr)!;
      return {
        vpc: vpcIndex.get(s.vpc)!,
        prefix: networkOf(p.ip, p.len),
        length: p.len,
        gateway: subnetGateway(p),
        routeTable: tableIndex.get(s.routeTable)!,
        acl: s.networkAcl === undefined ? -1 : aclIndex.get(s.networkAcl)!,
      };
    }),
    enis: cfg.enis.map((e, i) => {
      const subnet = subnetIndex.get(e.subnet)!;
      return {
        vpc: vpcIndex.get(cfg.subnets[subnet]!.vpc)!,
        subnet,
        mac: e.mac.toLowerCase(),
        vtep: e.vtep === undefined ? 0 : parseIp4(e.vtep)!,
        ips: [e.ip, ...e.secondaryIps].map((a) => parseIp4(a)!),
        sgSet: sg.ofEni[i]!,
      };
    }),
    targets: targets.list,
    routeTables: cfg.routeTables.length,
    routes: routes.arrays(),
    transitGateways: cfg.transitGateways.length,
    transitRoutes: transit.arrays(),
    acls: cfg.networkAcls.map((a) => ({ inbound: aclRules(a.inbound), outbound: aclRules(a.outbound) })),
    sgSets: sg.sets,
    uplink: cfg.internet ? portIndex.get(cfg.internet.port)! : -1,
    natGateways: cfg.natGateways.map((n) => {
      const [portLo, portHi] = parsePorts(n.ports)!;
      return { vpc: vpcIndex.get(n.vpc)!, ips: n.publicIps.map((a) => parseIp4(a)!), portLo, portHi };
    }),
    portForwards: cfg.natGateways.flatMap((n) =>
      n.portForwards.map((f) => {
        const eni = eniIndex.get(f.eni)!;
        return {
          publicIp: parseIp4(f.publicIp ?? n.publicIps[0]!)!,
          proto: PROTOCOLS[f.protocol]!,
          publicPort: f.publicPort,
          eni,
          privateIp: parseIp4(f.privateIp ?? cfg.enis[eni]!.ip)!,
          privatePort: f.privatePort ?? f.publicPort,
        };
      }),
    ),
    eips: cfg.eips.map((e) => {
      const eni = eniIndex.get(e.eni)!;
      return { publicIp: parseIp4(e.publicIp)!, eni, privateIp: parseIp4(e.privateIp ?? cfg.enis[eni]!.ip)! };
    }),
  };
}
