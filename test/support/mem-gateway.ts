// A gateway on in-memory ports for golden-packet tests: frames go in on a
// port, and what comes out (on every port) and which counters moved come
// back, with no kernel in the way. Uses the real configuration path
// (validate, compile, apply) and real worker threads.
//
// With NFVGW_FUZZ_DUMP=DIR, every injection is also written to DIR as an
// input of the pipeline fuzzer (test/fuzz/input.ts), alone and after the
// two injections before it: the seed corpus (scripts/fuzz.sh --seeds).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigInput } from '../../src/config/schema.js';
import { loadAddon } from '../../src/dataplane/native.js';
import { silentLogger } from '../../src/log/logger.js';
import { GatewayService } from '../../src/service/gateway-service.js';
import { encodeInput, type FuzzFrame } from '../fuzz/input.js';

export interface SendResult {
  /** Frames that left the gateway, by port name. */
  out: Record<string, Buffer[]>;
  /** Drop counters that moved, by reason. */
  drops: Record<string, number>;
  /** Pipeline event counters that moved. */
  events: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MemGateway {
  readonly svc: GatewayService;
  readonly ports: string[];
  #dumped: FuzzFrame[][] = [];

  private constructor(svc: GatewayService) {
    this.svc = svc;
    this.ports = svc.config.ports.map((p) => p.name);
  }

  static start(config: ConfigInput): MemGateway {
    return new MemGateway(GatewayService.start(config, silentLogger()));
  }

  get dataplane() {
    return this.svc.dataplane;
  }

  #counters() {
    const s = this.svc.stats();
    const sum = (pick: (w: (typeof s.workers)[number]) => number[]) => {
      const out: number[] = [];
      for (const w of s.workers) {
        pick(w).forEach((n, i) => {
          out[i] = (out[i] ?? 0) + n;
        });
      }
      return out;
    };
    return {
      drops: sum((w) => w.drops),
      events: sum((w) => w.events),
      rx: s.ports.map((p) => p.queues.reduce((a, q) => a + q.rxPackets, 0)),
      loops: s.workers.reduce((a, w) => a + w.busyLoops + w.idleLoops, 0),
    };
  }

  /** Waits until every worker has finished a loop iteration that began after now. */
  async settle(): Promise<void> {
    const s0 = this.svc.stats().workers.map((w) => w.busyLoops + w.idleLoops);
    for (let i = 0; i < 500; i++) {
      await sleep(2);
      const s1 = this.svc.stats().workers.map((w) => w.busyLoops + w.idleLoops);
      if (s1.every((v, k) => v >= s0[k]! + 2)) return;
    }
    throw new Error('the workers did not finish an iteration in time');
  }

  /** Injects `frames` on `port` (worker 0's queue) and reports what happened. */
  send(port: string, ...frames: Buffer[]): Promise<SendResult> {
    return this.sendOnQueue(port, 0, ...frames);
  }

  /** The same on the queue of worker `queue`. */
  async sendOnQueue(port: string, queue: number, ...frames: Buffer[]): Promise<SendResult> {
    const index = this.ports.indexOf(port);
    if (index < 0) throw new Error(`no port ${port}`);
    const before = this.#counters();
    const dp = this.svc.dataplane;
    if (process.env.NFVGW_FUZZ_DUMP) this.#dump(process.env.NFVGW_FUZZ_DUMP, index, queue, frames);
    if (dp.memInject(index, queue, frames) !== frames.length) throw new Error('mem port ring full');
    for (let i = 0; i < 500; i++) {
      const now = this.#counters();
      if (!dp.memPending(index, queue) && now.rx[index]! >= before.rx[index]! + frames.length) break;
      await sleep(2);
    }
    await this.settle();
    return this.collect(before);
  }

  /** Lets the workers run for `ms` (what happens with time: expiry, retries). */
  async settleFor(ms: number): Promise<void> {
    await sleep(ms);
    await this.settle();
  }

  collect(before?: ReturnType<MemGateway['counters']>): SendResult {
    const after = this.#counters();
    const addon = loadAddon();
    const delta = (names: { name: string }[], a: number[], b: number[] | undefined) => {
      const out: Record<string, number> = {};
      a.forEach((n, i) => {
        const d = n - (b?.[i] ?? 0);
        if (d) out[names[i]!.name] = d;
      });
      return out;
    };
    const out: Record<string, Buffer[]> = {};
    this.ports.forEach((name, i) => {
      const frames: Buffer[] = [];
      for (let w = 0; w < this.svc.info.workers.length; w++)
        frames.push(...this.svc.dataplane.memDrain(i, w));
      if (frames.length) out[name] = frames;
    });
    return {
      out,
      drops: delta(addon.dropReasons, after.drops, before?.drops),
      events: delta(addon.events, after.events, before?.events),
    };
  }

  counters() {
    return this.#counters();
  }

  #dump(dir: string, port: number, queue: number, frames: Buffer[]): void {
    const send = frames.map((frame, i) => ({ port, queue, boundary: i === 0, clock: 0, frame }));
    this.#dumped = [...this.#dumped.slice(-2), send];
    mkdirSync(dir, { recursive: true });
    for (const input of [encodeInput(send), encodeInput(this.#dumped.flat())]) {
      if (input.length > 2048) continue; // the fuzzer's -max_len
      writeFileSync(join(dir, createHash('sha1').update(input).digest('hex')), input);
    }
  }

  close(): void {
    this.svc.close();
  }
}
