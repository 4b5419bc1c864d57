// `npm run demo`: the main job, end to end, as a new user sees it. Builds the
// lab, starts the gateway on AF_XDP between two hosts, sends real traffic
// through it (ping, an HTTP download with curl from a real HTTP server, an
// iperf3 TCP run and a UDP run), prints what went through and tears it all
// down. With --json the last line is one JSON object with the same results.
import { createApiServer } from '../api/server.js';
import { labDown, labGatewayConfig, labUp } from '../lab/topology.js';
import { curl, iperf, ping, startHttpServer, startIperfServer } from '../lab/traffic.js';
import { silentLogger } from '../log/logger.js';
import { MetricsExporter } from '../metrics/metrics.js';
import { GatewayService } from '../service/gateway-service.js';
import { formatRate } from './output.js';

export async function demo(opts: { json?: boolean; type?: 'af_xdp' | 'af_packet' }): Promise<boolean> {
  const type = opts.type ?? 'af_xdp';
  const say = (s: string) => {
    if (!opts.json) console.log(s);
  };
  const prefix = 'nfvgw-demo';
  say(`nfvgw demo: two hosts in network namespaces, the gateway between them on ${type}`);
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
    say(ok ? 'demo: everything went through.' : 'demo: something did not go through (see above).');
    if (opts.json) {
      console.log(
        JSON.stringify({
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
        }),
      );
    }
    return ok;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (app) await app.close();
    svc?.close();
    await labDown(prefix);
  }
}
