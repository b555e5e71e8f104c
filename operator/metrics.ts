// The operator's Prometheus metrics (prefix replicant_operator_). Must never
// compute anything: the controller observes values where they happen.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;

export function createOperatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'replicant_operator_' });
  const r = [registry];
  return {
    registry,
    reconciles: new Counter({ name: 'replicant_operator_reconciles_total', help: 'Reconcile passes, by group and result.', labelNames: ['namespace', 'group', 'result'], registers: r }),
    reconcileErrors: new Counter({ name: 'replicant_operator_reconcile_errors_total', help: 'Reconcile passes that failed, by group.', labelNames: ['namespace', 'group'], registers: r }),
    reconcileSeconds: new Histogram({
      name: 'replicant_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile pass.',
      labelNames: ['namespace', 'group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: r,
    }),
    members: new Gauge({ name: 'replicant_operator_members', help: 'Members by health.', labelNames: ['namespace', 'group', 'health'], registers: r }),
    reconfigurations: new Counter({
      name: 'replicant_operator_reconfigurations_total',
      help: 'Membership changes started, by reason.',
      labelNames: ['namespace', 'group', 'reason'],
      registers: r,
    }),
    replacements: new Counter({
      name: 'replicant_operator_replacements_total',
      help: 'Members replaced, by reason.',
      labelNames: ['namespace', 'group', 'reason'],
      registers: r,
    }),
    faultTolerance: new Gauge({
      name: 'replicant_operator_fault_tolerance',
      help: 'Member failures the group survives: desired (spec) and current.',
      labelNames: ['namespace', 'group', 'kind'],
      registers: r,
    }),
    quorate: new Gauge({ name: 'replicant_operator_quorate', help: '1 if a quorum of the group is healthy.', labelNames: ['namespace', 'group'], registers: r }),
    reconfiguring: new Gauge({ name: 'replicant_operator_reconfiguring', help: 'Seconds since the in-flight reconfiguration started; 0 when none.', labelNames: ['namespace', 'group'], registers: r }),
    leader: new Gauge({ name: 'replicant_operator_leader', help: '1 on the operator replica that holds the leader lease.', registers: r }),
  };
}
