// A large configuration for the control-plane benchmarks (config-apply-large,
// api-route-update): the VPC benchmark's overlay (bench/vxlan.ts) grown to
// 100 000 VPC routes and 10 000 ENIs, with 1000 load-balancer backends over
// 20 services on a second in-memory port. Everything is made from the
// sizes, so the same function gives the small configuration a gateway
// starts with (same ports and workers: those cannot change while it runs)
// and the large one it takes.
//
// The first 1100 ENIs and the route table's first routes are exactly
// vxlanBenchConfig's, so vxlanFlows' frames are forwarded by the small and
// the large configuration alike (the apply benchmark replays them across
// the swap).
import type { ConfigInput } from '../src/config/schema.js';
import { vxlanBenchConfig } from './vxlan.js';

export interface LargeConfigSizes {
  /** Routes in vpc-a's route table (vxlanBenchConfig's; at most 131 072). */
  routes: number;
  /** ENIs in all: at least vxlanBenchConfig's 1100; the rest alternate between vpc-a and vpc-b. */
  enis: number;
  /** Load-balancer backends in all, spread evenly over the services. */
  lbBackends: number;
  lbServices: number;
}

/** What the issue asks a gateway to take in under a second. */
export const LARGE: LargeConfigSizes = { routes: 100_000, enis: 10_000, lbBackends: 1000, lbServices: 20 };

/** The configuration a benchmark gateway starts with before it takes LARGE. */
export const SMALL: LargeConfigSizes = { routes: 100, enis: 1100, lbBackends: 0, lbServices: 0 };

const BASE_ENIS = 1100;
/** The load balancers' port; their backends are on its /16 (direct routing reaches backends on a subnet of a port). */
const lbPort = () => ({
  name: 'lb',
  type: 'mem' as const,
  mac: '02:00:00:00:02:01',
  addresses: ['10.80.0.1/16'],
});

const mac = (prefix: number, i: number) =>
  `02:${prefix.toString(16).padStart(2, '0')}:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':')}`;

/**
 * The configuration of `sizes` (default LARGE) on in-memory ports: port 0
 * the overlay's underlay, port 1 the load balancers'. `workers` replaces
 * vxlanBenchConfig's one busy worker (unpinned unless `core` is given).
 */
export function largeConfig(
  sizes: LargeConfigSizes = LARGE,
  opts: { core?: number; workers?: ConfigInput['workers'] } = {},
): ConfigInput {
  if (sizes.enis < BASE_ENIS) throw new Error(`largeConfig: at least ${BASE_ENIS} ENIs`);
  const base = vxlanBenchConfig(opts.core, sizes.routes);
  // The hypervisors the base ENIs are on: the extra ENIs go on them too.
  const vteps = (base.neighbors ?? []).map((n) => n.address);

  // Extra ENIs: vpc-a's in a second subnet (10.0.64.0/18: 16 382 hosts),
  // vpc-b's in its one subnet above the base destinations (21.0.0.0/8).
  const extra = [];
  for (let i = 0; i < sizes.enis - BASE_ENIS; i++) {
    const k = i >> 1;
    const inA = (i & 1) === 0;
    const ip = inA
      ? `10.0.${64 + ((k + 10) >> 8)}.${(k + 10) & 255}`
      : `21.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
    extra.push({
      id: `eni-${inA ? 'a' : 'b'}${k}`,
      subnet: inA ? 'a2' : 'b1',
      mac: mac(inA ? 0x1a : 0x1b, k),
      ip,
      vtep: vteps[i % vteps.length],
      securityGroups: [inA ? 'sg-a' : 'sg-b'],
    });
  }

  // Services: 20 VIPs on 10.90.0.0/24 taking turns at direct routing, NAT
  // and full NAT, Maglev; backends 10.80.1.0 and up, distinct everywhere.
  const modes = ['dr', 'nat', 'fullnat'] as const;
  const perService = sizes.lbServices ? Math.ceil(sizes.lbBackends / sizes.lbServices) : 0;
  const loadBalancers = [];
  for (let s = 0, b = 0; s < sizes.lbServices; s++) {
    const mode = modes[s % modes.length]!;
    const backends = [];
    for (let j = 0; j < perService && b < sizes.lbBackends; j++, b++) {
      const ip = `10.80.${1 + (b >> 8)}.${b & 255}`;
      backends.push(mode === 'dr' ? { ip } : { ip, port: 8080 });
    }
    loadBalancers.push({
      id: `svc-${s}`,
      vip: `10.90.0.${1 + s}`,
      protocol: 'tcp' as const,
      port: 80,
      mode,
      scheduler: 'maglev' as const,
      localIps: mode === 'fullnat' ? [`10.80.250.${1 + s}`] : [],
      backends,
    });
  }

  return {
    ...base,
    ...(opts.workers ? { workers: opts.workers } : {}),
    ports: [...base.ports, lbPort()],
    subnets: [
      ...(base.subnets ?? []),
      { id: 'a2', vpc: 'vpc-a', cidr: '10.0.64.0/18', routeTable: 'rt-a', networkAcl: 'acl-a' },
    ],
    enis: [...(base.enis ?? []), ...extra],
    loadBalancers,
  };
}

/** How many of each a configuration of `sizes` holds, for result lines. */
export function largeConfigCounts(sizes: LargeConfigSizes = LARGE) {
  return {
    routes: sizes.routes,
    enis: sizes.enis,
    lb_backends: sizes.lbBackends,
    lb_services: sizes.lbServices,
  };
}
