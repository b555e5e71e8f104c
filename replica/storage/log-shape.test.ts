// Tests for LogShape, the replay rules shared by recovery and the writer:
// overwrites, gaps, the commit floor and snapshot markers that keep or reset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LogShape } from './log-shape.ts';

function shapeWith(terms: number[]): LogShape {
  const s = new LogShape({ index: 0, term: 0 }, false);
  terms.forEach((t, k) => s.append(k + 1, t));
  return s;
}

test('an entry at index i discards everything from i on', () => {
  const s = shapeWith([1, 1, 1, 2, 2]);
  s.append(3, 3);
  assert.equal(s.lastIndex, 3);
  assert.deepEqual([1, 2, 3].map((i) => s.termAt(i)), [1, 1, 3]);
  assert.equal(s.termAt(4), undefined);
});

test('gaps and rewrites of committed entries are refused', () => {
  const s = shapeWith([1, 1, 1]);
  assert.match(s.appendProblem(5)!, /gap after last index 3/);
  s.raiseFloor(2);
  assert.match(s.appendProblem(2)!, /rewrite a committed entry \(commit 2\)/);
  assert.equal(s.appendProblem(3), undefined);
  s.raiseFloor(1); // the floor never goes down
  assert.equal(s.commitFloor, 2);
});

test('a marker the log agrees with keeps the log; one it contradicts or lacks resets it', () => {
  const s = shapeWith([1, 1, 2, 2]);
  assert.equal(s.applyMarker({ index: 3, term: 2 }), false);
  assert.equal(s.lastIndex, 4);
  assert.equal(s.commitFloor, 3);
  const c = shapeWith([1, 1, 2, 2]);
  assert.equal(c.applyMarker({ index: 3, term: 5 }), true);
  assert.deepEqual([c.baseIndex, c.baseTerm, c.lastIndex], [3, 5, 3]);
  const ahead = shapeWith([1, 1]);
  assert.equal(ahead.applyMarker({ index: 10, term: 4 }), true);
  assert.equal(ahead.lastIndex, 10);
  assert.match(ahead.appendProblem(9)!, /committed|reset/);
  assert.equal(ahead.appendProblem(11), undefined);
});

test('below a base taken from a segment header an entry may land (its predecessors were released)', () => {
  const s = new LogShape({ index: 100, term: 4 }, true);
  s.raiseFloor(90);
  assert.equal(s.appendProblem(95), undefined);
  s.append(95, 5);
  assert.deepEqual([s.baseIndex, s.baseTerm, s.lastIndex, s.termAt(95)], [94, undefined, 95, 5]);
  // An unknown term never makes a marker reset the log.
  assert.equal(s.applyMarker({ index: 94, term: 3 }), false);
});

test('termAt agrees with a naive model under random appends and overwrites', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 6 })), { maxLength: 120 }), (ops) => {
      const s = new LogShape({ index: 0, term: 0 }, false);
      const model: number[] = [];
      for (const [pos, term] of ops) {
        const index = (pos % (model.length + 1)) + 1;
        assert.equal(s.appendProblem(index), undefined);
        s.append(index, term);
        model.length = index - 1;
        model.push(term);
        assert.equal(s.lastIndex, model.length);
      }
      for (let i = 1; i <= model.length; i++) assert.equal(s.termAt(i), model[i - 1]);
      const c = s.clone();
      assert.equal(c.lastTerm(), s.lastTerm());
    }),
    { numRuns: 500 },
  );
});
