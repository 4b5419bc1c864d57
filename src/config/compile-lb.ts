// Compiling the load balancers (validated) into the snapshot's LB tables:
// services with their backends, each backend with a stable slot number
// (its counters and active connections in the data plane) and its health.
// VIPs and fullnat local addresses become /32 routes of kind `lb`, so the
// one route lookup that classifies every packet finds them too.
import type { LbSpec } from '../dataplane/native.js';
import { contains, IP_PROTOCOLS, parseIp4, parsePrefix } from './ip.js';
import type { Config, LoadBalancerConfig } from './schema.js';

export const LB_BACKEND_SLOTS = 16384;

/** How the health checker and the metrics name a backend: `service/ip:port`. */
export function backendKey(lb: LoadBalancerConfig, b: { ip: string; port?: number | undefined }): string {
  return `${lb.id}/${b.ip}:${backendPort(lb, b)}`;
}

/** The port a backend's connections go to: its own, else the service's (0 for an all-ports service). */
export function backendPort(lb: LoadBalancerConfig, b: { port?: number | undefined }): number {
  return lb.mode === 'nat' || lb.mode === 'fullnat' ? (b.port ?? lb.port) : lb.port;
}

/** The smallest table size Maglev wants for `backends`: 65537, or the first prime >= 100 per backend. */
export function maglevTableSize(backends: number): number {
  let n = Math.max(65537, backends * 100);
  while (!isPrime(n)) n++;
  return n;
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/**
 * Stable slot numbers for backends across configuration changes: a backend
 * keeps its slot while it exists; new ones take slots never used before,
 * and only when those run out the ones freed longest ago (a freed slot may
 * still be counting connections that outlived their backend).
 */
export class BackendSlots {
  readonly #slots = new Map<string, number>();
  readonly #freed: number[] = [];
  #next = 0;

  /** Slots for exactly `keys` (others are freed); throws when more than the data plane counts. */
  assign(keys: readonly string[]): Map<string, number> {
    const wanted = new Set(keys);
    for (const [k, slot] of this.#slots) {
      if (!wanted.has(k)) {
        this.#slots.delete(k);
        this.#freed.push(slot);
      }
    }
    for (const k of wanted) {
      if (this.#slots.has(k)) continue;
      const slot = this.#next < LB_BACKEND_SLOTS ? this.#next++ : this.#freed.shift();
      if (slot === undefined) throw new Error(`more than ${LB_BACKEND_SLOTS} load-balancer backends`);
      this.#slots.set(k, slot);
    }
    return new Map(this.#slots);
  }

  /** A copy, for compiling a configuration that may not be applied. */
  clone(): BackendSlots {
    const c = new BackendSlots();
    for (const [k, v] of this.#slots) c.#slots.set(k, v);
    c.#freed.push(...this.#freed);
    c.#next = this.#next;
    return c;
  }

  /** The slots of the backends now. */
  assigned(): ReadonlyMap<string, number> {
    return this.#slots;
  }

  /** One past the highest slot in use (what to read counters for). */
  get extent(): number {
    let max = -1;
    for (const s of this.#slots.values()) max = Math.max(max, s);
    return max + 1;
  }
}

/**
 * The LB part of a snapshot. `up(key)` is a backend's health (backends of
 * services without a health check are always up).
 */
export function compileLb(cfg: Config, slots: BackendSlots, up: (key: string) => boolean): LbSpec {
  const keys = cfg.loadBalancers.flatMap((lb) => lb.backends.map((b) => backendKey(lb, b)));
  const slotOf = slots.assign(keys);
  return {
    services: cfg.loadBalancers.map((lb) => ({
      vni: lb.vpc === undefined ? 0 : cfg.vpcs.find((v) => v.id === lb.vpc)!.vni,
      vip: parseIp4(lb.vip)!,
      port: lb.port,
      proto: IP_PROTOCOLS[lb.protocol],
      mode: lb.mode,
      scheduler: lb.scheduler,
      tableSize: lb.tableSize ?? maglevTableSize(lb.backends.length),
      useAllWhenDown: lb.allBackendsDown === 'all',
      affinityMs: (lb.affinityTimeoutS ?? 0) * 1000,
      localIps: lb.localIps.map((ip) => parseIp4(ip)!),
      backends: lb.backends.map((b) => {
        const key = backendKey(lb, b);
        return {
          ip: parseIp4(b.ip)!,
          port: lb.mode === 'nat' || lb.mode === 'fullnat' ? (b.port ?? lb.port) : 0,
          weight: b.weight,
          up: lb.healthCheck === undefined || up(key),
          slot: slotOf.get(key)!,
        };
      }),
    })),
  };
}

/**
 * Static neighbors for the dr backends that give their MAC, on the port
 * whose subnet holds each (validation made sure there is one, and that the
 * neighbors do not say otherwise); none twice, none the neighbors have.
 */
export function lbNeighbors(
  cfg: Config,
  portIndex: ReadonlyMap<string, number>,
): { port: number; ip: number; mac: string }[] {
  const known = new Set(cfg.neighbors.map((n) => parseIp4(n.address)!));
  const out: { port: number; ip: number; mac: string }[] = [];
  for (const lb of cfg.loadBalancers) {
    if (lb.vpc !== undefined || lb.mode !== 'dr') continue;
    for (const b of lb.backends) {
      const ip = parseIp4(b.ip)!;
      if (b.mac === undefined || known.has(ip)) continue;
      const port = cfg.ports.find((p) => p.addresses.some((a) => contains(parsePrefix(a)!, ip)));
      if (!port) continue;
      known.add(ip);
      out.push({ port: portIndex.get(port.name)!, ip, mac: b.mac.toLowerCase() });
    }
  }
  return out;
}

/** The addresses the load balancer answers for on the gateway's ports: VIPs and fullnat local addresses. */
export function lbAddresses(cfg: Config): number[] {
  const out = new Set<number>();
  for (const lb of cfg.loadBalancers) {
    if (lb.vpc !== undefined) continue; // inside the VPC: the overlay's
    out.add(parseIp4(lb.vip)!);
    for (const ip of lb.localIps) out.add(parseIp4(ip)!);
  }
  return [...out];
}
