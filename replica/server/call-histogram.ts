// The latency histogram of client and admin calls by method and status code,
// kept as plain counters per (method, code) and read by prom-client's
// registry at scrape time in the shape prom-client's own Histogram gives:
// that Histogram builds and hashes a label set on every observation, which
// on a busy leader was a few per cent of all it allocated per put
// (docs/benchmarks.md, item 29). It must never change the exposed series:
// the same names, labels, cumulative buckets with +Inf, _sum and _count.
import type { Registry } from 'prom-client';

interface Series {
  /** the labels every line of this series carries (kept: the registry caches their formatting by identity) */
  readonly labels: { method: string; code: string };
  /** observations per bucket, not cumulative; the last slot counts those above every bound */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** ExportedValue is one line of the exposition, as prom-client's metrics hand it to the registry. */
export interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
}

export interface CallHistogramOptions {
  name: string;
  help: string;
  /** upper bounds in seconds, ascending */
  buckets: number[];
  registers: Registry[];
}

/** CallHistogram is registered as a metric on each registry given (its name, help, type and get are what a registry reads). */
export class CallHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Map<string, Series>>();
  /** every series in the order of its first observation, the order prom-client exposes them in */
  readonly #order: Series[] = [];

  constructor(o: CallHistogramOptions) {
    if (o.buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= o.buckets[i - 1]))) {
      throw new Error(`${o.name}: buckets must be finite and ascending, got ${o.buckets.join(', ')}`);
    }
    this.name = o.name;
    this.help = o.help;
    this.#bounds = [...o.buckets];
    for (const r of o.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** observe counts one call of `method` that ended with `code` after `seconds`. */
  observe(method: string, code: string, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`${this.name}: not a valid number of seconds: ${seconds}`);
    let byCode = this.#series.get(method);
    if (byCode === undefined) this.#series.set(method, (byCode = new Map()));
    let s = byCode.get(code);
    if (s === undefined) {
      s = { labels: { method, code }, counts: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
      byCode.set(code, s);
      this.#order.push(s);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  /** getForPromString is what the registry formats: per series, cumulative buckets, +Inf, _sum and _count. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#order) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: bucket });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** get is the same with every line's labels in one set, as prom-client's Histogram.get gives them. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName }));
    return data;
  }

  reset(): void {
    this.#series.clear();
    this.#order.length = 0;
  }
}
