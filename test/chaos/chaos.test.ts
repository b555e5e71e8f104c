// Tests of the chaos harness: its option parsing and outcome rules (fast,
// pure), and one short run of real replica processes behind the fault
// proxies under every nemesis, which must come out linearizable with the
// group recovered and every member holding the same state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CHAOS_USAGE, NEMESIS_NAMES, failureOutcome, formatSummary, parseChaosArgs, parseNemesisList, runChaos } from './harness/index.ts';
import { longestGap } from './harness/availability.ts';
import type { HistoryEvent } from './history/index.ts';

test('chaos options: defaults, nemesis lists and one-line errors', () => {
  const o = parseChaosArgs(['--nemesis', 'kill,partition', '--time', '5', '--seed', '7'], 0)!;
  assert.deepEqual(o.nemeses.map((n) => n.name), ['kill', 'partition']);
  assert.equal(o.timeSeconds, 5);
  assert.equal(o.seed, 7);
  assert.equal(o.members, 3);
  assert.equal(o.snapshotCount, undefined, 'members keep their snapshot count unless the snapshot nemesis runs');
  const all = parseChaosArgs([], 0)!;
  assert.deepEqual(all.nemeses.map((n) => n.name), NEMESIS_NAMES);
  assert.equal(all.snapshotCount, 100);
  assert.deepEqual(parseNemesisList('none'), []);
  assert.equal(parseChaosArgs(['--help']), undefined);
  assert.match(CHAOS_USAGE, /--nemesis LIST/);
  assert.throws(() => parseChaosArgs(['--nemesis', 'kill,flood']), /unknown nemesis "flood"/);
  assert.throws(() => parseChaosArgs(['--members', '4']), /groups of 3 or 5/);
  assert.throws(() => parseChaosArgs(['--time', 'soon']), /--time: "soon" must be an integer/);
  assert.throws(() => parseChaosArgs(['--hold', '5,1']), /MIN <= MAX/);
  assert.throws(() => parseChaosArgs(['--bogus']), /bogus/);
});

test('a failed write or cas is :info unless refused before proposal; a failed read is :fail', () => {
  const err = (code: grpc.status, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });
  const timeout = err(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded after 3.001s,remote_addr=127.0.0.1:2379');
  assert.equal(failureOutcome('write', timeout).type, 'info');
  assert.equal(failureOutcome('cas', timeout).type, 'info');
  assert.equal(failureOutcome('read', timeout).type, 'fail');
  assert.equal(failureOutcome('write', timeout).reason, 'DEADLINE_EXCEEDED: Deadline exceeded');
  // "no leader" and "leader changed" may come after the proposal reached a log: unknown.
  assert.equal(failureOutcome('write', err(grpc.status.UNAVAILABLE, 'etcdserver: no leader')).type, 'info');
  assert.equal(failureOutcome('cas', err(grpc.status.UNAVAILABLE, 'etcdserver: leader changed')).type, 'info');
  assert.equal(failureOutcome('write', new Error('socket hang up')).type, 'info');
  // Validation errors are answered before anything is proposed.
  assert.equal(failureOutcome('write', err(grpc.status.INVALID_ARGUMENT, 'etcdserver: key is not provided')).type, 'fail');
  assert.deepEqual(failureOutcome('write', err(grpc.status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.2:2379. Resolution note: x')), {
    type: 'info',
    error: { keyword: 'unavailable' },
    reason: 'UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED ADDR',
  });
});

test('availability is the longest stretch without an :ok call, nemesis events ignored', () => {
  const s = 1e9;
  const ev = (process: number | 'nemesis', type: HistoryEvent['type'], time: number): HistoryEvent => ({ process, type, f: 'read', value: null, time });
  const events = [ev(0, 'invoke', 1 * s), ev(0, 'ok', 2 * s), ev('nemesis', 'ok', 3 * s), ev(1, 'info', 4 * s), ev(0, 'ok', 7 * s), ev(0, 'ok', 8 * s)];
  assert.deepEqual(longestGap(events, 1 * s, 10 * s), { longestGapMs: 5000, gapStartS: 1 });
  // The end of the window counts: nothing succeeded after 8 s until 20 s.
  assert.deepEqual(longestGap(events, 1 * s, 20 * s), { longestGapMs: 12000, gapStartS: 7 });
});

test('a 30 s run of 3 members under every nemesis is linearizable, recovers and converges', { timeout: 120_000 }, async (t) => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-chaos-'));
  t.after(() => fs.rmSync(outDir, { recursive: true, force: true }));
  // Shorter spells than the defaults, so that 30 s see several faults even on a loaded machine.
  const options = parseChaosArgs(['--nemesis', 'all', '--time', '30', '--quiet', '500,1500', '--hold', '1000,3000', '--seed', String(Date.now() % 100_000)])!;
  const lines: string[] = [];
  const summary = await runChaos(options, outDir, t, (l) => lines.push(l));
  const report = `${formatSummary(summary)}\n${lines.join('\n')}`;
  assert.equal(summary.verdict, 'linearizable', report);
  assert.deepEqual(summary.problems, [], report);
  assert.ok(summary.ok, report);
  // The run did real work under real faults, and wrote what it promised.
  assert.ok(summary.ops.total.ok > 100, `only ${summary.ops.total.ok} operations succeeded\n${report}`);
  assert.ok(Object.values(summary.faults).reduce((a, b) => a + b, 0) >= 2, `too few faults injected\n${report}`);
  assert.equal(summary.finalReads.length, options.keys);
  for (const f of ['history.log', 'summary.json', 'summary.txt', 'chaos.log', 'members/m1.log']) assert.ok(fs.existsSync(path.join(outDir, f)), `${f} written`);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(outDir, 'summary.json'), 'utf8')).verdict, 'linearizable');
});
