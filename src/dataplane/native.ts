// Loading the native addon and the types of what crosses the boundary.
// Only src/dataplane/ touches the addon; everything else goes through the
// typed DataplaneGateway (gateway.ts).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NfvgwError } from '../core/errors.js';

export interface GatewaySpec {
  bpfDir: string;
  burst: number;
  hugepages: 'auto' | 'require' | 'off';
  workers: { core: number; pollMode: 'busy' | 'adaptive' }[];
  ports: {
    name: string;
    kind: 'af_xdp' | 'af_packet' | 'mem';
    interface?: string | undefined;
    netns?: string | undefined;
    xdpMode?: 'auto' | 'native' | 'generic';
    zeroCopy?: 'auto' | 'on' | 'off';
    ringSize?: number;
    mac?: string | undefined;
    memSlots?: number;
  }[];
  neighborCapacity?: number;
  /** Connections the connection table holds. */
  conntrackCapacity?: number;
  /** Benchmarks only: `floor` swaps MACs and sends frames back (the in-memory floor); `patch` sends port i's frames out of port i^1 (the traffic generator). */
  pipeline?: 'l3' | 'floor' | 'patch';
  idleSpinUs?: number;
  txDrainUs?: number;
}

export interface SnapshotSpec {
  generation: number;
  ports: { mtu: number; vlan: number; addresses: { ip: number; prefixLen: number }[] }[];
  nexthops: {
    kind: 'none' | 'local' | 'connected' | 'via' | 'blackhole' | 'unreachable' | 'lb';
    port?: number | undefined;
    gateway?: number | undefined;
    broadcast?: number | undefined;
  }[];
  routes: { prefix: Uint32Array; length: Uint8Array; nexthop: Uint32Array };
  neighbors: { port: number; ip: number; mac: string }[];
  icmp: { errorsPerSecond: number; burst: number };
  neighborTimers: { reachableMs: number; expireMs: number; retryMs: number };
  /** Connection timeouts per state, in milliseconds. */
  conntrack?: {
    tcpSynSent: number;
    tcpSynRecv: number;
    tcpEstablished: number;
    tcpFinWait: number;
    tcpCloseWait: number;
    tcpTimeWait: number;
    tcpClose: number;
    udpUnreplied: number;
    udpReplied: number;
    icmp: number;
  };
  overlay?: OverlaySpec;
  lb?: LbSpec;
}

/** The load balancer, compiled (addresses as numbers, protocols as IP protocol numbers). */
export interface LbSpec {
  services: {
    /** An internal load balancer's VPC (its VNI); 0 on the gateway's ports. */
    vni: number;
    vip: number;
    port: number;
    proto: number;
    mode: 'dr' | 'nat' | 'fullnat' | 'tunnel';
    scheduler: 'maglev' | 'rr' | 'wrr' | 'lc' | 'sh';
    tableSize: number;
    useAllWhenDown: boolean;
    /** Session affinity's timeout; 0: none. */
    affinityMs: number;
    localIps: number[];
    /** `slot`: the backend's stable number for counters (see BackendSlots). */
    backends: { ip: number; port: number; weight: number; up: boolean; slot: number }[];
  }[];
}

/** Per backend slot, summed over the workers. */
export interface LbStats {
  connections: Float64Array;
  packets: Float64Array;
  bytes: Float64Array;
  active: Float64Array;
}

/**
 * A replay on an in-memory port (benchmarks): frames received, those timed
 * (after the warm-up) between startNs and doneNs, and the worker thread's
 * cycles and instructions over that time (0 where the kernel gives no
 * hardware counters).
 */
export interface ReplayResult {
  received: number;
  timed: number;
  startNs: number;
  doneNs: number;
  cycles: number;
  instructions: number;
}

/** Route tables by index, as typed arrays (a hundred thousand routes are not a hundred thousand objects). */
export interface RouteArrays {
  table: Uint32Array;
  prefix: Uint32Array;
  length: Uint8Array;
  target: Uint32Array;
}

/** The target of a route change that removes the route. */
export const REMOVE_ROUTE = 0xffffffff;

/**
 * VPC route changes applied to the running tables (changeRoutes): routes
 * added, replaced (same table, prefix and length) or removed (target
 * REMOVE_ROUTE), in order; their targets index the running targets with
 * `targets` appended.
 */
export interface RouteChanges {
  routes: RouteArrays;
  targets: OverlaySpec['targets'];
}

/** A security-group rule, a group reference expanded into /32s. */
export interface SgRuleSpec {
  /** IP protocol, -1 for all (and all ports). */
  proto: number;
  portLo: number;
  portHi: number;
  prefix: number;
  length: number;
}

export interface AclRuleSpec {
  allow: boolean;
  /** IP protocol, -1 for any. */
  proto: number;
  portLo: number;
  portHi: number;
  prefix: number;
  length: number;
}

/** The VPC overlay, compiled: everything by index. */
export interface OverlaySpec {
  port: number;
  vtepIp: number;
  udpPort: number;
  routerMac: string;
  /** The VNI of each VPC. */
  vnis: number[];
  subnets: {
    vpc: number;
    prefix: number;
    length: number;
    gateway: number;
    routeTable: number;
    acl: number;
  }[];
  enis: { vpc: number; subnet: number; mac: string; vtep: number; ips: number[]; sgSet: number }[];
  /** Route targets shared by the VPC and transit tables; 0 is "no route". */
  targets: {
    kind: 'none' | 'local' | 'peering' | 'transit' | 'eni' | 'blackhole' | 'attachment' | 'nat' | 'igw';
    vpc?: number;
    tgw?: number;
    eni?: number;
    nat?: number;
  }[];
  routeTables: number;
  routes: RouteArrays;
  transitGateways: number;
  transitRoutes: RouteArrays;
  acls: { inbound: AclRuleSpec[]; outbound: AclRuleSpec[] }[];
  /** The rules of each distinct combination of security groups ENIs have. */
  sgSets: { inbound: SgRuleSpec[]; outbound: SgRuleSpec[] }[];
  /** The port towards the internet, -1 for none. */
  uplink: number;
  natGateways: { vpc: number; ips: number[]; portLo: number; portHi: number }[];
  eips: { publicIp: number; eni: number; privateIp: number }[];
  portForwards: {
    publicIp: number;
    proto: number;
    publicPort: number;
    eni: number;
    privateIp: number;
    privatePort: number;
  }[];
}

export interface PortInfo {
  name: string;
  kind: 'af_xdp' | 'af_packet' | 'mem';
  interface: string;
  netns: string;
  ifindex: number;
  mac: string;
  mtu: number;
  rxQueues: number;
  up: boolean;
  zeroCopy: boolean;
  xdpMode: 'native' | 'generic' | null;
}

export interface GatewayInfo {
  ports: PortInfo[];
  workers: {
    id: number;
    core: number;
    pollMode: 'busy' | 'adaptive';
    poolFrames: number;
    hugePages: boolean;
  }[];
  burst: number;
  warnings: string[];
}

export interface QueueStats {
  queue: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  kernelRxDropped: number;
  kernelRxFillEmpty: number;
  kernelRxInvalid: number;
  kernelTxInvalid: number;
}

export interface WorkerStats {
  id: number;
  busyNs: number;
  idleNs: number;
  busyLoops: number;
  idleLoops: number;
  sleeps: number;
  heartbeatAgeMs: number;
  poolFree: number;
  burstHistogram: number[];
  burstSum: number;
  /** Indexed like `dropReasons`. */
  drops: number[];
  /** Indexed like `events`. */
  events: number[];
}

export interface GatewayStats {
  generation: number;
  running: boolean;
  workers: WorkerStats[];
  ports: { name: string; queues: QueueStats[] }[];
  memory: { hugeBytes: number; normalBytes: number; reservedPages: number };
  neighbors: { resolved: number; incomplete: number; capacity: number };
  routes: number;
  routeTableBytes: number;
  /** The connection table: room for `capacity` connections in `bytes`, of which `residentBytes` are in memory. */
  conntrack: { capacity: number; bytes: number; residentBytes: number };
}

/** One direction of a tracked connection (zone: the VPC's VNI). */
export interface FlowKeyView {
  zone: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
}

export interface FlowEntry {
  /**
   * A connection, a NAT mapping (inside endpoint -> public endpoint, no
   * destination), or a load balancer's session affinity (client -> VIP).
   */
  kind: 'connection' | 'mapping' | 'affinity';
  proto: number;
  original: FlowKeyView;
  reply: FlowKeyView;
  state: string;
  expiresInMs: number;
}

/** Which connections: every field given must match one side. */
export interface FlowFilter {
  zone?: number;
  ip?: number;
  port?: number;
  proto?: number;
  state?: string;
  limit?: number;
}

export interface RouteLookup {
  nexthop: number;
  kind: SnapshotSpec['nexthops'][number]['kind'];
  port: number;
  gateway: number;
}

export interface NeighborEntry {
  port: number;
  ip: number;
  mac: string | null;
  confirmedAgoMs: number | null;
}

/** A tap's filter, compiled (core/tap.h): -1 or absent when a criterion is not set; addresses and masks unsigned. */
export interface TapFilterSpec {
  port?: number;
  src?: number;
  srcMask?: number;
  dst?: number;
  dstMask?: number;
  proto?: number;
  sport?: number;
  dport?: number;
  vni?: number;
  vxlanPort?: number;
}

/** One traced packet as the data plane recorded it: records are [kind, a, b, c] (see tapNames). */
export interface NativeTracePacket {
  worker: number;
  port: number;
  len: number;
  timeUs: number;
  monoNs: number;
  head: Buffer;
  complete: boolean;
  truncated: boolean;
  records: [number, number, number, number][];
}

export interface NativeCaptureFrame {
  port: number;
  dir: 'rx' | 'tx';
  timeUs: number;
  monoNs: number;
  origLen: number;
  data: Buffer;
}

export interface NativeGateway {
  start(snapshot: SnapshotSpec): void;
  apply(snapshot: SnapshotSpec): Promise<void>;
  changeRoutes(generation: number, changes: RouteChanges): Promise<void>;
  close(): void;
  info(): GatewayInfo;
  stats(): GatewayStats;
  routeLookup(ip: number): RouteLookup;
  /** The index of the target VPC route table `table` gives `ip` (0: no route). */
  vpcRouteLookup(table: number, ip: number): number;
  neighbors(): NeighborEntry[];
  flows(filter?: FlowFilter): { flows: FlowEntry[]; matched: number };
  flushFlows(filter?: FlowFilter): number;
  natUsage(): { ip: number; proto: number; ports: number; failures: number }[];
  lbStats(slots: number): LbStats;
  memInject(port: number, worker: number, frames: Buffer[]): number;
  memDrain(port: number, worker: number, max?: number): Buffer[];
  memPending(port: number, worker: number): boolean;
  memReplay(port: number, worker: number, frames: Buffer[], count: number, warmup?: number): void;
  memSink(port: number, worker: number): void;
  replayResult(port: number, worker: number): ReplayResult;
  traceStart(filter: TapFilterSpec, count: number): void;
  traceRead(final: boolean): { packets: NativeTracePacket[]; missed: number; armed: boolean };
  captureStart(
    filter: TapFilterSpec,
    opts: { rx: boolean; tx: boolean; snaplen: number; count: number; ringBytes: number },
  ): void;
  captureRead(stop: boolean): { frames: NativeCaptureFrame[]; missed: number; armed: boolean };
}

export interface Catalogue {
  name: string;
  help: string;
}

export interface NativeAddon {
  Gateway: new (spec: GatewaySpec) => NativeGateway;
  dropReasons: Catalogue[];
  events: Catalogue[];
  burstBins: number[];
  frameDataMax: number;
  maxBurst: number;
  /** A non-blocking TCP socket (its fd) created in network namespace `netns`. */
  socketIn(netns: string): number;
  /**
   * What a load of a random cache line of a `bytes` table (huge pages) costs: alone (its latency)
   * and with `chains` walked at once (the time per load with the miss buffers busy), on `core`.
   */
  memoryMiss(
    bytes: number,
    chains: number,
    loads: number,
    core: number,
  ): { dependentNs: number; parallelNs: number; hugePages: boolean };
  /** The trace record kinds and the enums their numbers name. */
  tapNames: {
    kinds: string[];
    kindHelp: string[];
    nexthopKinds: string[];
    vpcTargetKinds: string[];
    connStates: string[];
    traceRecords: number;
    traceSlots: number;
  };
  /** The data plane's Maglev table for these backends (indices into them) and how long it took. */
  maglevBuild(
    backends: { ip: number; port: number; weight: number }[],
    size: number,
  ): { table: Uint16Array; buildMs: number };
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The repository (or installed package) root, wherever this file was compiled to. */
export const projectRoot = existsSync(join(root, 'package.json')) ? root : join(root, '..');

/** Where the addon is: $NFVGW_ADDON, else the cmake-js / node-gyp build. */
export function addonPath(): string {
  return process.env.NFVGW_ADDON ?? join(projectRoot, 'build', 'Release', 'nfvgw.node');
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const path = addonPath();
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new NfvgwError(
      'NFVGW_ERR_ADDON',
      `cannot load the native addon ${path}: ${(e as Error).message} (build it with \`npm run bootstrap\`)`,
    );
  }
  return cached;
}

/** The XDP programs are built next to the addon. */
export function bpfDir(): string {
  return dirname(addonPath());
}
