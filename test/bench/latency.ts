// Latency samples of one benchmark run and their summary (exact percentiles
// over every sample, in milliseconds). Samples from several rounds of the same
// workload merge by concatenation. It must never drop a sample silently.

/** LatencySummary is what the tables show for one run (all values in ms). */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** SampleBuffer is a growable Float64Array of latencies in ms. */
export class SampleBuffer {
  private data: Float64Array;
  private n = 0;

  constructor(initial = 1 << 16) {
    this.data = new Float64Array(initial);
  }

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  get length(): number {
    return this.n;
  }

  /** samples returns a copy holding exactly the recorded samples. */
  samples(): Float64Array {
    return this.data.slice(0, this.n);
  }
}

/** percentile reads the q-quantile (0..1) of sorted samples by nearest rank. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** summarize computes the summary of any number of sample arrays taken together. */
export function summarize(...parts: Float64Array[]): LatencySummary {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  all.sort();
  let sum = 0;
  for (let i = 0; i < all.length; i++) sum += all[i];
  return {
    count: total,
    mean: total ? sum / total : NaN,
    p50: percentile(all, 0.5),
    p90: percentile(all, 0.9),
    p99: percentile(all, 0.99),
    p999: percentile(all, 0.999),
    max: total ? all[total - 1] : NaN,
  };
}

/** median of a list of numbers (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
