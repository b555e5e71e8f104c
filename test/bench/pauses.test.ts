// The tail-versus-pauses report counts a slow request as paused only when a
// member's pause (at least the minimum length) overlaps its span, and tells
// members and snapshot windows apart; gc logs parse with the member's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGcLog, tailReport } from './pauses.ts';

test('slow requests are matched with the pauses and snapshots that overlapped them', () => {
  // 100 requests of 1 ms ending at 1000, 1010, ...; the last one is slow (50 ms, spanning 1940-1990)
  const requests: [number, number][] = Array.from({ length: 100 }, (_, i) => [1000 + 10 * i, 1]);
  requests[99] = [1990, 50];
  const leader = parseGcLog('# replica/main.js --name replicant-1 --data-dir x\n1950.0 12.5 minor\n1005.0 0.5 minor\n', 'gc-1.txt');
  assert.equal(leader.member, 'replicant-1');
  assert.deepEqual(leader.pauses.map((p) => p.ms), [0.5, 12.5]);
  const follower = parseGcLog('# replica/main.js --name replicant-2\n1201.0 8 major\n', 'gc-2.txt');
  const r = tailReport(requests, [leader, follower], [{ member: 'replicant-2', kind: 'whole', start: 1900, end: 1945 }], 0.01, 2);
  assert.equal(r.slow, 1);
  assert.equal(r.threshold, 50);
  const [one, two] = r.members;
  assert.equal(one.slowPaused, 1);
  assert.equal(one.meanPausedMs, 12.5);
  // the 0.5 ms pause is under the minimum; the 12.5 ms one overlaps the slow request and the one ending at 1960
  assert.equal(one.allPaused, 2 / 100);
  assert.equal(one.slowInSnapshot, 0);
  assert.equal(two.slowPaused, 0);
  assert.equal(two.allPaused, 0, 'the follower paused between requests');
  assert.equal(two.slowInSnapshot, 1);
  assert.equal(two.allInSnapshot, 6 / 100, 'the requests ending 1900-1940 and the slow one');
  assert.throws(() => parseGcLog('# x\nnot a line\n', 'gc-3.txt'), /gc-3.txt:2/);
});
