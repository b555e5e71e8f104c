// KeyIndex against a plain sorted model: ordering, live counts, scans with
// bounds, deletes that empty leaves, bulk loading; invariants checked throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyIndex } from './key-index.ts';

function modelScan(model: Map<string, { v: number; live: boolean }>, start: string, end: string | null) {
  return [...model.keys()].sort().filter((k) => k >= start && (end === null || k < end));
}

test('random inserts, liveness flips and deletes match a sorted model', () => {
  const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', '\u0000', '\u00ff', 'z'), minLength: 1, maxLength: 4 });
  const opArb = fc.oneof(
    fc.record({ op: fc.constant('set' as const), key: keyArb, live: fc.boolean() }),
    fc.record({ op: fc.constant('live' as const), key: keyArb, live: fc.boolean() }),
    fc.record({ op: fc.constant('delete' as const), key: keyArb }),
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 600 }), keyArb, fc.option(keyArb, { nil: null }), (ops, start, end) => {
      const index = new KeyIndex<number>();
      const model = new Map<string, { v: number; live: boolean }>();
      ops.forEach((o, i) => {
        if (o.op === 'set') {
          index.set(o.key, i, o.live);
          model.set(o.key, { v: i, live: o.live });
        } else if (o.op === 'live') {
          assert.equal(index.setLive(o.key, o.live), model.has(o.key));
          if (model.has(o.key)) model.get(o.key)!.live = o.live;
        } else {
          assert.equal(index.delete(o.key), model.delete(o.key));
        }
      });
      index.checkInvariants();
      assert.equal(index.size, model.size);
      const expected = modelScan(model, start, end);
      const seen: string[] = [];
      index.scan(start, end, (k, v, live) => {
        assert.equal(v, model.get(k)!.v);
        assert.equal(live, model.get(k)!.live);
        seen.push(k);
      });
      assert.deepEqual(seen, expected);
      assert.equal(index.countLive(start, end), expected.filter((k) => model.get(k)!.live).length);
      for (const k of expected) assert.equal(index.get(k), model.get(k)!.v);
    }),
    { numRuns: 150 },
  );
});

test('many keys split into a multi-level tree, then deleting all collapses it', () => {
  const index = new KeyIndex<number>();
  const keys = Array.from({ length: 20000 }, (_, i) => `k${String((i * 7919) % 20000).padStart(6, '0')}`);
  keys.forEach((k, i) => index.set(k, i, i % 3 !== 0));
  index.checkInvariants();
  assert.equal(index.size, 20000);
  assert.equal(index.liveCount, keys.filter((_, i) => i % 3 !== 0).length);
  const position = new Map(keys.map((k, i) => [k, i]));
  const inWindow = [...Array(1000)].map((_, j) => `k${String(1000 + j).padStart(6, '0')}`);
  assert.equal(index.countLive('k001000', 'k002000'), inWindow.filter((k) => position.get(k)! % 3 !== 0).length);
  // A scan stops as soon as the visitor says so.
  let visited = 0;
  index.scan('k010000', null, () => ++visited < 5);
  assert.equal(visited, 5);
  for (const k of keys) assert.ok(index.delete(k));
  index.checkInvariants();
  assert.equal(index.size, 0);
  assert.equal(index.liveCount, 0);
  index.set('again', 1, true);
  index.checkInvariants();
  assert.equal(index.get('again'), 1);
});

test('bulkLoad builds a valid tree and rejects unsorted input', () => {
  const index = new KeyIndex<number>();
  const keys = Array.from({ length: 5000 }, (_, i) => `key/${String(i).padStart(5, '0')}`);
  index.bulkLoad(keys, keys.map((_, i) => i), keys.map((_, i) => i % 2 === 0));
  index.checkInvariants();
  assert.equal(index.countLive('key/', 'key0'), 2500);
  index.set('key/00001x', -1, true);
  index.checkInvariants();
  assert.equal(index.get('key/00001x'), -1);
  assert.throws(() => index.bulkLoad(['b', 'a'], [1, 2], [true, true]), /strictly ascending/);
  // The failed load left the previous contents alone.
  assert.equal(index.get('key/04999'), 4999);
});
