// The checker against real Jepsen histories of etcd with verdicts established
// by independent checkers (Knossos, Porcupine): it must agree with every one,
// each within a small time budget, and explain every violation. Knossos reads
// a failed cas as "did not happen", Porcupine as "found another value"; the
// verdicts hold under both, so both are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readHistoryFile } from '../history/index.ts';
import { checkHistory, explainResult } from './index.ts';

const CORPUS = path.join(import.meta.dirname, '..', 'testdata', 'jepsen-etcd');
/** Per-file budget: generous for slow CI machines; locally each file takes milliseconds. */
const BUDGET_MS = 3000;

function verdicts(): Array<[string, string]> {
  return fs
    .readFileSync(path.join(CORPUS, 'VERDICTS'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [file, verdict] = l.trim().split(/\s+/);
      return [file, verdict];
    });
}

for (const failedCas of ['no-effect', 'observed-mismatch'] as const) {
test(`agrees with every verdict in the jepsen-etcd corpus, each file within budget (failed cas: ${failedCas})`, (t) => {
  const expected = verdicts();
  assert.equal(expected.length, 52);
  let total = 0;
  let slowest = 0;
  for (const [file, verdict] of expected) {
    const result = checkHistory(readHistoryFile(path.join(CORPUS, file)), { source: file, timeoutMs: BUDGET_MS, failedCas });
    total += result.elapsedMs;
    slowest = Math.max(slowest, result.elapsedMs);
    assert.equal(result.verdict, verdict, `${file}: expected ${verdict}, got ${result.verdict}`);
    if (verdict === 'not-linearizable') {
      const v = result.keys[0].violation!;
      assert.ok(v.stuck.length > 0, `${file}: a violation names the operations that cannot come next`);
      assert.ok(v.prefix.length < v.checked);
      assert.match(explainResult(result)[0], /^  register: at most \d+ of \d+ operations can be ordered/);
    }
  }
  t.diagnostic(`jepsen-etcd corpus (failed cas: ${failedCas}): ${expected.length} files checked in ${total.toFixed(0)} ms (slowest ${slowest.toFixed(0)} ms)`);
});
}
