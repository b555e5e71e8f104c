// Hand-made tiny histories with known verdicts: the register semantics
// (nil start, cas, :fail dropped, :info at any later time or never), real-time
// order, per-key independence, witness orders and violation explanations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHistory, pairOperations } from '../history/index.ts';
import { checkHistory, explainResult } from './index.ts';
import type { CheckResult } from './index.ts';
import { byKey, witnessProblem } from './oracle.ts';

/** check reads a history written one event a line as `PROCESS :TYPE :F VALUE`. */
function check(text: string): CheckResult {
  const events = parseHistory(text.replace(/^\s+/gm, ''));
  const result = checkHistory(events);
  // Every "linearizable" key must come with a valid witness.
  const ops = byKey(pairOperations(events));
  for (const k of result.keys) {
    if (k.verdict === 'linearizable') assert.equal(witnessProblem(ops.get(k.key)!, k.order!), null);
  }
  return result;
}

function linearizable(text: string): void {
  const r = check(text);
  assert.equal(r.verdict, 'linearizable', explainResult(r).join('\n'));
}

function notLinearizable(text: string): CheckResult {
  const r = check(text);
  assert.equal(r.verdict, 'not-linearizable');
  return r;
}

test('an empty history is linearizable', () => {
  linearizable('');
});

test('a register starts nil', () => {
  linearizable(`0 :invoke :read nil
                0 :ok :read nil`);
  notLinearizable(`0 :invoke :read nil
                   0 :ok :read 1`);
});

test('a read after a completed write sees it, or a later value', () => {
  linearizable(`0 :invoke :write 1
                0 :ok :write 1
                1 :invoke :read nil
                1 :ok :read 1`);
  const r = notLinearizable(`0 :invoke :write 1
                             0 :ok :write 1
                             1 :invoke :read nil
                             1 :ok :read nil`);
  const v = r.keys[0].violation!;
  assert.equal(v.prefix.length, 1);
  assert.equal(v.state, 1);
  assert.deepEqual(v.stuck.map((s) => [s.op.f, s.illegal]), [['read', true]]);
});

test('a read concurrent with a write may see the old or the new value', () => {
  for (const seen of ['nil', '1']) {
    linearizable(`0 :invoke :write 1
                  1 :invoke :read nil
                  1 :ok :read ${seen}
                  0 :ok :write 1`);
  }
});

test('the two register histories from the checker literature', () => {
  // write(1) happens before read()=2 and write(2), which overlap: write 1; write 2; read.
  linearizable(`0 :invoke :write 1
                0 :ok :write 1
                1 :invoke :read nil
                2 :invoke :write 2
                1 :ok :read 2
                2 :ok :write 2`);
  // The read returns before write(2) is called: it cannot have seen 2.
  notLinearizable(`0 :invoke :write 1
                   0 :ok :write 1
                   1 :invoke :read nil
                   1 :ok :read 2
                   2 :invoke :write 2
                   2 :ok :write 2`);
});

test('a later read cannot go back to an older value (new-old inversion)', () => {
  notLinearizable(`0 :invoke :write 1
                   1 :invoke :read nil
                   1 :ok :read 1
                   2 :invoke :read nil
                   2 :ok :read nil
                   0 :ok :write 1`);
});

test('cas succeeds only on the value it expects', () => {
  linearizable(`0 :invoke :write 1
                0 :ok :write 1
                0 :invoke :cas [1 2]
                0 :ok :cas [1 2]
                1 :invoke :read nil
                1 :ok :read 2`);
  const r = notLinearizable(`0 :invoke :write 1
                             0 :ok :write 1
                             0 :invoke :cas [3 2]
                             0 :ok :cas [3 2]`);
  assert.deepEqual(r.keys[0].violation!.stuck.map((s) => [s.op.f, s.illegal]), [['cas', true]]);
  // cas from nil: create-if-absent.
  linearizable(`0 :invoke :cas [nil 5]
                0 :ok :cas [nil 5]
                0 :invoke :read nil
                0 :ok :read 5`);
});

test(':fail operations did not happen', () => {
  notLinearizable(`0 :invoke :write 5
                   0 :fail :write 5
                   1 :invoke :read nil
                   1 :ok :read 5`);
  linearizable(`0 :invoke :write 1
                0 :ok :write 1
                0 :invoke :cas [1 2]
                0 :fail :cas [1 2]
                1 :invoke :read nil
                1 :ok :read 1`);
});

test('a failed cas is ignored by default, or read as an observed mismatch on request', () => {
  const history = `0 :invoke :write 1
                   0 :ok :write 1
                   1 :invoke :cas [1 2]
                   1 :fail :cas [1 2]
                   2 :invoke :read nil
                   2 :ok :read 1`;
  linearizable(history);
  const strict = checkHistory(parseHistory(history.replace(/^\s+/gm, '')), { failedCas: 'observed-mismatch' });
  assert.equal(strict.verdict, 'not-linearizable');
  assert.match(
    explainResult(strict).join('\n'),
    /lines 3-4 +process 1 +cas \[1 2\] \(failed\): its compare failed, but the value is 1, the one it expects/,
  );
  // A failed compare against a value that is not there is fine either way.
  const fine = checkHistory(
    parseHistory(`0 :invoke :write 1\n0 :ok :write 1\n1 :invoke :cas [3 2]\n1 :fail :cas [3 2]\n2 :invoke :read nil\n2 :ok :read 1`),
    { failedCas: 'observed-mismatch' },
  );
  assert.equal(fine.verdict, 'linearizable');
  assert.equal(fine.keys[0].order!.length, 3);
});

test(':info operations may take effect at any later time', () => {
  // The write lands between the two reads.
  linearizable(`0 :invoke :write 3
                0 :info :write :timed-out
                1 :invoke :read nil
                1 :ok :read nil
                1 :invoke :read nil
                1 :ok :read 3`);
  // ...but not before it was called.
  notLinearizable(`1 :invoke :read nil
                   1 :ok :read 3
                   0 :invoke :write 3
                   0 :info :write :timed-out`);
  // ...and once seen it cannot be undone.
  notLinearizable(`0 :invoke :write 3
                   0 :info :write :timed-out
                   1 :invoke :read nil
                   1 :ok :read 3
                   1 :invoke :read nil
                   1 :ok :read nil`);
});

test(':info operations may never take effect', () => {
  linearizable(`0 :invoke :write 3
                0 :info :write :timed-out
                1 :invoke :read nil
                1 :ok :read nil
                1 :invoke :read nil
                1 :ok :read nil`);
  // An unknown cas that found another value changes nothing.
  linearizable(`0 :invoke :write 1
                0 :ok :write 1
                0 :invoke :cas [7 8]
                0 :info :cas [7 8]
                1 :invoke :read nil
                1 :ok :read 1`);
  // An unknown cas that did swap is visible.
  linearizable(`0 :invoke :write 1
                0 :ok :write 1
                0 :invoke :cas [1 8]
                0 :info :cas [1 8]
                1 :invoke :read nil
                1 :ok :read 8`);
});

test('a call that never completes counts as :info; a read without an answer is ignored', () => {
  linearizable(`0 :invoke :write 4
                2 :invoke :read nil
                3 :invoke :read nil
                3 :info :read :timed-out
                1 :invoke :read nil
                1 :ok :read 4`);
});

test('keys are checked independently (P-compositionality)', () => {
  const r = notLinearizable(`0 :invoke :write ["a" 1]
                             0 :ok :write ["a" 1]
                             1 :invoke :read ["b" nil]
                             1 :ok :read ["b" 1]
                             2 :invoke :read ["a" nil]
                             2 :ok :read ["a" 1]`);
  assert.deepEqual(
    r.keys.map((k) => [k.key, k.verdict]),
    [
      ['a', 'linearizable'],
      ['b', 'not-linearizable'],
    ],
  );
  // The same operations on one key would be fine: the keys are separate registers.
  linearizable(`0 :invoke :write ["a" 1]
                0 :ok :write ["a" 1]
                1 :invoke :read ["a" nil]
                1 :ok :read ["a" 1]`);
  // Integer key 1 and string key "1" are different registers; so is the unnamed register.
  notLinearizable(`0 :invoke :write [1 9]
                   0 :ok :write [1 9]
                   1 :invoke :read ["1" nil]
                   1 :ok :read ["1" 9]`);
});

test('the explanation names the stuck operation, its lines, the value and the last write', () => {
  const r = notLinearizable(`0 :invoke :write 1
                             0 :ok :write 1
                             0 :invoke :write 2
                             0 :ok :write 2
                             1 :invoke :read nil
                             1 :ok :read 1`);
  const text = explainResult(r).join('\n');
  assert.match(text, /register: at most 2 of 3 operations can be ordered/);
  assert.match(text, /the value is then 2/);
  assert.match(text, /lines 5-6 +process 1 +read -> 1: reads 1, but the value is 2; 1 was last written by lines 1-2 process 0 write 1/);
  const never = notLinearizable(`1 :invoke :read nil
                                 1 :ok :read 42`);
  assert.match(explainResult(never).join('\n'), /no operation writes 42/);
  const absent = notLinearizable(`0 :invoke :write "v"
                                  0 :ok :write "v"
                                  1 :invoke :read nil
                                  1 :ok :read nil`);
  assert.match(explainResult(absent).join('\n'), /read -> nil: reads nil, but the value is "v"; nil holds only until the first write/);
});

test('a deadline or the memory limit yields "unknown", never a verdict', () => {
  // 40 concurrent unknown writes read back one by one, then a value read twice:
  // impossible, but only after trying the subsets of writes that could hide in between.
  const lines: string[] = [];
  for (let p = 0; p < 40; p++) lines.push(`${p} :invoke :write ${p}`);
  for (let p = 0; p < 40; p++) lines.push(`${p} :info :write ${p}`);
  for (let i = 0; i < 40; i++) lines.push(`${100 + i} :invoke :read nil`, `${100 + i} :ok :read ${(i * 7) % 40}`);
  lines.push('200 :invoke :read nil', '200 :ok :read 0');
  const events = parseHistory(lines.join('\n'));
  const r = checkHistory(events, { timeoutMs: 1 });
  assert.equal(r.verdict, 'unknown');
  assert.equal(r.keys[0].stoppedBy, 'deadline');
  assert.equal(r.keys[0].order, undefined);
  assert.match(explainResult(r)[0], /register: no verdict before the deadline; the longest order found covers \d+ of 81 operations/);
  const m = checkHistory(events, { maxMemoBytes: 1 << 20 });
  assert.equal(m.verdict, 'unknown');
  assert.equal(m.keys[0].stoppedBy, 'memory');
  assert.match(explainResult(m)[0], /no verdict within the memory limit/);
});

test('unknown writes whose value nobody observes are set aside, keeping the verdict', () => {
  // 30 timed-out writes of values never read: the search need not place them.
  const lines: string[] = [];
  for (let p = 0; p < 30; p++) lines.push(`${p} :invoke :write ${1000 + p}`, `${p} :info :write :timed-out`);
  lines.push('50 :invoke :write 1', '50 :ok :write 1', '51 :invoke :read nil', '51 :ok :read 1');
  const ok = checkHistory(parseHistory(lines.join('\n')));
  assert.equal(ok.verdict, 'linearizable');
  assert.equal(ok.keys[0].checked, 2);
  assert.equal(ok.keys[0].order!.length, 32, 'the witness still lists every operation, set-aside ones last');
  // An observed one is kept: the read of 1003 needs it, and it cannot be undone.
  lines.push('52 :invoke :read nil', '52 :ok :read 1003', '53 :invoke :read nil', '53 :ok :read 1');
  const bad = checkHistory(parseHistory(lines.join('\n')));
  assert.equal(bad.verdict, 'not-linearizable');
  assert.equal(bad.keys[0].checked, 5);
  // An unknown cas expecting the value keeps it observable.
  linearizable(`0 :invoke :write 5
                0 :info :write 5
                1 :invoke :cas [5 6]
                1 :info :cas [5 6]
                2 :invoke :read nil
                2 :ok :read 6`);
});
