// The typed face of the native data plane. The native handle is private to
// this class; errors from the addon come out as NfvgwError with the
// data plane's code.
import { NfvgwError } from '../core/errors.js';
import {
  type FlowEntry,
  type FlowFilter,
  type GatewayInfo,
  type GatewaySpec,
  type GatewayStats,
  type LbStats,
  loadAddon,
  type NativeCaptureFrame,
  type NativeGateway,
  type NativeTracePacket,
  type NeighborEntry,
  type ReplayResult,
  type RouteChanges,
  type RouteLookup,
  type SnapshotSpec,
  type TapFilterSpec,
} from './native.js';

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw NfvgwError.from(e);
  }
}

export class DataplaneGateway {
  readonly #native: NativeGateway;
  #closed = false;

  /** Opens the ports and prepares the workers (nothing runs until start()). */
  constructor(spec: GatewaySpec) {
    const addon = loadAddon();
    this.#native = wrap(() => new addon.Gateway(spec));
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(snapshot: SnapshotSpec): void {
    wrap(() => this.#native.start(snapshot));
  }

  /** Builds the snapshot off the JS thread and publishes it; traffic never stops. */
  async apply(snapshot: SnapshotSpec): Promise<void> {
    try {
      await wrap(() => this.#native.apply(snapshot));
    } catch (e) {
      throw NfvgwError.from(e);
    }
  }

  /**
   * Applies VPC route changes to a copy of the running snapshot, building
   * only the tables they touch, and publishes it as `generation`.
   */
  async changeRoutes(generation: number, changes: RouteChanges): Promise<void> {
    try {
      await wrap(() => this.#native.changeRoutes(generation, changes));
    } catch (e) {
      throw NfvgwError.from(e);
    }
  }

  info(): GatewayInfo {
    return wrap(() => this.#native.info());
  }

  stats(): GatewayStats {
    return wrap(() => this.#native.stats());
  }

  vpcRouteLookup(table: number, ip: number): number {
    return wrap(() => this.#native.vpcRouteLookup(table, ip));
  }

  routeLookup(ip: number): RouteLookup {
    return wrap(() => this.#native.routeLookup(ip));
  }

  neighbors(): NeighborEntry[] {
    return wrap(() => this.#native.neighbors());
  }

  /** Tracked connections matching `filter` (up to its limit) and how many matched. */
  flows(filter: FlowFilter = {}): { flows: FlowEntry[]; matched: number } {
    return wrap(() => this.#native.flows(filter));
  }

  /** Public ports held by NAT mappings, by public address and protocol. */
  natUsage(): { ip: number; proto: number; ports: number; failures: number }[] {
    return wrap(() => this.#native.natUsage());
  }

  /** Per load-balancer backend slot (0..slots-1): connections, packets, bytes, active connections. */
  lbStats(slots: number): LbStats {
    return wrap(() => this.#native.lbStats(slots));
  }

  /** Removes the tracked connections matching `filter`; returns how many. */
  flushFlows(filter: FlowFilter = {}): number {
    return wrap(() => this.#native.flushFlows(filter));
  }

  /** In-memory ports: inject frames for worker `worker` to receive; returns how many fit. */
  memInject(port: number, worker: number, frames: Buffer[]): number {
    return wrap(() => this.#native.memInject(port, worker, frames));
  }

  memDrain(port: number, worker: number, max?: number): Buffer[] {
    return wrap(() => this.#native.memDrain(port, worker, max));
  }

  memPending(port: number, worker: number): boolean {
    return wrap(() => this.#native.memPending(port, worker));
  }

  /** Benchmarks: make `port` receive `count` frames cycling through `frames` (before start()). */
  memReplay(port: number, worker: number, frames: Buffer[], count: number, warmup?: number): void {
    wrap(() => this.#native.memReplay(port, worker, frames, count, warmup));
  }

  /** Benchmarks: count what `port` transmits instead of keeping it (before start()). */
  memSink(port: number, worker: number): void {
    wrap(() => this.#native.memSink(port, worker));
  }

  replayResult(port: number, worker: number): ReplayResult {
    return wrap(() => this.#native.replayResult(port, worker));
  }

  /** Arms the packet trace for the next `count` packets `filter` matches (src/service/tap.ts). */
  traceStart(filter: TapFilterSpec, count: number): void {
    wrap(() => this.#native.traceStart(filter, count));
  }

  /** The traced packets done so far; `final` disarms first and adds the unfinished ones. */
  traceRead(final: boolean): { packets: NativeTracePacket[]; missed: number; armed: boolean } {
    return wrap(() => this.#native.traceRead(final));
  }

  /** Arms the packet capture: matching frames as received (rx) and as sent (tx). */
  captureStart(
    filter: TapFilterSpec,
    opts: { rx: boolean; tx: boolean; snaplen: number; count: number; ringBytes: number },
  ): void {
    wrap(() => this.#native.captureStart(filter, opts));
  }

  /** The captured frames since the last read; `stop` disarms first. */
  captureRead(stop: boolean): { frames: NativeCaptureFrame[]; missed: number; armed: boolean } {
    return wrap(() => this.#native.captureRead(stop));
  }

  /** Stops the workers, closes the sockets, detaches XDP. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }
}
