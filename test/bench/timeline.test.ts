// The timeline reader: buckets of requests by end time with their p99, the
// snapshot windows read from member logs, and a clear error for a bad line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buckets, parseTimeline, snapshotWindows } from './timeline.ts';

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
  assert.deepEqual(windows, [{ member: 'r-2', start: t0 + 600, end: t0 + 700 }]);
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
