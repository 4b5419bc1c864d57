// Compiling the VPC model (validated) into the overlay tables of a
// snapshot: everything by index. Each route table gets its VPC's CIDRs as
// implicit local routes; all tables travel as one set of typed arrays.
import type { AclRuleSpec, OverlaySpec, RouteArrays, SgRuleSpec } from '../dataplane/native.js';
import { networkOf, parseIp4, parsePrefix } from './ip.js';
import type { AclRuleConfig, Config, SgRuleConfig } from './schema.js';
import { parsePorts, subnetGateway } from './validate-vpc.js';

const PROTOCOLS: Record<string, number> = { all: -1, icmp: 1, tcp: 6, udp: 17 };

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
  const peerings = new Map(cfg.peerings.map((p) => [p.id, p]));
  const natIndex = new Map(cfg.natGateways.map((n, i) => [n.id, i]));

  const targets: OverlaySpec['targets'] = [{ kind: 'none' }];
  const targetIndex = new Map<string, number>();
  const target = (t: OverlaySpec['targets'][number]): number => {
    const key = `${t.kind}/${t.vpc ?? ''}/${t.tgw ?? ''}/${t.eni ?? ''}/${t.nat ?? ''}`;
    let i = targetIndex.get(key);
    if (i === undefined) {
      i = targets.length;
      targets.push(t);
      targetIndex.set(key, i);
    }
    return i;
  };

  const sg = compileSgSets(cfg);
  const routes = new RouteBuilder();
  cfg.routeTables.forEach((t, ti) => {
    const vpc = vpcIndex.get(t.vpc)!;
    for (const cidr of cfg.vpcs[vpc]!.cidrs) routes.add(ti, cidr, target({ kind: 'local', vpc }));
    for (const r of t.routes) {
      const [kind, id] = r.target.split(':') as [string, string | undefined];
      let to: number;
      if (kind === 'blackhole') to = target({ kind: 'blackhole' });
      else if (kind === 'peering') {
        const pair = peerings.get(id!)!.vpcs;
        to = target({ kind: 'peering', vpc: vpcIndex.get(pair[0] === t.vpc ? pair[1] : pair[0])! });
      } else if (kind === 'transit') to = target({ kind: 'transit', tgw: tgwIndex.get(id!)! });
      else if (kind === 'nat') to = target({ kind: 'nat', nat: natIndex.get(id!)! });
      else if (kind === 'igw') to = target({ kind: 'igw' });
      else to = target({ kind: 'eni', eni: eniIndex.get(id!)! });
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
    targets,
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
