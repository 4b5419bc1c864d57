// pipeline-l3fwd: the forwarding pipeline alone, over in-memory ports, on
// one pinned core in busy mode: 64-byte frames (60 bytes plus the FCS a
// wire would add) to 256 destinations spread over a 10 000-route table,
// against the in-memory floor (the same port and worker loop with a stage
// that only swaps MACs and sends the frame back) measured in the same run.
import { validateConfig } from '../src/config/validate.js';
import { loadAddon } from '../src/dataplane/native.js';
import { udpFrame } from '../src/pkt/build.js';
import { type BenchResult, BURST, lastCore, median, round } from './common.js';
import { fastest, floorResult, perPkt, versusFloor } from './replay.js';

const GW_IN_MAC = '02:00:00:00:00:01';
const HOST_MAC = '02:00:00:00:0a:02';
const NEXT_HOP_MAC = '02:00:00:00:0b:fe';

export function l3Config(core: number, routes: number) {
  const table = [];
  for (let i = 0; i < routes; i++) {
    // /24s under 10.128.0.0/9 and a few wider prefixes, all via the next hop
    table.push({ destination: `10.${128 + ((i >> 8) & 127)}.${i & 255}.0/24`, via: '10.0.2.254' });
  }
  table.push({ destination: '0.0.0.0/0', via: '10.0.2.254' });
  return validateConfig({
    workers: [{ core, pollMode: 'busy' }],
    ports: [
      { name: 'in', type: 'mem', mac: GW_IN_MAC, addresses: ['10.0.1.1/24'] },
      { name: 'out', type: 'mem', addresses: ['10.0.2.1/24'] },
    ],
    routes: table,
    neighbors: [{ port: 'out', address: '10.0.2.254', mac: NEXT_HOP_MAC }],
  });
}

export function l3Frames(count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      udpFrame({
        dstMac: GW_IN_MAC,
        srcMac: HOST_MAC,
        src: '10.0.1.2',
        dst: `10.${128 + (i & 127)}.${(i * 7) & 255}.${1 + (i % 250)}`,
        sport: 1024 + i,
        dport: 9,
        frameLen: 60,
      }),
    );
  }
  return out;
}

export async function pipelineL3fwd(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const core = lastCore();
  const templates = l3Frames(256);
  const runs = opts.runs ?? 5;
  const r = await versusFloor(l3Config(core, 10_000), templates, runs);
  const floor = fastest(r.floor);
  return [
    {
      bench: 'pipeline-floor',
      mpps: round(floor.pps / 1e6),
      ns_per_pkt: round(1e9 / floor.pps, 2),
      core,
      runs,
      median_mpps: round(median(r.floor.map((x) => x.pps)) / 1e6),
      ...perPkt('cycles_per_pkt', floor.cyclesPerPkt),
      ...perPkt('instr_per_pkt', floor.instrPerPkt),
    },
    floorResult('pipeline-l3fwd', r, { core, routes: 10_003, flows: templates.length, frame_bytes: 60 }),
  ];
}

/**
 * memory-miss: the baseline of the many-flows lines. A pipeline whose table of connections is far
 * past the caches (a million flows) waits on a random line of it for nearly every packet, which
 * the floor never does. The probe walks random lines of a 256 MiB huge-page table on the
 * worker's core: one at a time (`dependent_ns`, a miss's latency), and a burst's worth
 * (`chains`, as many as a burst's staged lookups) at once (`parallel_ns` a line: the least a
 * packet with one such miss adds to the floor).
 */
export async function memoryMiss(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const addon = loadAddon();
  const runs = opts.runs ?? 3;
  const tableMib = 256;
  const got = Array.from({ length: runs }, () =>
    addon.memoryMiss(tableMib << 20, BURST, 16_000_000, lastCore()),
  );
  return [
    {
      bench: 'memory-miss',
      table_mib: tableMib,
      chains: BURST,
      dependent_ns: round(median(got.map((m) => m.dependentNs)), 1),
      parallel_ns: round(median(got.map((m) => m.parallelNs)), 1),
      huge_pages: got.every((m) => m.hugePages),
      runs,
    },
  ];
}
