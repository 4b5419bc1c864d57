// The pipeline fuzzer's input format (native/fuzz/fuzz_pipeline.cc says
// what it means there): frames separated by "NFVG", each after a control
// byte: bits 0-1 the port, bit 2 the worker's queue, bit 3 "process what
// came in so far first", bits 4-7 k, the clock moving 2^(k-1) ms. Written
// by the golden tests for the seed corpus (NFVGW_FUZZ_DUMP in
// test/support/mem-gateway.ts), read back by the fuzz regression tests.
import type { MemGateway, SendResult } from '../support/mem-gateway.js';

export const SEPARATOR = Buffer.from('NFVG');

export interface FuzzFrame {
  port: number;
  queue: number;
  /** The workers process everything before this frame first. */
  boundary: boolean;
  /** 0..15: the clock moves 2^(k-1) ms first (0: not at all). */
  clock: number;
  frame: Buffer;
}

export function encodeInput(frames: readonly FuzzFrame[]): Buffer {
  const parts: Buffer[] = [];
  frames.forEach((f, i) => {
    if (i > 0) parts.push(SEPARATOR);
    const ctl = (f.port & 3) | ((f.queue & 1) << 2) | (f.boundary ? 8 : 0) | ((f.clock & 15) << 4);
    parts.push(Buffer.from([ctl]), f.frame);
  });
  return Buffer.concat(parts);
}

/** As the fuzzer splits an input; port and queue modulo what the gateway has. */
export function decodeInput(input: Buffer, ports: number, queues: number): FuzzFrame[] {
  const out: FuzzFrame[] = [];
  let start = 0;
  const take = (end: number) => {
    if (end > start) {
      const ctl = input[start]!;
      out.push({
        port: (ctl & 3) % ports,
        queue: ((ctl >> 2) & 1) % queues,
        boundary: (ctl & 8) !== 0,
        clock: ctl >> 4,
        frame: input.subarray(start + 1, end),
      });
    }
  };
  for (let i = input.indexOf(SEPARATOR); i >= 0; i = input.indexOf(SEPARATOR, start)) {
    take(i);
    start = i + SEPARATOR.length;
  }
  take(input.length);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Plays a fuzzer input through a MemGateway: frames up to a boundary are
 * injected together into their queues, then the workers take them; clock
 * steps are waited out (real time: the gateway's workers keep their own
 * clock). What the gateway sent and counted, summed over the whole input.
 */
export async function replayInput(gw: MemGateway, input: Buffer): Promise<SendResult> {
  const dp = gw.dataplane;
  const queues = gw.svc.info.workers.length;
  const before = gw.counters();
  const out: SendResult['out'] = {};
  const settle = async () => {
    for (let i = 0; i < 500; i++) {
      let pending = false;
      for (let p = 0; p < gw.ports.length; p++)
        for (let q = 0; q < queues; q++) pending ||= dp.memPending(p, q);
      if (!pending) break;
      await sleep(2);
    }
    await gw.settle();
    for (const [port, frames] of Object.entries(gw.collect().out))
      out[port] = [...(out[port] ?? []), ...frames];
  };
  for (const f of decodeInput(input, gw.ports.length, queues)) {
    if (f.boundary) await settle();
    if (f.clock) await gw.settleFor(2 ** (f.clock - 1));
    dp.memInject(f.port, f.queue, [f.frame]);
  }
  await settle();
  const all = gw.collect(before);
  return { out, drops: all.drops, events: all.events };
}
