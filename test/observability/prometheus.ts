// Test tooling: a real Prometheus server (Debian package `prometheus`) on
// 127.0.0.1 with a temporary config and data dir, and a small client for its
// HTTP API. The process is tracked by PID and killed when the test ends, also
// on failure; the data dir is removed. Must never listen on, or scrape, an
// address outside 127.0.0.0/8.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor, type Cleanup } from '../e2e/replica-cluster.ts';
import { freePort } from '../../replica/server/etcdapi/testing-etcd.ts';

export const PROMETHEUS_BIN = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

export interface ScrapeJob {
  job_name: string;
  honor_labels?: boolean;
  static_configs: { targets: string[]; labels?: Record<string, string> }[];
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface QueryResult {
  resultType: string;
  result: Sample[];
}

export class PrometheusQueryError extends Error {
  readonly errorType: string;
  constructor(errorType: string, message: string) {
    super(message);
    this.name = 'PrometheusQueryError';
    this.errorType = errorType;
  }
}

export interface RuleState {
  name: string;
  query: string;
  duration: number;
  health: string;
  lastError?: string;
  state?: string;
  type: string;
  labels?: Record<string, string>;
  alerts?: { labels: Record<string, string>; state: string }[];
}


function assertLoopback(target: string): void {
  const host = target.replace(/:\d+$/, '');
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`refusing to scrape ${target}: only 127.0.0.0/8 targets are allowed in tests`);
}

export class Prometheus {
  readonly url: string;
  readonly dir: string;
  readonly log: string[] = [];
  private readonly proc: ChildProcess;

  private constructor(url: string, dir: string, proc: ChildProcess) {
    this.url = url;
    this.dir = dir;
    this.proc = proc;
    const keep = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line) this.log.push(line);
      if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
  }

  /**
   * start runs Prometheus scraping `jobs` every `scrapeInterval`, with
   * `ruleFiles` (paths) evaluated as often, and waits until it is ready.
   */
  static async start(t: Cleanup, opts: { jobs: ScrapeJob[]; ruleFiles?: string[]; scrapeInterval?: string }): Promise<Prometheus> {
    if (!fs.existsSync(PROMETHEUS_BIN)) {
      throw new Error(`${PROMETHEUS_BIN} not found: install it with \`apt-get install -y --no-install-recommends prometheus\` (or set PROMETHEUS)`);
    }
    for (const j of opts.jobs) for (const sc of j.static_configs) sc.targets.forEach(assertLoopback);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-prometheus-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const interval = opts.scrapeInterval ?? '1s';
    const config = {
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: opts.ruleFiles ?? [],
      scrape_configs: opts.jobs,
    };
    // JSON is YAML: no YAML writer needed.
    const configFile = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const proc = spawn(
        PROMETHEUS_BIN,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=1h',
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const p = new Prometheus(`http://127.0.0.1:${port}`, dir, proc);
      t.after(() => p.kill());
      try {
        await waitFor(
          'Prometheus to be ready',
          async () => {
            if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`prometheus exited (${proc.exitCode ?? proc.signalCode}):\n${p.log.slice(-10).join('\n')}`);
            const res = await fetch(`${p.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
            return res.ok;
          },
          20_000,
        );
        return p;
      } catch (e) {
        lastError = e as Error;
        p.kill();
        if (!/address already in use/.test(p.log.join('\n'))) break;
      }
    }
    throw lastError!;
  }

  /** kill stops the server by PID (SIGKILL: its data dir is thrown away). */
  kill(): void {
    const p = this.proc;
    if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private async api<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`${this.url}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; errorType?: string; error?: string };
    if (body.status !== 'success') throw new PrometheusQueryError(body.errorType ?? 'unknown', body.error ?? `HTTP ${res.status}`);
    return body.data;
  }

  /** query evaluates an instant PromQL query (at `time`, seconds, or now). */
  query(expr: string, time?: number): Promise<QueryResult> {
    const q = new URLSearchParams({ query: expr });
    if (time !== undefined) q.set('time', String(time));
    return this.api<QueryResult>(`/api/v1/query?${q}`);
  }

  /** rules lists the loaded rules with their health and, for alerts, their active alerts. */
  async rules(): Promise<RuleState[]> {
    const data = await this.api<{ groups: { rules: RuleState[] }[] }>('/api/v1/rules');
    return data.groups.flatMap((g) => g.rules);
  }

  /** targets lists the active scrape targets with their health. */
  async targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]> {
    const data = await this.api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>('/api/v1/targets');
    return data.activeTargets;
  }
}
