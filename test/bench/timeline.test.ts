// The timeline reader: buckets of requests by end time with their p99, the
// snapshot windows read from member logs, and a clear error for a bad line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buckets, parseTimeline, snapshotWindows, splitBySnapshot } from './timeline.ts';

test('requests fall into buckets by end time; each bucket has its p99 and the snapshots that overlapped it', () => {
  const t0 = 1_000_000;
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) lines.push(`${t0 + i * 10} ${i === 99 ? 500 : 5}`); // bucket 0 and 1: 0-499, 500-999 ms
  for (let i = 0; i < 10; i++) lines.push(`${t0 + 1500 + i} 7`); // bucket 3; bucket 2 is empty
  const requests = parseTimeline(lines.join('\n') + '\n');
  const logs = [
    JSON.stringify({ time: t0 + 700, totalMs: 100, member: 'r-2', msg: 'saved snapshot' }),
    '[123:0x1] 55 ms: Mark-Compact ... "saved snapshot"',
    JSON.stringify({ time: t0 + 5000, member: 'r-1', msg: 'leader changed' }),
  ].join('\n');
  const windows = snapshotWindows(logs);
  assert.deepEqual(windows, [{ member: 'r-2', kind: 'whole', start: t0 + 600, end: t0 + 700 }]);
  const b = buckets(requests, windows, 500);
  assert.deepEqual(b.map((x) => [x.from, x.requests, x.p99, x.snapshots]), [
    [0, 50, 5, []],
    [500, 50, 500, ['r-2']],
    [1500, 10, 7, []],
  ]);
});

test('a malformed timeline line is named', () => {
  assert.throws(() => parseTimeline('1 2\nnot a line\n', 'put-1-etcd-round1.txt'), /put-1-etcd-round1\.txt:2: expected/);
  assert.deepEqual(buckets([], [], 500), []);
});

test('the time, the slowest 1 % and the p99 split between whole snapshots, deltas only, and none', () => {
  const t0 = 2_000_000;
  const requests: [number, number][] = [];
  // 1000 ms of requests, one per ms: 5 ms, except 4 slow ones at 600-603 ms (a whole snapshot) and 6 at 300-305 (a delta).
  for (let i = 0; i <= 1000; i++) requests.push([t0 + i, i >= 600 && i < 604 ? 90 : i >= 300 && i < 306 ? 50 : 5]);
  const logs = [
    JSON.stringify({ time: t0 + 400, totalMs: 200, member: 'r-1', msg: 'saved snapshot', delta: true }),
    JSON.stringify({ time: t0 + 700, totalMs: 150, member: 'r-3', msg: 'saved snapshot' }),
    JSON.stringify({ time: t0 + 650, totalMs: 100, member: 'r-2', msg: 'saved snapshot', delta: true }),
  ].join('\n');
  const windows = snapshotWindows(logs);
  assert.deepEqual(windows.map((w) => w.kind), ['delta', 'whole', 'delta']);
  const split = splitBySnapshot(requests, windows);
  const by = Object.fromEntries(split.map((s) => [s.span, s]));
  // whole 550-700, delta only 200-400 (r-2's 550-650 lies inside the whole one), none the rest
  assert.ok(Math.abs(by.whole.timeShare - 0.15) < 0.01, `whole ${by.whole.timeShare}`);
  assert.ok(Math.abs(by.delta.timeShare - 0.2) < 0.01, `delta ${by.delta.timeShare}`);
  assert.ok(Math.abs(by.none.timeShare - 0.65) < 0.01, `none ${by.none.timeShare}`);
  // p99 of all is 5 ms (10 slow of 1001: the nearest rank, 991, is still a fast one): 4 of the 10 above it came in the whole span, 6 in the delta one.
  assert.equal(by.whole.slowShare, 0.4);
  assert.equal(by.delta.slowShare, 0.6);
  assert.equal(by.none.slowShare, 0);
  assert.equal(by.whole.p99, 90);
  assert.equal(by.delta.p99, 50);
  assert.equal(by.none.p99, 5);
  assert.ok(Number.isNaN(splitBySnapshot(requests, [])[0].p99), 'no request in a whole snapshot: no p99 there');
});
