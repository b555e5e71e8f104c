// Quorum arithmetic and fault tolerance over majority and joint configurations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { currentFaultTolerance, hasHealthyQuorum, quorumSize, configString, type Configuration } from './quorum.ts';

const simple = (voters: number[], learners: number[] = []): Configuration => ({ voters, outgoing: [], learners, joint: false });
const joint = (incoming: number[], outgoing: number[]): Configuration => ({ voters: incoming, outgoing, learners: [], joint: true });

test('quorum sizes', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 7].map(quorumSize), [1, 2, 2, 3, 3, 4]);
});

test('healthy quorum of a majority configuration; learners do not count', () => {
  assert.equal(hasHealthyQuorum(simple([1, 2, 3]), new Set([1, 2])), true);
  assert.equal(hasHealthyQuorum(simple([1, 2, 3]), new Set([1])), false);
  assert.equal(hasHealthyQuorum(simple([1, 2, 3], [4, 5]), new Set([1, 4, 5])), false);
  assert.equal(hasHealthyQuorum(simple([]), new Set([1])), false, 'no known voters: no quorum');
});

test('a joint configuration needs a healthy majority in both halves', () => {
  const c = joint([1, 2, 4], [1, 2, 3]);
  assert.equal(hasHealthyQuorum(c, new Set([1, 2])), true);
  assert.equal(hasHealthyQuorum(c, new Set([1, 4])), false, 'C_old has only 1 of 3');
  assert.equal(hasHealthyQuorum(c, new Set([3, 4])), false);
  assert.equal(configString(c), '(1 2 4)&&(1 2 3)');
});

test('current fault tolerance is healthy voters minus quorum, floored, the worse half while joint', () => {
  assert.equal(currentFaultTolerance(simple([1, 2, 3]), new Set([1, 2, 3])), 1);
  assert.equal(currentFaultTolerance(simple([1, 2, 3]), new Set([1, 2])), 0);
  assert.equal(currentFaultTolerance(simple([1, 2, 3]), new Set([1])), 0);
  assert.equal(currentFaultTolerance(simple([1, 2, 3, 4, 5]), new Set([1, 2, 3, 4, 5])), 2);
  assert.equal(currentFaultTolerance(simple([1, 2, 3, 4, 5]), new Set([1, 2, 3, 4])), 1);
  assert.equal(currentFaultTolerance(simple([1]), new Set([1])), 0);
  assert.equal(currentFaultTolerance(joint([1, 2, 3, 4, 5], [1, 2, 3]), new Set([1, 2, 3, 4, 5])), 1, 'min of 2 and 1');
  assert.equal(currentFaultTolerance(joint([1, 2, 3, 6, 7], [1, 2, 3, 4, 5]), new Set([1, 2, 3, 6, 7])), 0, 'C_old has 3 of 5');
});

test('property: the group survives exactly `current` more failures of healthy voters, whichever fail', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 7 }),
      fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 7 }),
      fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 9 }),
      (inc, out, healthyIds) => {
        const c: Configuration = { voters: inc, outgoing: out, learners: [], joint: out.length > 0 };
        const healthy = new Set(healthyIds);
        const ft = currentFaultTolerance(c, healthy);
        if (!hasHealthyQuorum(c, healthy)) return assert.equal(ft, 0);
        // Failing any `ft` healthy voters keeps a quorum; some set of ft+1 breaks it.
        const hv = [...new Set([...inc, ...out])].filter((id) => healthy.has(id));
        const worst = (k: number) => {
          // The adversary fails voters of the weakest half first.
          const halves = c.joint ? [inc, out] : [inc];
          return halves.some((h) => {
            const left = h.filter((id) => healthy.has(id)).length - k;
            return left < quorumSize(h.length);
          });
        };
        assert.equal(worst(ft), false);
        assert.equal(worst(ft + 1) || ft + 1 > hv.length, true);
      },
    ),
  );
});
