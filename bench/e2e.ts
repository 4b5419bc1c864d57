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
import { kernelRouting, type Lab, labDown, labGatewayConfig, labUp } from '../src/lab/topology.js';
import { silentLogger } from '../src/log/logger.js';
import { udpFrame } from '../src/pkt/build.js';
import { GatewayService } from '../src/service/gateway-service.js';
import { type BenchResult, lastCore, round, sleep } from './common.js';

const PREFIX = 'nfvgw-bench';

async function macOf(ns: string, iface: string): Promise<string> {
  return (await nsRun(ns, 'cat', [`/sys/class/net/${iface}/address`])).stdout.trim();
}

/** Receive packet steering on the gateway's ingress: `mask` of CPUs, 0 for off. */
async function setRps(lab: Lab, mask: number): Promise<void> {
  const file = `/sys/class/net/${lab.ports[0]!.iface}/queues/rx-0/rps_cpus`;
  await nsRun(lab.gwNs, 'sh', ['-c', `echo ${mask.toString(16)} > ${file}`]);
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

/** A traffic generator in `ns`: replays frames out of `iface` as fast as one core can. */
function startGenerator(ns: string, iface: string, templates: Buffer[], core: number): DataplaneGateway {
  const cfg = validateConfig({
    workers: [{ core, pollMode: 'busy' }],
    ports: [
      { name: 'replay', type: 'mem' },
      { name: 'wire', type: 'af_xdp', interface: iface, netns: ns },
    ],
  });
  const compiled = compile(cfg, { bpfDir: bpfDir(), generation: 1 });
  const gen = new DataplaneGateway({ ...compiled.spec, pipeline: 'patch', burst: 64 });
  gen.memReplay(0, 0, templates, Number.MAX_SAFE_INTEGER);
  gen.start(compiled.snapshot);
  return gen;
}

function generatorSent(gen: DataplaneGateway): number {
  return gen.stats().ports[1]!.queues.reduce((a, q) => a + q.txPackets, 0);
}

/** Delivered and generated packets per second over `seconds`, after a warm-up. */
async function measure(
  lab: Lab,
  templates: Buffer[],
  seconds: number,
): Promise<{ delivered: number; offered: number }> {
  const gen = startGenerator(lab.hosts[0]!.ns, lab.hosts[0]!.iface, templates, 0);
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

export async function e2eL3fwd(
  opts: { seconds?: number; transport?: 'af_xdp' | 'af_packet' } = {},
): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 5;
  const transport = opts.transport ?? 'af_xdp';
  const core = lastCore();
  const lab = await labUp({ prefix: PREFIX, queues: 1 });
  const [h1, h2] = [lab.hosts[0]!, lab.hosts[1]!];
  try {
    await nsRun(h2.ns, 'ip', [
      'link',
      'set',
      'dev',
      h2.iface,
      'xdpdrv',
      'obj',
      `${bpfDir()}/bench_sink.bpf.o`,
      'sec',
      'xdp',
    ]);
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

    // The Linux kernel as the router: as installed (RPS off, so its
    // forwarding runs on the sender's core, as our XDP receive does), and
    // tuned (RPS moving its forwarding to the core nfvgw gets).
    await kernelRouting(lab, true);
    await nsRun(lab.gwNs, 'ip', [
      'neigh',
      'replace',
      h2.ip,
      'lladdr',
      h2.mac,
      'dev',
      lab.ports[1]!.iface,
      'nud',
      'permanent',
    ]);
    const kernel = await measure(lab, templates, seconds);
    await setRps(lab, 1 << core);
    const kernelRps = await measure(lab, templates, seconds);
    await setRps(lab, 0);
    await kernelRouting(lab, false);

    // nfvgw as the router.
    const cfg = {
      ...labGatewayConfig(lab, { type: transport, workers: [{ core, pollMode: 'busy' }] }),
      neighbors: [{ port: 'lan-b', address: h2.ip, mac: h2.mac }],
    };
    const svc = GatewayService.start(cfg, silentLogger());
    let ours: { delivered: number; offered: number };
    try {
      ours = await measure(lab, templates, seconds);
    } finally {
      svc.close();
    }
    const mpps = ours.delivered / 1e6;
    return [
      {
        bench: transport === 'af_xdp' ? 'e2e-l3fwd' : 'e2e-l3fwd-af_packet',
        mpps: round(mpps),
        ns_per_pkt: round(1e3 / mpps, 1),
        kernel_mpps: round(kernel.delivered / 1e6),
        ratio_to_kernel: round(ours.delivered / kernel.delivered),
        kernel_rps_mpps: round(kernelRps.delivered / 1e6),
        ratio_to_kernel_rps: round(ours.delivered / kernelRps.delivered),
        offered_mpps: round(ours.offered / 1e6),
        kernel_offered_mpps: round(kernel.offered / 1e6),
        kernel_rps_offered_mpps: round(kernelRps.offered / 1e6),
        transport,
        seconds,
        core,
      },
    ];
  } finally {
    await labDown(PREFIX);
  }
}
