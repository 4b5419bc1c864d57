// One VPC route added, replaced or removed without rebuilding everything.
//
// A route table may hold 100 000 routes. Applying a change to one of them
// the way a whole document is applied (validate all of it, compile all of
// it, build every table) takes a third of a second; a controller that
// moves routes one by one needs milliseconds. So a single route change is
// checked on its own, with the same check the whole-document validation
// runs on every route (vpcRouteChecker), compiled on its own (the same
// vpcRouteTarget), and handed to the data plane as a change: it copies the
// running snapshot and builds again only the table the route is in.
//
// What this file does is the planning: the configuration with the change
// made (sharing everything else with the running one), and what the data
// plane must be told. The service applies it in its queue.

import { RouteTargets, vpcRouteTarget } from '../config/compile-vpc.js';
import { formatPrefix, networkOf, parsePrefix } from '../config/ip.js';
import { type Config, VpcRouteSchema } from '../config/schema.js';
import { jsonPath } from '../config/validate.js';
import { routeRefs, vpcCidrsOf, vpcRouteChecker } from '../config/validate-vpc.js';
import type { ErrorDetail } from '../core/errors.js';
import { NfvgwError } from '../core/errors.js';
import { REMOVE_ROUTE, type RouteChanges } from '../dataplane/native.js';

type RouteTable = Config['routeTables'][number];
type VpcRoute = RouteTable['routes'][number];

/** A route of a VPC route table set (target) or removed (target null), as the state journal keeps it. */
export interface VpcRouteChange {
  routeTable: string;
  destination: string;
  target: string | null;
}

/**
 * Each route table's routes by destination (network * 64 + length), built
 * when a table is first changed and carried from a table to its changed
 * copy: finding the route a change replaces costs no scan of the table.
 */
export class RouteIndex {
  readonly #byTable = new WeakMap<RouteTable, Map<number, VpcRoute>>();

  of(table: RouteTable): Map<number, VpcRoute> {
    let m = this.#byTable.get(table);
    if (!m) {
      m = new Map();
      for (const r of table.routes) m.set(destinationKey(parsePrefix(r.destination)!), r);
      this.#byTable.set(table, m);
    }
    return m;
  }

  /** `next` is `table` with one route set or removed; `index` was of(table). */
  carry(next: RouteTable, index: Map<number, VpcRoute>): void {
    this.#byTable.set(next, index);
  }
}

function destinationKey(p: { ip: number; len: number }): number {
  return networkOf(p.ip, p.len) * 64 + p.len;
}

export interface RoutePlan {
  /** The running configuration with the change made. */
  next: Config;
  /** What the data plane is told; `targets` are appended to the running ones. */
  changes: RouteChanges;
  /** The change in canonical form, for the journal. */
  change: VpcRouteChange;
  /** Once the data plane has it: the route index follows the change. */
  commit(): void;
}

/**
 * Checks a route change against the running configuration `cfg` and
 * plans it; null when it changes nothing (the route is there with that
 * target already). Throws
 * NFVGW_ERR_NOT_FOUND for a table that does not exist or a route to remove
 * that is not in it, NFVGW_ERR_CONFIG_INVALID with JSON paths for
 * anything the whole-document validation would refuse. `targets` are the
 * running snapshot's; it is not changed (the plan's targets are new ones).
 */
export function planRouteChange(
  cfg: Config,
  change: VpcRouteChange,
  routeIndex: RouteIndex,
  targets: RouteTargets,
): RoutePlan | null {
  const t = cfg.routeTables.findIndex((x) => x.id === change.routeTable);
  if (t < 0) throw new NfvgwError('NFVGW_ERR_NOT_FOUND', `no route table has the id ${change.routeTable}`);
  const table = cfg.routeTables[t]!;
  const invalid = (details: ErrorDetail[]) =>
    new NfvgwError('NFVGW_ERR_CONFIG_INVALID', 'the route is invalid', details);

  const parsed = VpcRouteSchema.safeParse({
    destination: change.destination,
    target: change.target ?? 'blackhole',
  });
  const index = routeIndex.of(table);
  const refs = routeRefs(cfg);
  const p = parsePrefix(change.destination);
  const key = p ? destinationKey(p) : -1;
  const existing = index.get(key);
  const j = existing ? table.routes.indexOf(existing) : table.routes.length;
  const at = ['routeTables', t, 'routes', j];
  if (!parsed.success)
    throw invalid(
      parsed.error.issues.map((i) => ({ path: jsonPath([...at, ...i.path]), message: i.message })),
    );

  if (change.target === null) {
    if (p!.ip !== networkOf(p!.ip, p!.len))
      throw invalid([
        {
          path: jsonPath([...at, 'destination']),
          message: `${change.destination} has host bits set (did you mean ${formatPrefix({ ip: networkOf(p!.ip, p!.len), len: p!.len })}?)`,
        },
      ]);
    if (!existing)
      throw new NfvgwError('NFVGW_ERR_NOT_FOUND', `${table.id} has no route to ${change.destination}`);
  } else {
    const details: ErrorDetail[] = [];
    const check = vpcRouteChecker(cfg, refs, vpcCidrsOf(cfg));
    const vpc = cfg.vpcs.findIndex((v) => v.id === table.vpc);
    check(t, vpc, parsed.data, at, (path, message) => details.push({ path: jsonPath(path), message }));
    if (details.length) throw invalid(details);
    if (existing?.target === change.target) return null;
  }

  // The configuration with the change made: new arrays along the path to
  // the route, everything else shared (and frozen, as validated ones are).
  // A route replaced or removed keeps the destination as the table writes
  // it, so that the journal names it the same way.
  const destination = existing?.destination ?? change.destination;
  const route: VpcRoute | undefined =
    change.target === null ? undefined : Object.freeze({ destination, target: change.target });
  // (concat() first: copying a frozen array of 100 000 routes any other
  // way, slice or filter, is several times slower in V8)
  const routes = table.routes.concat();
  if (!route) routes.splice(j, 1);
  else if (existing) routes[j] = route;
  else routes.push(route);
  const nextTable: RouteTable = Object.freeze({ ...table, routes: Object.freeze(routes) as VpcRoute[] });
  const tables = Object.freeze(cfg.routeTables.map((x, k) => (k === t ? nextTable : x)));
  const next: Config = Object.freeze({ ...cfg, routeTables: tables as Config['routeTables'] });

  // The data plane's part: the target by index, new ones appended.
  const known = targets.list.length;
  let target = REMOVE_ROUTE;
  let added: RouteChanges['targets'] = [];
  if (route) {
    const scratch = new RouteTargets(targets.list);
    const maps = {
      vpcs: refs.vpcs,
      enis: refs.enis,
      peerings: refs.peerings,
      transitGateways: refs.tgws,
      natGateways: refs.nats,
    };
    const indexOf = (what: keyof typeof maps, id: string) => maps[what].get(id)!;
    target = scratch.of(vpcRouteTarget(cfg, table.vpc, route.target, indexOf));
    added = scratch.list.slice(known);
  }
  return {
    next,
    changes: {
      routes: {
        table: Uint32Array.of(t),
        prefix: Uint32Array.of(networkOf(p!.ip, p!.len)),
        length: Uint8Array.of(p!.len),
        target: Uint32Array.of(target),
      },
      targets: added,
    },
    change: { routeTable: table.id, destination, target: change.target },
    commit() {
      if (route) index.set(key, route);
      else index.delete(key);
      routeIndex.carry(nextTable, index);
    },
  };
}
