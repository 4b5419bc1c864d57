// The gateway's Prometheus metrics. One scrape reads the data plane's
// counters once (per-worker blocks summed by the addon call) and serves
// them as they are; process metrics come from prom-client.
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import type { GatewayStats } from '../dataplane/native.js';
import { loadAddon } from '../dataplane/native.js';
import type { GatewayService } from '../service/gateway-service.js';
import type { HealthState } from '../service/health.js';
import { ExternalMetric, histogramSamples, type Sample } from './external.js';

export class MetricsExporter {
  readonly registry = new Registry();
  /** API requests refused for their token (src/api/auth.ts), by reason. */
  readonly apiAuthFailures = new Counter({
    name: 'nfvgw_api_auth_failures_total',
    help: 'API requests refused for a missing, malformed, invalid or read-only token, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly #svc: GatewayService;
  #stats: GatewayStats | undefined;

  constructor(svc: GatewayService) {
    this.#svc = svc;
    collectDefaultMetrics({ register: this.registry });
    this.#define();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition of every metric, read fresh from the data plane. */
  async render(): Promise<string> {
    this.#stats = this.#svc.dataplane.closed ? undefined : this.#svc.stats();
    try {
      return await this.registry.metrics();
    } finally {
      this.#stats = undefined;
    }
  }

  #define(): void {
    const addon = loadAddon();
    const svc = this.#svc;
    const info = svc.info;
    const r = this.registry;
    const stats = (): GatewayStats | undefined => this.#stats;
    const perQueue =
      (pick: (q: GatewayStats['ports'][number]['queues'][number]) => number) => (): Sample[] => {
        const s = stats();
        if (!s) return [];
        return s.ports.flatMap((p) =>
          p.queues.map((q) => ({ labels: { port: p.name, queue: q.queue }, value: pick(q) })),
        );
      };
    const perWorker = (pick: (w: GatewayStats['workers'][number]) => number) => (): Sample[] =>
      stats()?.workers.map((w) => ({ labels: { worker: w.id }, value: pick(w) })) ?? [];
    const one = (pick: (s: GatewayStats) => number) => (): Sample[] => {
      const s = stats();
      return s ? [{ value: pick(s) }] : [];
    };

    new ExternalMetric(
      'nfvgw_port_rx_packets_total',
      'Frames received per port and queue',
      'counter',
      perQueue((q) => q.rxPackets),
    ).register(r);
    new ExternalMetric(
      'nfvgw_port_rx_bytes_total',
      'Bytes received per port and queue',
      'counter',
      perQueue((q) => q.rxBytes),
    ).register(r);
    new ExternalMetric(
      'nfvgw_port_tx_packets_total',
      'Frames transmitted per port and queue',
      'counter',
      perQueue((q) => q.txPackets),
    ).register(r);
    new ExternalMetric(
      'nfvgw_port_tx_bytes_total',
      'Bytes transmitted per port and queue',
      'counter',
      perQueue((q) => q.txBytes),
    ).register(r);
    new ExternalMetric(
      'nfvgw_port_tx_dropped_total',
      'Frames the gateway could not hand to the kernel for transmission',
      'counter',
      perQueue((q) => q.txDropped),
    ).register(r);
    new ExternalMetric(
      'nfvgw_port_kernel_rx_dropped_total',
      'Frames the kernel dropped before the gateway saw them (ring full, no free buffer)',
      'counter',
      perQueue((q) => q.kernelRxDropped),
    ).register(r);
    new ExternalMetric(
      'nfvgw_port_kernel_rx_fill_empty_total',
      'AF_XDP: frames the kernel dropped because the fill ring had no free buffer',
      'counter',
      perQueue((q) => q.kernelRxFillEmpty),
    ).register(r);
    new ExternalMetric('nfvgw_port_info', 'Ports and how they are attached (value 1)', 'gauge', () =>
      info.ports.map((p) => ({
        labels: {
          port: p.name,
          type: p.kind,
          interface: p.interface,
          xdp_mode: p.xdpMode ?? 'none',
          zero_copy: String(p.zeroCopy),
        },
        value: 1,
      })),
    ).register(r);

    new ExternalMetric(
      'nfvgw_drops_total',
      'Packets dropped, by reason (summed over workers)',
      'counter',
      () => {
        const s = stats();
        if (!s) return [];
        return addon.dropReasons.map((d, i) => ({
          labels: { reason: d.name },
          value: s.workers.reduce((a, w) => a + (w.drops[i] ?? 0), 0),
        }));
      },
    ).register(r);
    new ExternalMetric(
      'nfvgw_pipeline_events_total',
      'Things the pipeline did besides forwarding, by event',
      'counter',
      () => {
        const s = stats();
        if (!s) return [];
        return addon.events.map((e, i) => ({
          labels: { event: e.name },
          value: s.workers.reduce((a, w) => a + (w.events[i] ?? 0), 0),
        }));
      },
    ).register(r);

    new ExternalMetric(
      'nfvgw_worker_busy_seconds_total',
      'Time workers spent in loop iterations that moved packets',
      'counter',
      perWorker((w) => w.busyNs / 1e9),
    ).register(r);
    new ExternalMetric(
      'nfvgw_worker_idle_seconds_total',
      'Time workers spent polling without finding packets, sleeps included',
      'counter',
      perWorker((w) => w.idleNs / 1e9),
    ).register(r);
    new ExternalMetric(
      'nfvgw_worker_loops_total',
      'Worker loop iterations, busy or idle',
      'counter',
      () =>
        stats()?.workers.flatMap((w) => [
          { labels: { worker: w.id, state: 'busy' }, value: w.busyLoops },
          { labels: { worker: w.id, state: 'idle' }, value: w.idleLoops },
        ]) ?? [],
    ).register(r);
    new ExternalMetric(
      'nfvgw_worker_sleeps_total',
      'Times an adaptive worker blocked in poll() for lack of traffic',
      'counter',
      perWorker((w) => w.sleeps),
    ).register(r);
    new ExternalMetric(
      'nfvgw_worker_heartbeat_age_seconds',
      'Time since the worker last started a loop iteration (a stalled worker grows this)',
      'gauge',
      perWorker((w) => Math.max(0, w.heartbeatAgeMs / 1e3)),
    ).register(r);
    new ExternalMetric(
      'nfvgw_worker_buffers_free',
      'Packet buffers free in the worker pool (a pool running dry drops as rx_no_buffer)',
      'gauge',
      perWorker((w) => w.poolFree),
    ).register(r);
    new ExternalMetric(
      'nfvgw_worker_burst_size',
      'Frames per non-empty receive burst',
      'histogram',
      () =>
        stats()?.workers.flatMap((w) =>
          histogramSamples(
            'nfvgw_worker_burst_size',
            { worker: w.id },
            addon.burstBins,
            w.burstHistogram,
            w.burstSum,
          ),
        ) ?? [],
    ).register(r);

    new ExternalMetric(
      'nfvgw_hugepages_in_use',
      '2 MiB huge pages the gateway has mapped (0: running on normal pages)',
      'gauge',
      one((s) => Math.round(s.memory.hugeBytes / (2 << 20))),
    ).register(r);
    new ExternalMetric('nfvgw_memory_bytes', 'Packet-buffer and ring memory, by page kind', 'gauge', () => {
      const s = stats();
      return s
        ? [
            { labels: { kind: 'hugepage' }, value: s.memory.hugeBytes },
            { labels: { kind: 'normal' }, value: s.memory.normalBytes },
          ]
        : [];
    }).register(r);
    new ExternalMetric(
      'nfvgw_hugepages_reserved',
      'Huge pages the gateway added to vm.nr_hugepages (given back on exit)',
      'gauge',
      one((s) => s.memory.reservedPages),
    ).register(r);

    new ExternalMetric(
      'nfvgw_config_generation',
      'Generation of the configuration the data plane runs',
      'gauge',
      () => [{ value: svc.generation }],
    ).register(r);
    new ExternalMetric('nfvgw_config_applies_total', 'Configuration changes, by result', 'counter', () => [
      { labels: { result: 'ok' }, value: svc.applies.ok },
      { labels: { result: 'failed' }, value: svc.applies.failed },
    ]).register(r);
    new ExternalMetric(
      'nfvgw_config_apply_seconds',
      'Duration of the last successful configuration change',
      'gauge',
      () => [{ value: svc.applies.lastSeconds }],
    ).register(r);
    new ExternalMetric(
      'nfvgw_routes',
      'Routes in the data plane (connected and local included)',
      'gauge',
      one((s) => s.routes),
    ).register(r);
    new ExternalMetric('nfvgw_neighbors', 'Neighbor (ARP) entries, by state', 'gauge', () => {
      const s = stats();
      return s
        ? [
            { labels: { state: 'resolved' }, value: s.neighbors.resolved },
            { labels: { state: 'incomplete' }, value: s.neighbors.incomplete },
          ]
        : [];
    }).register(r);
    new ExternalMetric(
      'nfvgw_neighbor_table_capacity',
      'Size of the neighbor table',
      'gauge',
      one((s) => s.neighbors.capacity),
    ).register(r);
    const natPorts = (
      name: string,
      help: string,
      pick: (p: ReturnType<GatewayService['natPorts']>[number]) => number,
      kind: 'gauge' | 'counter' = 'gauge',
    ) =>
      new ExternalMetric(name, help, kind, () =>
        svc.dataplane.closed
          ? []
          : svc.natPorts().map((p) => ({
              labels: { nat_gateway: p.natGateway, public_ip: p.publicIp, protocol: p.protocol },
              value: pick(p),
            })),
      ).register(r);
    natPorts(
      'nfvgw_nat_ports_in_use',
      'Public ports held by NAT mappings, per NAT gateway address and protocol',
      (p) => p.inUse,
    );
    natPorts(
      'nfvgw_nat_ports_capacity',
      'Public ports a NAT gateway address can map, per protocol',
      (p) => p.capacity,
    );
    natPorts(
      'nfvgw_nat_port_allocation_failures_total',
      'New connections refused for want of a free public port, per NAT gateway address and protocol',
      (p) => p.allocationFailures,
      'counter',
    );
    // The load balancers, per service and backend. One read of the data
    // plane's counters per scrape, shared by the four metrics.
    let lbAt = -1;
    let lbViews: ReturnType<GatewayService['loadBalancers']> = [];
    const lb = () => {
      const now = Date.now();
      if (now - lbAt > 100) {
        lbViews = svc.dataplane.closed ? [] : svc.loadBalancers();
        lbAt = now;
      }
      return lbViews;
    };
    const perBackend = (
      name: string,
      help: string,
      kind: 'gauge' | 'counter',
      pick: (b: ReturnType<GatewayService['loadBalancers']>[number]['backends'][number]) => number | null,
    ) =>
      new ExternalMetric(name, help, kind, () =>
        lb().flatMap((s) =>
          s.backends.flatMap((b) => {
            const value = pick(b);
            return value === null ? [] : [{ labels: { service: s.id, backend: `${b.ip}:${b.port}` }, value }];
          }),
        ),
      ).register(r);
    perBackend(
      'nfvgw_lb_backend_connections_total',
      'Connections scheduled onto a backend',
      'counter',
      (b) => b.connections,
    );
    perBackend(
      'nfvgw_lb_backend_active_connections',
      'Connections of a backend in the connection table',
      'gauge',
      (b) => b.activeConnections,
    );
    perBackend(
      'nfvgw_lb_backend_packets_total',
      'Packets sent to a backend (and, nat and fullnat, from it)',
      'counter',
      (b) => b.packets,
    );
    perBackend(
      'nfvgw_lb_backend_bytes_total',
      'IP bytes sent to a backend (and, nat and fullnat, from it)',
      'counter',
      (b) => b.bytes,
    );
    perBackend(
      'nfvgw_lb_backend_up',
      'Health of a backend: 1 up, 0 down (services with a health check)',
      'gauge',
      (b) => (b.health === 'unchecked' ? null : b.health === 'up' ? 1 : 0),
    );
    perBackend(
      'nfvgw_lb_backend_weight',
      'Configured weight of a backend (0: draining)',
      'gauge',
      (b) => b.weight,
    );
    const perCheck = (
      name: string,
      help: string,
      kind: 'gauge' | 'counter',
      pick: (h: HealthState) => number | null,
    ) =>
      new ExternalMetric(name, help, kind, () =>
        svc.healthStates().flatMap((h) => {
          const value = pick(h);
          // The backend as the other metrics name it (the checked port may differ).
          const backend = h.key.slice(h.key.indexOf('/') + 1);
          return value === null ? [] : [{ labels: { service: h.service, backend }, value }];
        }),
      ).register(r);
    perCheck('nfvgw_lb_health_checks_total', 'Health checks run', 'counter', (h) => h.checks);
    perCheck('nfvgw_lb_health_check_failures_total', 'Health checks failed', 'counter', (h) => h.failures);
    perCheck(
      'nfvgw_lb_health_transitions_total',
      'Times a backend went up or down',
      'counter',
      (h) => h.transitions,
    );
    perCheck('nfvgw_lb_health_check_latency_seconds', 'Duration of the last health check', 'gauge', (h) =>
      h.lastLatencyMs === null ? null : h.lastLatencyMs / 1000,
    );
    const eventIndex = (name: string) => addon.events.findIndex((e) => e.name === name);
    const created = eventIndex('conntrack_created');
    const removed = eventIndex('conntrack_removed');
    new ExternalMetric(
      'nfvgw_conntrack_entries',
      'Connections in the connection table',
      'gauge',
      one((s) => s.workers.reduce((a, w) => a + (w.events[created] ?? 0) - (w.events[removed] ?? 0), 0)),
    ).register(r);
    new ExternalMetric(
      'nfvgw_conntrack_capacity',
      'Connections the connection table holds (conntrack.maxConnections)',
      'gauge',
      one((s) => s.conntrack.capacity),
    ).register(r);
    new ExternalMetric(
      'nfvgw_conntrack_memory_bytes',
      'Memory of the connection table (entries and index): reserved, and resident (touched so far)',
      'gauge',
      () => {
        const s = stats();
        return s
          ? [
              { labels: { kind: 'reserved' }, value: s.conntrack.bytes },
              { labels: { kind: 'resident' }, value: s.conntrack.residentBytes },
            ]
          : [];
      },
    ).register(r);
  }
}
