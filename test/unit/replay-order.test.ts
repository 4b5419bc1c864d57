// The benchmarks' replay: frame i is template i mod N, across bursts and
// wraps, whether the templates are few (cached) or many (each fetched
// ahead of its copy). The generator's patch pipeline sends every frame on
// unchanged out of the other port, where the test drains them.
import { describe, expect, it } from 'vitest';
import { lastCore, sleep } from '../../bench/common.js';
import { l3Config, l3Frames } from '../../bench/pipeline.js';
import { compile } from '../../src/config/compile.js';
import { DataplaneGateway } from '../../src/dataplane/gateway.js';
import { bpfDir } from '../../src/dataplane/native.js';
import { udpFrame } from '../../src/pkt/build.js';

/** The frames the patch pipeline sent on for `count` replayed over `templates`, in order. */
async function replayed(templates: Buffer[], count: number): Promise<Buffer[]> {
  const compiled = compile(l3Config(lastCore(), 10), { bpfDir: bpfDir(), generation: 1 });
  const ports = compiled.spec.ports.map((p) => ({ ...p, memSlots: 65_536 }));
  const gw = new DataplaneGateway({ ...compiled.spec, ports, pipeline: 'patch' });
  try {
    gw.memReplay(0, 0, templates, count);
    gw.start(compiled.snapshot);
    const deadline = Date.now() + 60_000;
    while (gw.replayResult(0, 0).doneNs === 0 && Date.now() < deadline) await sleep(20);
    const out: Buffer[] = [];
    for (let got = gw.memDrain(1, 0); got.length; got = gw.memDrain(1, 0)) out.push(...got);
    return out;
  } finally {
    gw.close();
  }
}

function expectCycled(out: Buffer[], templates: Buffer[], count: number) {
  expect(out.length).toBe(count);
  const firstWrong = out.findIndex((f, i) => !f.equals(templates[i % templates.length]!));
  expect(firstWrong).toBe(-1);
}

describe('replay', () => {
  it('cycles through a few templates in order, across bursts', async () => {
    const templates = l3Frames(3);
    expectCycled(await replayed(templates, 100), templates, 100);
  });

  it('cycles through more templates than stay cached (fetched ahead), across the wrap', async () => {
    // Past MemQueue::kReplayCached (16 384): each a distinct UDP source port and address.
    const templates = Array.from({ length: 20_000 }, (_, i) =>
      udpFrame({
        dstMac: '02:00:00:00:00:01',
        srcMac: '02:00:00:00:0a:02',
        src: `10.0.${1 + (i >> 8)}.${i & 255}`,
        dst: '10.200.0.1',
        sport: 1024 + i,
        dport: 9,
        frameLen: 60,
      }),
    );
    const count = 2 * templates.length + 77;
    expectCycled(await replayed(templates, count), templates, count);
  });
});
