// The alert rules pass `promtool check rules` (syntax and lint) and their
// unit tests (`promtool test rules`), and those tests cover every rule: each
// one is seen firing with its own labels and seen staying quiet. promtool
// comes with the Debian package `prometheus` (installed by .ci/run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ALERTS_DIR, RULES_FILE, RULE_TESTS_FILE, allAlerts, readRuleTests, readRules } from './rules.ts';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

function promtool(args: string[]) {
  const r = spawnSync(PROMTOOL, args, { cwd: ALERTS_DIR, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${PROMTOOL} not found: install it with \`apt-get install -y --no-install-recommends prometheus\` (or set PROMTOOL)`);
  }
  return r;
}

test('promtool check rules: the rules file is valid and lint-clean', () => {
  const r = promtool(['check', 'rules', RULES_FILE]);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const n = allAlerts(readRules()).length;
  assert.match(r.stdout, new RegExp(`SUCCESS: ${n} rules found`));
});

test('promtool test rules: every unit test passes', () => {
  const r = promtool(['test', 'rules', RULE_TESTS_FILE]);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /SUCCESS/);
});

test('the unit tests cover every alert: seen firing with its labels, and seen quiet', () => {
  const alerts = allAlerts(readRules());
  const checks = readRuleTests().tests.flatMap((t) => t.alert_rule_test ?? []);
  assert.deepEqual(readRuleTests().rule_files, ['rules.yaml']);
  const names = new Set(alerts.map((a) => a.alert));
  for (const expected of [
    'ReplicantNoLeader',
    'ReplicantFaultToleranceBelowDesired',
    'ReplicantQuorumLost',
    'ReplicantReconfigurationStuck',
    'ReplicantMemberLagging',
    'ReplicantSlowFsync',
    'ReplicantDivergentMember',
    'ReplicantOperatorDown',
  ]) {
    assert.ok(names.has(expected), `rules.yaml has ${expected}`);
  }
  for (const rule of alerts) {
    const own = checks.filter((c) => c.alertname === rule.alert);
    const staticLabels = rule.labels ?? {};
    const fired = own.some((c) =>
      (c.exp_alerts ?? []).some((e) => Object.entries(staticLabels).every(([k, v]) => e.exp_labels?.[k] === v)),
    );
    assert.ok(fired, `${rule.alert} ${JSON.stringify(staticLabels)}: no unit test expects it to fire`);
    assert.ok(own.some((c) => (c.exp_alerts ?? []).length === 0), `${rule.alert}: no unit test expects it to stay quiet`);
    assert.match(staticLabels.severity ?? '', /^(critical|warning)$/, `${rule.alert} has a severity`);
    assert.ok(rule.annotations?.summary && rule.annotations?.description, `${rule.alert} has a summary and a description`);
  }
});
