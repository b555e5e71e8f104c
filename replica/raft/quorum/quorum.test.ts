// Majority and joint quorums: committed index and vote results, including the
// property that a joint configuration never decides with one half alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MajorityConfig } from './majority.ts';
import { JointConfig } from './joint.ts';

const acked = (m: Record<number, number>) => (id: number) => m[id];

test('majority committed index is the highest index held by a majority', () => {
  assert.equal(new MajorityConfig([1, 2, 3]).committedIndex(acked({ 1: 5, 2: 3, 3: 1 })), 3);
  assert.equal(new MajorityConfig([1, 2, 3, 4]).committedIndex(acked({ 1: 5, 2: 3, 3: 1, 4: 9 })), 3);
  assert.equal(new MajorityConfig([1, 2, 3]).committedIndex(acked({ 1: 5 })), 0);
  assert.equal(new MajorityConfig([1]).committedIndex(acked({ 1: 7 })), 7);
  assert.equal(new MajorityConfig().committedIndex(acked({})), Number.POSITIVE_INFINITY);
});

test('majority vote results', () => {
  const c = new MajorityConfig([1, 2, 3]);
  assert.equal(c.voteResult(new Map([[1, true]])), 'pending');
  assert.equal(c.voteResult(new Map([[1, true], [2, true]])), 'won');
  assert.equal(c.voteResult(new Map([[1, false], [2, false]])), 'lost');
  assert.equal(c.voteResult(new Map([[1, true], [2, false]])), 'pending');
  assert.equal(new MajorityConfig().voteResult(new Map()), 'won');
});

test('joint committed index needs both halves; joint votes need both halves', () => {
  const j = new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig([3, 4, 5]));
  // 1,2 hold 10 (majority of the first half only); 3,4 hold 5.
  assert.equal(j.committedIndex(acked({ 1: 10, 2: 10, 3: 5, 4: 5, 5: 0 })), 5);
  assert.equal(j.voteResult(new Map([[1, true], [2, true]])), 'pending');
  assert.equal(j.voteResult(new Map([[1, true], [2, true], [4, true], [5, true]])), 'won');
  assert.equal(j.voteResult(new Map([[1, true], [2, true], [4, false], [5, false]])), 'lost');
  assert.equal(j.toString(), '(1 2 3)&&(3 4 5)');
});

test('property: a joint committed index is held by a majority of each half', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 7 }),
      fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 7 }),
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 10, maxLength: 10 }),
      (inc, out, idx) => {
        const j = new JointConfig(new MajorityConfig(inc), new MajorityConfig(out));
        const c = j.committedIndex((id) => idx[id]);
        for (const half of [inc, out]) {
          if (half.length === 0) continue;
          const holders = half.filter((id) => idx[id] >= c).length;
          assert.ok(holders >= Math.floor(half.length / 2) + 1);
        }
      },
    ),
  );
});
