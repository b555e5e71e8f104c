// The majority vote on checkpoint digests: who is divergent, when nobody can
// be blamed, and when it is too early to say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, type MemberReport } from './divergence.ts';

const r = (id: number, ...cps: [number, string][]): MemberReport => ({ id, checkpoints: cps.map(([index, digest]) => ({ index, digest })) });

test('a member differing from a strict majority is divergent', () => {
  const v = judge([1, 2, 3], [r(1, [100, 'a'], [200, 'b']), r(2, [100, 'a'], [200, 'b']), r(3, [100, 'a'], [200, 'X'])]);
  assert.equal(v.state, 'divergent');
  if (v.state === 'divergent') {
    assert.deepEqual(v.divergent, [3]);
    assert.equal(v.index, 200);
    assert.equal(v.majorityDigest, 'b');
  }
});

test('agreement is ok; learners are judged against the voters majority', () => {
  assert.deepEqual(judge([1, 2, 3], [r(1, [100, 'a']), r(2, [100, 'a']), r(3, [100, 'a'])]), { state: 'ok', index: 100, digest: 'a' });
  const v = judge([1, 2, 3], [r(1, [100, 'a']), r(2, [100, 'a']), r(4, [100, 'L'])]);
  assert.equal(v.state, 'divergent');
  if (v.state === 'divergent') assert.deepEqual(v.divergent, [4]);
});

test('two of three corrupted differently: unresolved, nobody blamed', () => {
  const v = judge([1, 2, 3], [r(1, [100, 'a']), r(2, [100, 'b']), r(3, [100, 'c'])]);
  assert.equal(v.state, 'unresolved');
});

test('too few reports, or a quorum still possible: no verdict at that index', () => {
  assert.equal(judge([1, 2, 3], [r(1, [100, 'a'])]).state, 'unknown');
  // 5 voters, 3 reported a,a,b: the other two could still make either a majority.
  const v = judge([1, 2, 3, 4, 5], [r(1, [100, 'a']), r(2, [100, 'a']), r(3, [100, 'b'])]);
  assert.equal(v.state, 'unknown');
  // ...but an older index everyone agreed on still counts.
  const w = judge([1, 2, 3, 4, 5], [r(1, [50, 'z'], [100, 'a']), r(2, [50, 'z'], [100, 'a']), r(3, [50, 'z'], [100, 'b'])]);
  assert.deepEqual(w, { state: 'ok', index: 50, digest: 'z' });
});
