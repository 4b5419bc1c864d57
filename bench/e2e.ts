// e2e-l3fwd: forwarding end to end through veth pairs in the lab, nfvgw
// against the Linux kernel forwarding the same traffic on the same topology
// in the same run.
//
//   generator (h1, core 0) -> gateway namespace (nfvgw on core 1, or the
//   kernel router) -> h2, where an XDP program counts and drops the frames
//
// The generator is nfvgw's own port code: a mem port replaying 64-byte UDP
// frames patched to an AF_XDP socket on h1's interface, pinned to core 0 in
// busy mode. The sink counts at the XDP hook of h2, so counting costs the
// same whoever forwarded. The kernel runs twice: as installed, and tuned
// with RPS moving its forwarding to the core nfvgw gets (static neighbors
// both times). On veth, AF_XDP works in copy mode: the frame is copied into
// the UMEM on receive (in the sender's softirq, on the generator's core)
// and out of it on transmit; a NIC with zero-copy AF_XDP does neither.
import { compile } from '../src/config/compile.js';
import { validateConfig } from '../src/config/validate.js';
import { DataplaneGateway } from '../src/dataplane/gateway.js';
import { bpfDir } from '../src/dataplane/native.js';
import { nsRun, run } from '../src/lab/exec.js';
import { kernelRouting, labDown, labGatewayConfig, labUp, macOf } from '../src/lab/topology.js';
import { silentLogger } from '../src/log/logger.js';
import { udpFrame } from '../src/pkt/build.js';
import { GatewayService } from '../src/service/gateway-service.js';
import { type BenchResult, lastCore, round, sleep } from './common.js';

const PREFIX = 'nfvgw-bench';

/** Receive packet steering on `iface` in `ns`: `mask` of CPUs, 0 for off. */
export async function setRps(ns: string, iface: string, mask: number): Promise<void> {
  const file = `/sys/class/net/${iface}/queues/rx-0/rps_cpus`;
  await nsRun(ns, 'sh', ['-c', `echo ${mask.toString(16)} > ${file}`]);
}

/** The sink: an XDP program on `iface` in `ns` that counts and drops what arrives. */
export async function attachSink(ns: string, iface: string): Promise<void> {
  await nsRun(ns, 'ip', [
    'link',
    'set',
    'dev',
    iface,
    'xdpdrv',
    'obj',
    `${bpfDir()}/bench_sink.bpf.o`,
    'sec',
    'xdp',
  ]);
}

async function sinkCount(): Promise<number> {
  const out = await run('bpftool', ['map', 'dump', 'name', 'nfvgw_sink_cnt', '-j']);
  const entries = JSON.parse(out.stdout) as {
    values?: { value: number }[];
    formatted?: { values: { value: number }[] };
  }[];
  let total = 0;
  for (const e of entries) for (const v of e.formatted?.values ?? e.values ?? []) total += Number(v.value);
  return total;
}

/**
 * A traffic generator in `ns`: replays frames out of `iface` as fast as one
 * core can. The kernel releases the previous generator's AF_XDP socket
 * asynchronously, so binding right after it can find the queue still busy
 * (EBUSY): a few retries.
 */
export async function startGenerator(
  ns: string,
  iface: string,
  templates: Buffer[],
  core: number,
): Promise<DataplaneGateway> {
  const cfg = validateConfig({
    workers: [{ core, pollMode: 'busy' }],
    ports: [
      { name: 'replay', type: 'mem' },
      { name: 'wire', type: 'af_xdp', interface: iface, netns: ns },
    ],
  });
  const compiled = compile(cfg, { bpfDir: bpfDir(), generation: 1 });
  for (let attempt = 1; ; attempt++) {
    try {
      const gen = new DataplaneGateway({ ...compiled.spec, pipeline: 'patch', burst: 64 });
      gen.memReplay(0, 0, templates, Number.MAX_SAFE_INTEGER);
      gen.start(compiled.snapshot);
      return gen;
    } catch (e) {
      if (attempt >= 10 || !/errno 16\b/.test((e as Error).message)) throw e;
      await sleep(200);
    }
  }
}

/** Frames the generator has sent. */
export function generatorSent(gen: DataplaneGateway): number {
  return gen.stats().ports[1]!.queues.reduce((a, q) => a + q.txPackets, 0);
}

/**
 * Delivered (counted by the sink) and generated packets per second over
 * `seconds`, after a warm-up, with the generator on `ns`/`iface`, core 0.
 */
export async function measure(
  ns: string,
  iface: string,
  templates: Buffer[],
  seconds: number,
): Promise<{ delivered: number; offered: number }> {
  const gen = await startGenerator(ns, iface, templates, 0);
  try {
    await sleep(500);
    const c0 = await sinkCount();
    const g0 = generatorSent(gen);
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const c1 = await sinkCount();
    const g1 = generatorSent(gen);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    return { delivered: (c1 - c0) / dt, offered: (g1 - g0) / dt };
  } finally {
    gen.close();
  }
}

/**
 * The same traffic through the Linux kernel doing the job (as installed,
 * then with RPS moving its work from the generator's core to `core`) and
 * through nfvgw, in that order: packets per second delivered to the sink
 * and the ratios.
 */
export async function versusKernel(o: {
  gen: { ns: string; iface: string };
  /** The gateway's receiving interface, where RPS is turned on. */
  ingress: { ns: string; iface: string };
  templates: Buffer[];
  seconds: number;
  core: number;
  kernelUp: () => Promise<void>;
  kernelDown: () => Promise<void>;
  gateway: () => { close(): void };
}): Promise<Record<string, number>> {
  const offer = () => measure(o.gen.ns, o.gen.iface, o.templates, o.seconds);
  await o.kernelUp();
  const kernel = await offer();
  await setRps(o.ingress.ns, o.ingress.iface, 1 << o.core);
  const kernelRps = await offer();
  await setRps(o.ingress.ns, o.ingress.iface, 0);
  await o.kernelDown();

  const gw = o.gateway();
  let ours: { delivered: number; offered: number };
  try {
    ours = await offer();
  } finally {
    gw.close();
  }
  const mpps = ours.delivered / 1e6;
  return {
    mpps: round(mpps),
    ns_per_pkt: round(1e3 / mpps, 1),
    kernel_mpps: round(kernel.delivered / 1e6),
    ratio_to_kernel: round(ours.delivered / kernel.delivered),
    kernel_rps_mpps: round(kernelRps.delivered / 1e6),
    ratio_to_kernel_rps: round(ours.delivered / kernelRps.delivered),
    offered_mpps: round(ours.offered / 1e6),
    kernel_offered_mpps: round(kernel.offered / 1e6),
    kernel_rps_offered_mpps: round(kernelRps.offered / 1e6),
  };
}

export async function e2eL3fwd(
  opts: { seconds?: number; transport?: 'af_xdp' | 'af_packet' } = {},
): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 5;
  const transport = opts.transport ?? 'af_xdp';
  const core = lastCore();
  const lab = await labUp({ prefix: PREFIX, queues: 1 });
  const [h1, h2] = [lab.hosts[0]!, lab.hosts[1]!];
  try {
    await attachSink(h2.ns, h2.iface);
    const gwMac = await macOf(lab.gwNs, lab.ports[0]!.iface);
    const templates: Buffer[] = [];
    for (let i = 0; i < 64; i++) {
      templates.push(
        udpFrame({
          dstMac: gwMac,
          srcMac: h1.mac,
          src: h1.ip,
          dst: h2.ip,
          sport: 1024 + i,
          dport: 9,
          frameLen: 60,
        }),
      );
    }

    const r = await versusKernel({
      gen: h1,
      ingress: { ns: lab.gwNs, iface: lab.ports[0]!.iface },
      templates,
      seconds,
      core,
      kernelUp: async () => {
        await kernelRouting(lab, true);
        await nsRun(lab.gwNs, 'ip', [
          ...['neigh', 'replace', h2.ip, 'lladdr', h2.mac],
          ...['dev', lab.ports[1]!.iface, 'nud', 'permanent'],
        ]);
      },
      kernelDown: () => kernelRouting(lab, false),
      gateway: () =>
        GatewayService.start(
          {
            ...labGatewayConfig(lab, { type: transport, workers: [{ core, pollMode: 'busy' }] }),
            neighbors: [{ port: 'lan-b', address: h2.ip, mac: h2.mac }],
          },
          silentLogger(),
        ),
    });
    return [
      {
        bench: transport === 'af_xdp' ? 'e2e-l3fwd' : 'e2e-l3fwd-af_packet',
        ...r,
        transport,
        seconds,
        core,
      },
    ];
  } finally {
    await labDown(PREFIX);
  }
}
