// FAKE, test-only: a stand-in for the operator's /metrics endpoint until
// operator/main.ts exists, so every operator dashboard query and alert can be
// checked against a real Prometheus now. It serves the metric names, types
// and labels the operator must serve (OPERATOR_METRICS, the contract the
// dashboards and alerts are written against) with values derived from a live
// group: a member is healthy while its /healthz answers 200 (the process is
// up and its raft loop runs; /readyz flickers while a member applies, so the
// fake does not use it). It reconciles
// nothing and must never be mistaken for, or shipped as, the operator.
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Cleanup } from '../e2e/replica-cluster.ts';

/** OperatorMetric describes one metric of the operator's contract. */
export interface OperatorMetric {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  labels: string[];
  help: string;
}

/**
 * OPERATOR_METRICS: what the operator must export for the dashboards and
 * alerts of charts/replicant. Per-group series carry the group's own
 * `namespace` and `group` labels (the operator watches many namespaces, so
 * its scrape target's namespace is not the group's; scrape it with
 * honor_labels). Label values should be initialised to 0 for every known
 * reason/result so rate() has a series before the first event.
 */
export const OPERATOR_METRICS: OperatorMetric[] = [
  { name: 'replicant_operator_leader', type: 'gauge', labels: [], help: '1 on the operator instance holding the leader lease, else 0.' },
  { name: 'replicant_operator_reconciles_total', type: 'counter', labels: ['namespace', 'group', 'result'], help: 'Reconcile passes, by result (success, requeue, error).' },
  { name: 'replicant_operator_reconcile_errors_total', type: 'counter', labels: ['namespace', 'group'], help: 'Reconcile passes that failed.' },
  { name: 'replicant_operator_reconcile_duration_seconds', type: 'histogram', labels: ['namespace', 'group'], help: 'Time one reconcile pass takes.' },
  { name: 'replicant_operator_members', type: 'gauge', labels: ['namespace', 'group', 'health'], help: 'Members of the group by observed health.' },
  { name: 'replicant_operator_reconfigurations_total', type: 'counter', labels: ['namespace', 'group', 'reason'], help: 'Membership changes started, by reason.' },
  { name: 'replicant_operator_replacements_total', type: 'counter', labels: ['namespace', 'group', 'reason'], help: 'Members replaced, by the fault that condemned them.' },
  { name: 'replicant_operator_fault_tolerance', type: 'gauge', labels: ['namespace', 'group', 'kind'], help: 'Member failures the group survives: kind="desired" by spec, kind="current" now.' },
  { name: 'replicant_operator_quorate', type: 'gauge', labels: ['namespace', 'group'], help: '1 while a majority of the voters is healthy.' },
  { name: 'replicant_operator_reconfiguring', type: 'gauge', labels: ['namespace', 'group'], help: 'Seconds since the in-flight membership change started; 0 when none.' },
];

export interface ObservedMember {
  name: string;
  /** base URL of the member's /metrics /healthz /readyz server */
  metricsUrl: string;
}

export interface FakeOperatorExporter {
  /** host:port to put in a scrape config */
  target: string;
  url: string;
  close(): Promise<void>;
}

const HEALTH = ['healthy', 'unhealthy'];
const RESULTS = ['success', 'requeue', 'error'];
const RECONFIGURATION_REASONS = ['replace', 'scale-up', 'scale-down'];
const REPLACEMENT_REASONS = ['pod-failed', 'crash-looping', 'unready', 'node-lost', 'lagging', 'divergent'];

/**
 * startFakeOperatorExporter serves the operator's metrics for one group on
 * 127.0.0.1 (an ephemeral port); each scrape probes the members first.
 */
export async function startFakeOperatorExporter(
  t: Cleanup,
  opts: { namespace: string; group: string; desiredFaultTolerance: number; members: () => ObservedMember[] },
): Promise<FakeOperatorExporter> {
  const registry = new Registry();
  const r = [registry];
  const byName = new Map(OPERATOR_METRICS.map((m) => [m.name, m]));
  const spec = (name: string) => {
    const m = byName.get(name)!;
    return { name: m.name, help: m.help, labelNames: m.labels, registers: r };
  };
  const leader = new Gauge(spec('replicant_operator_leader'));
  const reconciles = new Counter(spec('replicant_operator_reconciles_total'));
  const errors = new Counter(spec('replicant_operator_reconcile_errors_total'));
  const duration = new Histogram({ ...spec('replicant_operator_reconcile_duration_seconds'), buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] });
  const members = new Gauge(spec('replicant_operator_members'));
  const reconfigurations = new Counter(spec('replicant_operator_reconfigurations_total'));
  const replacements = new Counter(spec('replicant_operator_replacements_total'));
  const faultTolerance = new Gauge(spec('replicant_operator_fault_tolerance'));
  const quorate = new Gauge(spec('replicant_operator_quorate'));
  const reconfiguring = new Gauge(spec('replicant_operator_reconfiguring'));

  const g = { namespace: opts.namespace, group: opts.group };
  leader.set(1);
  for (const result of RESULTS) reconciles.inc({ ...g, result }, 0);
  errors.inc(g, 0);
  for (const reason of RECONFIGURATION_REASONS) reconfigurations.inc({ ...g, reason }, 0);
  for (const reason of REPLACEMENT_REASONS) replacements.inc({ ...g, reason }, 0);
  reconfiguring.set(g, 0);
  faultTolerance.set({ ...g, kind: 'desired' }, opts.desiredFaultTolerance);

  /** observe is the fake's "reconcile": probe every member and publish what it saw. */
  const observe = async () => {
    const started = performance.now();
    const ms = opts.members();
    const ready = await Promise.all(
      ms.map((m) =>
        fetch(`${m.metricsUrl}/healthz`, { signal: AbortSignal.timeout(800) }).then(
          (res) => res.ok,
          () => false,
        ),
      ),
    );
    const healthy = ready.filter(Boolean).length;
    const quorum = Math.floor(ms.length / 2) + 1;
    members.set({ ...g, health: 'healthy' }, healthy);
    members.set({ ...g, health: 'unhealthy' }, ms.length - healthy);
    faultTolerance.set({ ...g, kind: 'current' }, Math.max(0, healthy - quorum));
    quorate.set(g, healthy >= quorum ? 1 : 0);
    reconciles.inc({ ...g, result: 'success' });
    duration.observe(g, (performance.now() - started) / 1000);
  };
  for (const h of HEALTH) members.set({ ...g, health: h }, 0);

  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    observe()
      .then(() => registry.metrics())
      .then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (e) => res.writeHead(500).end(String(e)),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.after(close);
  return { target: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}/metrics`, close };
}
