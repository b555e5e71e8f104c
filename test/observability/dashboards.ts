// Test tooling: reads the Grafana dashboards of the chart and turns every
// panel query and variable query into plain PromQL that a Prometheus can
// evaluate, the way Grafana would (template variables expanded, label_values
// turned into a query). Must never change the dashboards.
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './rules.ts';

export const DASHBOARDS_DIR = path.join(REPO, 'charts/replicant/dashboards');
export const DASHBOARD_FILES = ['replica-group.json', 'operator.json'];

export interface Target {
  refId: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

export interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  tags?: string[];
  schemaVersion?: number;
  templating: { list: Variable[] };
  panels: Panel[];
}

/** DashboardQuery is one PromQL expression of one panel. */
export interface DashboardQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

export function readDashboard(file: string): Dashboard {
  const p = path.join(DASHBOARDS_DIR, file);
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8')) as Dashboard;
  } catch (e) {
    throw new Error(`${p}: ${(e as Error).message}`);
  }
}

/** allPanels flattens rows (collapsed rows keep their panels inside). */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) {
      if (t.expr !== undefined) out.push({ dashboard: d.uid, panel: p.title, refId: t.refId, expr: t.expr });
    }
  }
  return out;
}

export function variableQuery(v: Variable): string | undefined {
  if (v.type !== 'query') return undefined;
  return typeof v.query === 'string' ? v.query : v.query?.query;
}

/**
 * expandVariables substitutes Grafana's template variables ($name, ${name},
 * ${name:format}, [[name]]) from `values`; an unknown variable is an error,
 * so a typo cannot hide behind a query that still parses.
 */
export function expandVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (_m, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (!Object.hasOwn(values, name)) throw new Error(`unknown template variable $${name} in ${expr}`);
    return values[name];
  });
}

/** variablesUsed lists the template variable names an expression refers to. */
export function variablesUsed(expr: string): string[] {
  return [...expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/**
 * labelValuesAsPromQL turns Grafana's `label_values(selector, label)` into a
 * query returning one series per value of the label.
 */
export function labelValuesAsPromQL(q: string): { expr: string; label: string } {
  const m = /^\s*label_values\(\s*(.+)\s*,\s*(\w+)\s*\)\s*$/.exec(q);
  if (!m) throw new Error(`not a label_values(selector, label) query: ${q}`);
  return { expr: `group by (${m[2]}) (${m[1]})`, label: m[2] };
}

/**
 * metricSelectors finds every metric name in an expression with the text of
 * its label matchers ('' when it has none). Keywords and functions are
 * skipped: a name followed by "(" is a function, one after by/on/ignoring/
 * without is in a label list.
 */
export function metricSelectors(expr: string): { metric: string; matchers: string }[] {
  const out: { metric: string; matchers: string }[] = [];
  const stripped = expr.replace(/\b(by|on|ignoring|without|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const re = /\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g;
  for (const m of stripped.matchAll(re)) {
    const name = m[1];
    const after = stripped.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(after) && !m[2]) continue; // function call
    if (/^(sum|min|max|avg|count|group|stddev|stdvar|topk|bottomk|quantile|count_values|bool|and|or|unless|offset|inf|nan|le|group_left|group_right)$/i.test(name)) continue;
    if (/^\d/.test(name)) continue;
    // inside a matcher list (e.g. kind="current") or a range: handled by the {..} capture
    const before = stripped.slice(0, m.index!);
    if ((before.match(/\{/g)?.length ?? 0) > (before.match(/\}/g)?.length ?? 0)) continue;
    if ((before.match(/\[/g)?.length ?? 0) > (before.match(/\]/g)?.length ?? 0)) continue;
    if (/["']$/.test(before)) continue;
    out.push({ metric: name, matchers: m[2] ?? '' });
  }
  return out;
}
