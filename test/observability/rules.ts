// Test tooling: reads charts/replicant/alerts/rules.yaml and tests.yaml, and
// writes a copy of the rules with every `for:` shortened, for a live
// Prometheus that cannot wait minutes. Must never change the chart's files.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYaml } from '@kubernetes/client-node';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ALERTS_DIR = path.join(REPO, 'charts/replicant/alerts');
export const RULES_FILE = path.join(ALERTS_DIR, 'rules.yaml');
export const RULE_TESTS_FILE = path.join(ALERTS_DIR, 'tests.yaml');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RulesFile {
  groups: { name: string; interval?: string; rules: AlertRule[] }[];
}

export interface RuleTestsFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: { exp_labels?: Record<string, string> }[] }[];
  }[];
}

export function readRules(file = RULES_FILE): RulesFile {
  return loadYaml<RulesFile>(fs.readFileSync(file, 'utf8'));
}

export function readRuleTests(file = RULE_TESTS_FILE): RuleTestsFile {
  return loadYaml<RuleTestsFile>(fs.readFileSync(file, 'utf8'));
}

/** allAlerts lists every alerting rule of the file, in order. */
export function allAlerts(rules: RulesFile): AlertRule[] {
  return rules.groups.flatMap((g) => g.rules.filter((r) => typeof r.alert === 'string'));
}

/**
 * writeRulesWithFor writes the rules as JSON (which is YAML) with every
 * alert's `for:` set to `forDuration`, so a test sees alerts fire at once.
 */
export function writeRulesWithFor(rules: RulesFile, forDuration: string, file: string): void {
  const copy: RulesFile = {
    groups: rules.groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.alert ? { ...r, for: forDuration } : r)) })),
  };
  fs.writeFileSync(file, JSON.stringify(copy, null, 2));
}
