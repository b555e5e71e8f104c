// Divergence by majority vote of checkpoint digests at the same index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { voteOnCheckpoints } from './divergence.ts';

const r = (member: string, ...cps: [number, string][]) => ({ member, checkpoints: cps.map(([index, digest]) => ({ index, digest })) });

test('a strict majority agreeing at an index makes the others divergent', () => {
  const v = voteOnCheckpoints([r('a', [100, 'x']), r('b', [100, 'x']), r('c', [100, 'y'])], 3);
  assert.deepEqual(v.divergent, [{ member: 'c', index: 100, digest: 'y', majorityDigest: 'x' }]);
  assert.deepEqual(v.unresolved, []);
});

test('all agree: nobody is divergent', () => {
  const v = voteOnCheckpoints([r('a', [100, 'x'], [200, 'z']), r('b', [100, 'x'], [200, 'z']), r('c', [100, 'x'])], 3);
  assert.deepEqual(v, { divergent: [], unresolved: [] });
});

test('no strict majority of the voters: unresolved, nobody judged', () => {
  let v = voteOnCheckpoints([r('a', [100, 'x']), r('b', [100, 'y'])], 3);
  assert.deepEqual(v.divergent, []);
  assert.deepEqual(v.unresolved, [{ index: 100, digests: { x: ['a'], y: ['b'] } }]);
  // 2 of 5 agreeing cannot outvote a third member.
  v = voteOnCheckpoints([r('a', [100, 'x']), r('b', [100, 'x']), r('c', [100, 'y'])], 5);
  assert.deepEqual(v.divergent, []);
  assert.equal(v.unresolved.length, 1);
  v = voteOnCheckpoints([r('a', [100, 'x']), r('b', [100, 'y']), r('c', [100, 'z'])], 3);
  assert.deepEqual(v.divergent, []);
  assert.deepEqual(Object.keys(v.unresolved[0].digests).sort(), ['x', 'y', 'z']);
});

test('only the same index is compared', () => {
  const v = voteOnCheckpoints([r('a', [100, 'x']), r('b', [200, 'y']), r('c', [300, 'z'])], 3);
  assert.deepEqual(v, { divergent: [], unresolved: [] });
});

test('a member judged at a later index no longer keeps an earlier disagreement open', () => {
  const v = voteOnCheckpoints([r('a', [100, 'x'], [200, 'p']), r('b', [200, 'p']), r('c', [100, 'y'], [200, 'q'])], 3);
  assert.deepEqual(v.divergent.map((d) => d.member), ['c']);
  assert.deepEqual(v.unresolved, []);
});

test('property: with an honest strict majority, exactly the members reporting other digests are divergent', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }), (f, flags) => {
      const n = 2 * f + 1;
      const liars = flags.slice(0, n).map((b, i) => b && i < f).concat(Array(n).fill(false)).slice(0, n);
      const reports = liars.map((lie, i) => r(`m${i}`, [50, lie ? `bad${i}` : 'good']));
      const v = voteOnCheckpoints(reports, n);
      assert.deepEqual(v.divergent.map((d) => d.member).sort(), reports.filter((_, i) => liars[i]).map((x) => x.member).sort());
      assert.deepEqual(v.unresolved, []);
    }),
  );
});
