// A Prometheus metric whose values come from elsewhere (the data plane's
// own counters) at scrape time. prom-client's Counter can only be
// incremented, but our counters are already totals kept by the workers;
// this reports them as they are, through the registry's metric interface.
import type { Registry } from 'prom-client';

export type Labels = Record<string, string | number>;

export interface Sample {
  labels?: Labels;
  value: number;
  /** For histogram series: the full name (`..._bucket`, `..._sum`, `..._count`). */
  metricName?: string;
}

export class ExternalMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  readonly #read: () => Sample[];

  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', read: () => Sample[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#read = read;
  }

  get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.#read(),
    };
  }

  reset(): void {}

  register(registry: Registry): this {
    // The registry takes any object with name, help, type and get().
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
    return this;
  }
}

/** Histogram samples from per-bin counts with inclusive upper bounds. */
export function histogramSamples(
  name: string,
  labels: Labels,
  bounds: number[],
  counts: number[],
  sum: number,
) {
  const out: Sample[] = [];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += counts[i] ?? 0;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
  });
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
  out.push({ metricName: `${name}_sum`, labels, value: sum });
  out.push({ metricName: `${name}_count`, labels, value: cumulative });
  return out;
}
