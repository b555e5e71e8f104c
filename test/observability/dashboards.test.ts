// Static checks of the Grafana dashboards (no Prometheus needed): valid
// Grafana JSON model with a data source variable and namespace/group
// variables, every panel query filtered by both variables, every metric the
// dashboards and the alert rules name really exported (the replica's own
// metric definitions, the operator's contract), and the panels the design
// asks for present. test/observability/prometheus.test.ts evaluates the
// same queries against live processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReplicaMetrics } from '../../replica/server/metrics.ts';
import { OPERATOR_METRICS } from './fake-operator-exporter.ts';
import {
  DASHBOARD_FILES,
  allPanels,
  dashboardQueries,
  labelValuesAsPromQL,
  metricSelectors,
  readDashboard,
  variableQuery,
  variablesUsed,
} from './dashboards.ts';
import { allAlerts, readRules } from './rules.ts';

/** GRAFANA_BUILTINS are the variables Grafana itself provides. */
const GRAFANA_BUILTINS = new Set(['__rate_interval', '__interval', '__range']);
/** OPERATOR_WIDE metrics describe the operator itself, not a group: no namespace/group filter. */
const OPERATOR_WIDE = new Set(['replicant_operator_leader']);

function exportedNames(): Set<string> {
  const names = new Set<string>(['up']);
  const expand = (name: string, type: string) => {
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  };
  const replica = createReplicaMetrics({ member: 'catalogue' });
  for (const m of replica.registry.getMetricsAsArray()) expand(m.name, (m as unknown as { type: string }).type);
  replica.registry.clear();
  for (const m of OPERATOR_METRICS) expand(m.name, m.type);
  return names;
}

const EXPORTED = exportedNames();

test('dashboards: Grafana JSON model, unique uids, datasource + namespace + group variables', () => {
  const uids = new Set<string>();
  for (const file of DASHBOARD_FILES) {
    const d = readDashboard(file);
    assert.ok(d.uid && !uids.has(d.uid), `${file}: a unique uid`);
    uids.add(d.uid);
    assert.match(d.title, /^replicant \/ /, `${file}: title`);
    assert.ok(d.tags?.includes('replicant'), `${file}: tagged replicant`);
    assert.equal(typeof d.schemaVersion, 'number');
    const vars = new Map(d.templating.list.map((v) => [v.name, v]));
    const ds = vars.get('datasource');
    assert.equal(ds?.type, 'datasource', `${file}: a datasource variable`);
    assert.equal(ds?.query, 'prometheus');
    for (const name of ['namespace', 'group']) {
      const v = vars.get(name);
      assert.equal(v?.type, 'query', `${file}: a ${name} query variable`);
      const q = variableQuery(v!)!;
      assert.equal(labelValuesAsPromQL(q).label, name, `${file}: $${name} lists ${name} label values`);
    }
    assert.match(variableQuery(vars.get('group')!)!, /namespace=~"\$namespace"/, `${file}: $group depends on $namespace`);
  }
});

test('dashboards: every panel has a position, the datasource variable and well-formed queries', () => {
  for (const file of DASHBOARD_FILES) {
    const d = readDashboard(file);
    const ids = new Set<number>();
    const vars = new Set(d.templating.list.map((v) => v.name));
    for (const p of allPanels(d)) {
      assert.ok(Number.isInteger(p.id) && !ids.has(p.id), `${file}: panel "${p.title}" has a unique id`);
      ids.add(p.id);
      assert.ok(p.gridPos && p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${file}: "${p.title}" fits the 24-column grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', `${file}: "${p.title}" uses the datasource variable`);
      const targets = p.targets ?? [];
      assert.ok(targets.length > 0, `${file}: "${p.title}" has queries`);
      assert.equal(new Set(targets.map((t) => t.refId)).size, targets.length, `${file}: "${p.title}" refIds are unique`);
      for (const t of targets) {
        assert.ok(t.expr && t.expr.trim(), `${file}: "${p.title}" ${t.refId} has an expression`);
        for (const v of variablesUsed(t.expr)) {
          assert.ok(vars.has(v) || GRAFANA_BUILTINS.has(v), `${file}: "${p.title}" uses unknown variable $${v}`);
        }
      }
    }
  }
});

test('dashboards: every selector is filtered by $namespace and $group', () => {
  for (const file of DASHBOARD_FILES) {
    for (const q of dashboardQueries(readDashboard(file))) {
      const selectors = metricSelectors(q.expr);
      assert.ok(selectors.length > 0, `${file}: "${q.panel}" ${q.refId} selects no metric: ${q.expr}`);
      for (const s of selectors) {
        if (OPERATOR_WIDE.has(s.metric)) continue;
        assert.match(s.matchers, /namespace=~"\$namespace"/, `${file}: "${q.panel}": ${s.metric} not filtered by $namespace`);
        assert.match(s.matchers, /group=~"\$group"/, `${file}: "${q.panel}": ${s.metric} not filtered by $group`);
      }
    }
  }
});

test('dashboards and alert rules name only metrics that are exported', () => {
  const exprs: { where: string; expr: string }[] = [];
  for (const file of DASHBOARD_FILES) {
    const d = readDashboard(file);
    for (const q of dashboardQueries(d)) exprs.push({ where: `${file} "${q.panel}" ${q.refId}`, expr: q.expr });
    for (const v of d.templating.list) {
      const q = variableQuery(v);
      if (q) exprs.push({ where: `${file} variable $${v.name}`, expr: labelValuesAsPromQL(q).expr });
    }
  }
  for (const rule of allAlerts(readRules())) exprs.push({ where: `alert ${rule.alert}`, expr: rule.expr });
  for (const { where, expr } of exprs) {
    for (const s of metricSelectors(expr)) {
      assert.ok(EXPORTED.has(s.metric), `${where}: ${s.metric} is neither a replica metric (replica/server/metrics.ts) nor in the operator contract`);
    }
  }
});

test('dashboards show what the design asks for', () => {
  const metricsOf = (file: string) => new Set(dashboardQueries(readDashboard(file)).flatMap((q) => metricSelectors(q.expr).map((s) => s.metric)));
  const replica = metricsOf('replica-group.json');
  for (const m of [
    'replicant_raft_is_leader', // leader over time
    'replicant_raft_term', // term over time
    'replicant_raft_commit_index', // commit index and lag per member
    'replicant_raft_applied_index',
    'replicant_proposals_committed_total', // proposals/s
    'replicant_proposals_failed_total',
    'replicant_wal_fsync_duration_seconds_bucket', // fsync latency quantiles
    'replicant_apply_duration_seconds_bucket', // apply latency quantiles
    'replicant_peer_send_failures_total', // peer errors
    'replicant_snapshots_total', // snapshot activity
    'replicant_raft_voters', // membership over time
    'replicant_raft_is_learner',
    'replicant_raft_joint',
  ]) {
    assert.ok(replica.has(m), `replica-group.json shows ${m}`);
  }
  const operator = metricsOf('operator.json');
  for (const m of [
    'replicant_operator_reconciles_total',
    'replicant_operator_reconcile_errors_total',
    'replicant_operator_reconfigurations_total',
    'replicant_operator_replacements_total',
    'replicant_operator_fault_tolerance',
    'replicant_operator_members',
  ]) {
    assert.ok(operator.has(m), `operator.json shows ${m}`);
  }
});
