// `npm run demo`: the main job, end to end, as a new user sees it.
// Part 1 builds a lab with two hosts, starts the gateway on AF_XDP between
// them and sends real traffic through it (ping, an HTTP download with curl
// from a real HTTP server, an iperf3 TCP run and a UDP run). Part 2 makes it
// the hub of four VPCs on three hypervisors whose VTEPs are the kernel's own
// VXLAN devices, and shows what a VPC router does. Part 3 puts it in front
// of three real HTTP backends as an L4 load balancer (direct routing with
// Maglev, NAT with weights and a health check). Each part prints what went
// through and tears its lab down. With --json the last line is one JSON
// object with the same results.
import { createApiServer } from '../api/server.js';
import { nsRun } from '../lab/exec.js';
import { lbBackendMode, lbLabDown, lbLabUp, startBackendServers, stopBackend } from '../lab/lb.js';
import { labDown, labGatewayConfig, labUp } from '../lab/topology.js';
import { curl, type HttpServer, iperf, ping, startHttpServer, startIperfServer } from '../lab/traffic.js';
import { vpcLabDown, vpcLabUp } from '../lab/vpc.js';
import { EIP_B1, NAT_PUBLIC_IP, VPC_SCENARIO, vpcScenarioConfig } from '../lab/vpc-scenario.js';
import { silentLogger } from '../log/logger.js';
import { MetricsExporter } from '../metrics/metrics.js';
import { GatewayService } from '../service/gateway-service.js';
import { formatRate } from './output.js';

type Say = (s: string) => void;

export async function demo(opts: { json?: boolean; type?: 'af_xdp' | 'af_packet' }): Promise<boolean> {
  const type = opts.type ?? 'af_xdp';
  const say: Say = (s: string) => {
    if (!opts.json) console.log(s);
  };
  const l3 = await l3Part(type, say);
  say('');
  const vpc = await vpcPart(type, say);
  say('');
  const lb = await lbPart(type, say);
  const ok = l3.ok && vpc.ok && lb.ok;
  say(ok ? 'demo: everything went through.' : 'demo: something did not go through (see above).');
  if (opts.json) console.log(JSON.stringify({ ...l3, ok, vpc, lb }));
  return ok;
}

async function l3Part(type: 'af_xdp' | 'af_packet', say: Say) {
  const prefix = 'nfvgw-demo';
  say(`nfvgw demo, part 1: two hosts in network namespaces, the gateway routing between them on ${type}`);
  const lab = await labUp({ prefix, queues: 1 });
  const [h1, h2] = [lab.hosts[0]!, lab.hosts[1]!];
  let svc: GatewayService | undefined;
  let app: ReturnType<typeof createApiServer> | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    svc = GatewayService.start(labGatewayConfig(lab, { type }), silentLogger());
    const metrics = new MetricsExporter(svc);
    app = createApiServer(svc, metrics, silentLogger());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const api = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : '';
    const info = svc.info;
    const p0 = info.ports[0]!;
    say(
      `gateway up: ${info.ports.length} ports, ${info.workers.length} worker, ` +
        `${p0.xdpMode ? `XDP ${p0.xdpMode}, ${p0.zeroCopy ? 'zero-copy' : 'copy'} mode, ` : ''}` +
        `huge pages ${info.workers[0]!.hugePages ? 'yes' : 'no (normal pages)'}; API and metrics at ${api}`,
    );
    say(
      `  ${h1.ns} ${h1.ip}  <->  gateway ${lab.ports[0]!.ip} | ${lab.ports[1]!.ip}  <->  ${h2.ns} ${h2.ip}`,
    );

    const pingGw = await ping(h1.ns, lab.ports[0]!.ip, { count: 3 });
    say(
      `ping the gateway ${lab.ports[0]!.ip}: ${pingGw.received}/${pingGw.sent} replies, avg ${pingGw.rttAvgMs} ms`,
    );
    const pingHost = await ping(h1.ns, h2.ip, { count: 5 });
    say(
      `ping ${h2.ip} through it: ${pingHost.received}/${pingHost.sent} replies, avg ${pingHost.rttAvgMs} ms`,
    );

    const http = await startHttpServer(h2.ns, h2.ip, 8080, 8 << 20);
    cleanups.push(() => http.stop());
    const get = await curl(h1.ns, http.fileUrl);
    say(
      `curl ${http.fileUrl}: HTTP ${get.status}, ${get.bytes} bytes in ${get.seconds.toFixed(3)} s ` +
        `(${formatRate(get.bytesPerSecond * 8)})`,
    );

    const iperfServer = await startIperfServer(h2.ns, h2.ip);
    cleanups.push(() => iperfServer.stop());
    const tcp = await iperf(h1.ns, h2.ip, { seconds: 3 });
    say(`iperf3 TCP, 3 s: ${formatRate(tcp.bitsPerSecond)}, ${tcp.retransmits ?? 0} retransmits`);
    const udp = await iperf(h1.ns, h2.ip, { seconds: 2, udp: true, bitrate: '50M' });
    say(`iperf3 UDP, 2 s at 50 Mbit/s: ${udp.packets} datagrams, ${udp.lostPercent?.toFixed(2)} % lost`);

    const status = svc.status();
    const drops = status.drops.byReason;
    const ports = status.ports.map((p) => ({ name: p.name, rxPackets: p.rxPackets, txPackets: p.txPackets }));
    say('through the gateway:');
    for (const p of ports) say(`  ${p.name}: ${p.rxPackets} frames in, ${p.txPackets} frames out`);
    say(`  drops: ${Object.keys(drops).length ? JSON.stringify(drops) : 'none'}`);
    const text = await metrics.render();
    const sample = text
      .split('\n')
      .filter((l) => l.startsWith('nfvgw_port_rx_packets_total'))
      .slice(0, 2);
    say(`metrics (Prometheus text at ${api}/metrics), e.g.:`);
    for (const l of sample) say(`  ${l}`);

    const ok =
      pingGw.received === pingGw.sent &&
      pingHost.received > 0 &&
      get.status === 200 &&
      get.bytes === http.fileBytes &&
      tcp.bitsPerSecond > 0 &&
      (udp.packets ?? 0) > 0;
    return {
      ok,
      transport: type,
      xdpMode: p0.xdpMode,
      zeroCopy: p0.zeroCopy,
      hugePages: info.workers[0]!.hugePages,
      pingGateway: { sent: pingGw.sent, received: pingGw.received, rttAvgMs: pingGw.rttAvgMs },
      ping: { sent: pingHost.sent, received: pingHost.received, rttAvgMs: pingHost.rttAvgMs },
      http: {
        status: get.status,
        bytes: get.bytes,
        seconds: get.seconds,
        bitsPerSecond: get.bytesPerSecond * 8,
      },
      tcp: { bitsPerSecond: tcp.bitsPerSecond, retransmits: tcp.retransmits, seconds: tcp.seconds },
      udp: { packets: udp.packets, lostPercent: udp.lostPercent, bitsPerSecond: udp.bitsPerSecond },
      ports,
      drops,
    };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (app) await app.close();
    svc?.close();
    await labDown(prefix);
  }
}

/** A server on the demo's internet. */
const INTERNET_SERVER = '8.8.8.8';

async function vpcPart(type: 'af_xdp' | 'af_packet', say: Say) {
  const prefix = 'nfvgw-demo-vpc';
  say(
    `nfvgw demo, part 2: the gateway as the VXLAN hub of 4 VPCs, VMs on 3 hypervisors (kernel VXLAN VTEPs), and their way to the internet`,
  );
  const lab = await vpcLabUp({ ...VPC_SCENARIO, prefix, internet: { hosts: [INTERNET_SERVER] } });
  const vm = (n: string) => lab.vms.get(n)!;
  let svc: GatewayService | undefined;
  const servers: HttpServer[] = [];
  try {
    svc = GatewayService.start(vpcScenarioConfig(lab, { type }), silentLogger());
    for (const n of ['a1', 'a3', 'c1']) servers.push(await startHttpServer(vm(n).ns, vm(n).ip, 80));
    const pingOk = async (from: string, to: string) =>
      (await ping(vm(from).ns, to, { count: 3 })).received === 3;
    const who = async (from: string, url: string) => {
      const body = (await curl(vm(from).ns, url, { keepBody: true, timeoutS: 3 })).body;
      return /hello from \S+-(\w+)/.exec(body)?.[1] ?? null;
    };
    const checks: { what: string; ok: boolean }[] = [];
    const check = (what: string, ok: boolean) => {
      checks.push({ what, ok });
      say(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
    };
    check('a1 pings its subnet gateway 10.1.1.1 (proxy ARP)', await pingOk('a1', '10.1.1.1'));
    check('a1 (hv1) pings a2 (hv2) in the same subnet', await pingOk('a1', vm('a2').ip));
    check(
      'a1 fetches http://10.1.2.10/ from a3 in another subnet',
      (await who('a1', 'http://10.1.2.10/')) === 'a3',
    );
    check('a1 (vpc-a) pings b1 across the peering to vpc-b', await pingOk('a1', vm('b1').ip));
    check('a1 pings d1 in vpc-d through the transit gateway', await pingOk('a1', vm('d1').ip));
    check('10.1.1.10 is a1 seen from vpc-a (a2)', (await who('a2', 'http://10.1.1.10/')) === 'a1');
    check(
      '10.1.1.10 is c1 seen from vpc-c (c2): overlapping VPCs stay apart',
      (await who('c2', 'http://10.1.1.10/')) === 'c1',
    );
    const denied = await startHttpServer(vm('a3').ns, vm('a3').ip, 8080);
    servers.push(denied);
    check(
      'the network ACL of a2 denies tcp/8080 from a1',
      (await curl(vm('a1').ns, 'http://10.1.2.10:8080/', { timeoutS: 2 })).status === 0,
    );
    await nsRun(vm('a1').ns, 'ip', ['addr', 'add', '10.1.1.99/24', 'dev', 'eth0']);
    const spoof = await nsRun(
      vm('a1').ns,
      'ping',
      ['-n', '-c', '2', '-W', '1', '-I', '10.1.1.99', vm('a3').ip],
      { allowFail: true },
    );
    check('a1 sending from 10.1.1.99 (not its address) gets nowhere', /, 0 received/.test(spoof.stdout));
    const inet = lab.internet!;
    servers.push(await startHttpServer(inet.ns, INTERNET_SERVER, 80));
    servers.push(await startHttpServer(vm('b1').ns, vm('b1').ip, 80));
    const fetched = await curl(vm('a2').ns, `http://${INTERNET_SERVER}/`, { timeoutS: 3 });
    const natted = svc
      .flows({ ip: vm('a2').ip, protocol: 'tcp' })
      .flows.some((f) => f.kind === 'connection' && f.reply.dst === NAT_PUBLIC_IP);
    check(
      `a2 fetches http://${INTERNET_SERVER}/ on the internet through the NAT gateway, as ${NAT_PUBLIC_IP}`,
      fetched.status === 200 && natted,
    );
    const fromOutside = async (url: string) =>
      /hello from \S+-(\w+)/.exec((await curl(inet.ns, url, { keepBody: true, timeoutS: 3 })).body)?.[1] ??
      null;
    check(
      `the internet reaches b1 at its elastic IP ${EIP_B1}`,
      (await fromOutside(`http://${EIP_B1}/`)) === 'b1',
    );
    check(
      `the internet reaches a3 through the NAT gateway's port forward ${NAT_PUBLIC_IP}:8080`,
      (await fromOutside(`http://${NAT_PUBLIC_IP}:8080/`)) === 'a3',
    );
    const status = svc.status();
    const events = status.events;
    say(
      `  through the gateway: ${events.vxlan_decapsulated ?? 0} VXLAN packets in, ${events.vxlan_encapsulated ?? 0} out; ` +
        `${events.overlay_routed ?? 0} routed, ${events.overlay_switched ?? 0} switched, ${events.overlay_arp_reply_sent ?? 0} ARP answers; ` +
        `${events.nat_to_internet ?? 0} to and ${events.nat_from_internet ?? 0} from the internet, ` +
        `${status.conntrack.entries} connections tracked`,
    );
    say(`  drops: ${JSON.stringify(status.drops.byReason)}`);
    return { ok: checks.every((c) => c.ok), checks, events, drops: status.drops.byReason };
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    svc?.close();
    await vpcLabDown(prefix);
  }
}

async function lbPart(type: 'af_xdp' | 'af_packet', say: Say) {
  const prefix = 'nfvgw-demo-lb';
  say('nfvgw demo, part 3: the gateway as an L4 load balancer in front of three HTTP backends');
  const lab = await lbLabUp({ prefix });
  let svc: GatewayService | undefined;
  let servers: { stop(): Promise<void> } | undefined;
  const checks: { what: string; ok: boolean }[] = [];
  const check = (what: string, ok: boolean) => {
    checks.push({ what, ok });
    say(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  };
  const vip = '10.90.0.1';
  const service = (mode: 'dr' | 'nat', weights: number[]) => ({
    workers: [{ pollMode: 'adaptive' as const }],
    ports: [
      { name: 'front', type, interface: 'fr0', netns: lab.gwNs, addresses: ['10.70.0.1/24'] },
      { name: 'back', type, interface: 'be0', netns: lab.gwNs, addresses: ['10.80.0.1/24'] },
    ],
    healthCheckNetns: lab.routerNs,
    loadBalancers: [
      {
        id: 'web',
        vip,
        protocol: 'tcp' as const,
        port: 80,
        mode,
        scheduler: mode === 'dr' ? ('maglev' as const) : ('wrr' as const),
        backends: lab.backends.map((b, i) => ({ ip: b.ip, weight: weights[i] })),
        healthCheck: { type: 'http' as const, intervalMs: 300, timeoutMs: 200, rise: 2, fall: 2 },
      },
    ],
  });
  const fetchAll = async (n: number) => {
    const count: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await curl(lab.clientNs, `http://${vip}/`, { keepBody: true, timeoutS: 3 });
      const who = r.status === 200 ? r.body.trim() : 'failed';
      count[who] = (count[who] ?? 0) + 1;
    }
    return count;
  };
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
    return ok();
  };
  try {
    servers = await startBackendServers(lab, 80);
    await lbBackendMode(lab, 'dr', [vip]);
    svc = GatewayService.start(service('dr', [1, 1, 1]), silentLogger());
    const frontTx = () => svc!.status().ports[0]!.txPackets;
    const tx0 = frontTx();
    const dr = await fetchAll(30);
    check(
      `direct routing (Maglev): 30 requests to ${vip} answered by ${Object.entries(dr)
        .map(([b, n]) => `${b} ${n}`)
        .join(', ')}; the replies went around the gateway (${frontTx() - tx0} packets out of its front port)`,
      !dr.failed && Object.keys(dr).length === 3 && frontTx() - tx0 < 10,
    );
    await lbBackendMode(lab, 'nat', [vip]);
    await svc.replaceConfig(service('nat', [2, 1, 1]));
    await svc.flushFlows({});
    const nat = await fetchAll(40);
    check(
      `NAT, weights 2:1:1: ${Object.entries(nat)
        .map(([b, n]) => `${b} ${n}`)
        .join(', ')}`,
      nat.b1 === 20 && nat.b2 === 10 && nat.b3 === 10,
    );
    await stopBackend(lab, 'b2');
    const down = await until(() => svc!.loadBalancers()[0]!.backends[1]!.health === 'down');
    await new Promise((r) => setTimeout(r, 300));
    const without = await fetchAll(12);
    check(
      `b2 stopped: the health check took it out; 12 requests answered by ${Object.entries(without)
        .map(([b, n]) => `${b} ${n}`)
        .join(', ')}`,
      down && !without.failed && !without.b2,
    );
    say('  nfvgw lb:');
    for (const b of svc.loadBalancers()[0]!.backends)
      say(
        `    ${b.ip}:${b.port} weight ${b.weight} ${b.health}${b.lastError ? ` (${b.lastError})` : ''}, ${b.connections} connections, ${b.packets} packets`,
      );
    const status = svc.status();
    say(`  drops: ${JSON.stringify(status.drops.byReason)}`);
    return { ok: checks.every((c) => c.ok), checks };
  } finally {
    await servers?.stop().catch(() => undefined);
    svc?.close();
    await lbLabDown(prefix);
  }
}
