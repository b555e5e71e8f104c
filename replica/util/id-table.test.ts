// IdTable must answer as a Map would for any sequence of sets and deletes
// (backward-shift deletion and resizing are where open addressing goes
// wrong), and must not keep a value reachable once it is deleted or once an
// array it outgrew is let go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { IdTable } from './id-table.ts';

type Op = { kind: 'set'; id: number; v: number } | { kind: 'delete'; id: number } | { kind: 'clear' };

const id = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(2 ** 53 - 1, 2 ** 32, 2 ** 32 + 1, 1 << 16));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), id, v: fc.integer() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('delete' as const), id }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

function check(table: IdTable<{ v: number }>, model: Map<number, { v: number }>): void {
  assert.equal(table.size, model.size);
  for (const [k, v] of model) assert.equal(table.get(k), v, `id ${k}`);
  const entries: [number, { v: number }][] = [];
  table.forEach((v, id) => entries.push([id, v]));
  entries.sort((a, b) => a[0] - b[0]);
  assert.deepEqual(entries, [...model].sort((a, b) => a[0] - b[0]));
}

test('IdTable answers as a Map for any sequence of sets, deletes and clears', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const table = new IdTable<{ v: number }>();
      const model = new Map<number, { v: number }>();
      for (const o of ops) {
        if (o.kind === 'set') {
          const value = { v: o.v };
          table.set(o.id, value);
          model.set(o.id, value);
        } else if (o.kind === 'delete') {
          assert.equal(table.delete(o.id), model.delete(o.id));
        } else {
          table.clear();
          model.clear();
        }
        if (o.kind !== 'clear') assert.equal(table.get(o.id), model.get(o.id));
      }
      check(table, model);
    }),
    { numRuns: 300 },
  );
});

test('IdTable keeps sequential ids under churn, through growth and shrinking', () => {
  const table = new IdTable<{ v: number }>();
  const model = new Map<number, { v: number }>();
  // a window of live ids sliding forward (requests in flight), widening to 5000 then narrowing
  const live: number[] = [];
  let next = 1;
  let peak = 0;
  for (const width of [64, 5000, 64, 3]) {
    for (let n = 0; n < 20_000; n++) {
      const value = { v: next };
      table.set(next, value);
      model.set(next, value);
      live.push(next);
      while (live.length > width) {
        const old = live.shift()!;
        assert.equal(table.delete(old), model.delete(old));
      }
      next += 2;
    }
    check(table, model);
    peak = Math.max(peak, table.size);
  }
  assert.equal(peak, 5000);
  assert.equal(table.size, 3);
});

test('IdTable refuses undefined values and ids that are not safe integers', () => {
  const table = new IdTable<unknown>();
  assert.throws(() => table.set(1, undefined), /undefined is not a value/);
  assert.throws(() => table.set(1.5, 'x'), /not a safe integer/);
  assert.throws(() => table.set(2 ** 53, 'x'), /not a safe integer/);
  assert.equal(table.size, 0);
});

/** fill sets ids 0..n-1 to fresh objects (made here, so no frame of the test holds one) and returns weak references to them. */
function fill(table: IdTable<object>, n: number): WeakRef<object>[] {
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < n; i++) {
    const value = {};
    refs.push(new WeakRef(value));
    table.set(i, value);
  }
  return refs;
}

test('IdTable lets go of deleted values and of what it held before growing', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const table = new IdTable<object>();
  const refs = fill(table, 1000);
  for (let i = 0; i < 1000; i++) table.delete(i);
  assert.equal(table.size, 0);
  // WeakRef targets are kept until the current job ends: collect on a later turn
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0);
});
