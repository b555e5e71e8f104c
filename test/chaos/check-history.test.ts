// The check-history command: one line per file, explanations under
// violations, and the exit status contract (1: some history is not
// linearizable; 2: some file could not be checked; 0: all linearizable).
// Most cases run the command in-process; one runs the real script via npm's
// entry point to pin the process exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCheckHistory } from './check-history-command.ts';

const SCRIPT = path.join(import.meta.dirname, 'check-history.ts');
const CORPUS = path.join(import.meta.dirname, 'testdata', 'jepsen-etcd');

function run(args: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = runCheckHistory(args, { log: (l) => (stdout += l + '\n'), error: (l) => (stderr += l + '\n') });
  return { status, stdout, stderr };
}

test('the script exits with the command status and prints to stdout', () => {
  const good = path.join(CORPUS, 'etcd_002.log');
  const bad = path.join(CORPUS, 'etcd_000.log');
  const r = spawnSync(process.execPath, [SCRIPT, '--quiet', good, bad], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, `${good}: linearizable\n${bad}: not linearizable\n`);
});

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-check-history-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('prints one verdict line per file and exits 1 when one is not linearizable', () => {
  const good = path.join(CORPUS, 'etcd_002.log');
  const bad = path.join(CORPUS, 'etcd_000.log');
  const r = run([good, bad]);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `${good}: linearizable`);
  assert.equal(lines[1], `${bad}: not linearizable`);
  assert.match(lines[2], /^  register: at most \d+ of \d+ operations can be ordered/);
  assert.match(r.stdout, /lines \d+-\d+ +process \d+ +read -> \d+: reads \d+, but the value is \d+/);
  // --quiet keeps only the verdict lines.
  assert.equal(run(['--quiet', good, bad]).stdout, `${good}: linearizable\n${bad}: not linearizable\n`);
});

test('exits 0 when every file is linearizable', () => {
  const files = ['etcd_002.log', 'etcd_018.log', 'etcd_102.log'].map((f) => path.join(CORPUS, f));
  const r = run(files);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, files.map((f) => `${f}: linearizable\n`).join(''));
});

test('unreadable or malformed files are reported per file with exit 2', (t) => {
  const dir = tempDir(t);
  const malformed = path.join(dir, 'bad.log');
  fs.writeFileSync(malformed, '0 :invoke :read nil\n0 :ok :read 1\nnonsense here\n');
  const missing = path.join(dir, 'missing.log');
  const good = path.join(CORPUS, 'etcd_002.log');
  const r = run([malformed, missing, good]);
  assert.equal(r.status, 2);
  assert.equal(
    r.stdout,
    `${malformed}: error: line 3: expected "PROCESS :TYPE :F VALUE" (optionally after "jepsen.util - ") or an EDN map, found "nonsense here"\n` +
      `${missing}: error: no such file\n` +
      `${good}: linearizable\n`,
  );
  // A violation outranks an unreadable file.
  assert.equal(run([missing, path.join(CORPUS, 'etcd_000.log')]).status, 1);
});

test('--failed-cas observed-mismatch reads a failed cas as a compare that saw another value', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'failed-cas.log');
  fs.writeFileSync(file, '0 :invoke :write 1\n0 :ok :write 1\n1 :invoke :cas [1 2]\n1 :fail :cas [1 2]\n');
  assert.equal(run([file]).status, 0);
  const strict = run(['--failed-cas', 'observed-mismatch', file]);
  assert.equal(strict.status, 1);
  assert.match(strict.stdout, /lines 3-4 +process 1 +cas \[1 2\] \(failed\): its compare failed, but the value is 1/);
  assert.match(run(['--failed-cas=sometimes', file]).stderr, /--failed-cas is no-effect or observed-mismatch/);
});

test('usage errors and timeouts exit 2', (t) => {
  const none = run([]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /no history files given\nusage: npm run check-history/);
  const flag = run(['--frobnicate', 'x']);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /unknown flag --frobnicate/);
  assert.match(run(['--timeout', 'soon', 'x']).stderr, /--timeout needs a positive number of seconds/);

  // A history whose search space explodes (see check.test.ts) is "unknown" at the deadline.
  const dir = tempDir(t);
  const hard = path.join(dir, 'hard.log');
  const lines: string[] = [];
  for (let p = 0; p < 40; p++) lines.push(`${p} :invoke :write ${p}`);
  for (let p = 0; p < 40; p++) lines.push(`${p} :info :write ${p}`);
  for (let i = 0; i < 40; i++) lines.push(`${100 + i} :invoke :read nil`, `${100 + i} :ok :read ${(i * 7) % 40}`);
  lines.push('200 :invoke :read nil', '200 :ok :read 0');
  fs.writeFileSync(hard, lines.join('\n') + '\n');
  const slow = run(['--timeout', '0.2', hard]);
  assert.equal(slow.status, 2);
  assert.match(slow.stdout, new RegExp(`^${hard.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unknown \\(no verdict within 0.2s; raise --timeout\\)\n`));
  assert.match(slow.stdout, /\n  register: no verdict before the deadline; the longest order found covers \d+ of 81 operations/);
});
