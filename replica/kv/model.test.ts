// Property test: random puts, range deletes, simple txns and compactions are
// applied both to KvStore and to a deliberately naive model (full history in
// plain arrays, linear scans); every Range (any revision, range end, limit,
// sort, keys_only, count_only) must answer the same, including errors, and a
// snapshot restored elsewhere must keep answering the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KvStore } from './store.ts';
import { KvError } from './errors.ts';
import { CompareResult, CompareTarget } from './types.ts';
import type { KvCommand, RangeRequest, RangeResponse } from './types.ts';
import { b, s } from './testing.ts';
import { MemorySpill } from './spill.ts';

interface ModelRev { main: number; value: string | null; create: number; version: number }

class Model {
  rev = 1;
  compactRev = -1;
  readonly hist = new Map<string, ModelRev[]>();

  private head(key: string): ModelRev | null {
    const h = this.hist.get(key);
    const last = h?.[h.length - 1];
    return last && last.value !== null ? last : null;
  }

  private write(key: string, value: string | null, main: number): void {
    const cur = this.head(key);
    const rev: ModelRev = value === null
      ? { main, value: null, create: 0, version: 0 }
      : { main, value, create: cur ? cur.create : main, version: cur ? cur.version + 1 : 1 };
    if (!this.hist.has(key)) this.hist.set(key, []);
    this.hist.get(key)!.push(rev);
  }

  private liveIn(start: string, end: string | null): string[] {
    return [...this.hist.keys()].sort().filter((k) => k >= start && (end === null || k < end) && this.head(k));
  }

  put(key: string, value: string): void {
    this.rev++;
    this.write(key, value, this.rev);
  }

  del(start: string, end: string | null): void {
    const doomed = this.liveIn(start, end);
    if (doomed.length === 0) return;
    this.rev++;
    for (const k of doomed) this.write(k, null, this.rev);
  }

  /** txn: if version(key) == version then put(p) and delete(d) else put(f). */
  txn(key: string, version: number, p: string, d: string, f: string): string | null {
    // The duplicate-key rule is checked on the request, whatever branch runs.
    if (p === d) return 'duplicateKey';
    const cur = this.head(key);
    const ok = (cur ? cur.version : 0) === version;
    const main = this.rev + 1;
    let changed = false;
    if (ok) {
      this.write(p, 'then', main);
      changed = true;
      if (this.head(d)) this.write(d, null, main);
    } else {
      this.write(f, 'else', main);
      changed = true;
    }
    if (changed) this.rev = main;
    return null;
  }

  compact(at: number): string | null {
    if (at <= this.compactRev) return 'compacted';
    if (at > this.rev) return 'futureRevision';
    this.compactRev = at;
    return null;
  }

  range(req: { key: string; end: string | null; single: boolean; revision: number; limit: number; sortOrder: number; sortTarget: number; countOnly: boolean; keysOnly: boolean }):
    { error: string } | { keys: string[]; values: string[]; revs: number[][]; count: number; more: boolean; revision: number } {
    if (req.revision > this.rev) return { error: 'futureRevision' };
    if (req.revision > 0 && req.revision < this.compactRev) return { error: 'compacted' };
    const at = req.revision > 0 ? req.revision : this.rev;
    const rows: Array<{ key: string; rev: ModelRev }> = [];
    for (const key of [...this.hist.keys()].sort()) {
      if (req.single ? key !== req.key : key < req.key || (req.end !== null && key >= req.end)) continue;
      const visible = this.hist.get(key)!.filter((r) => r.main <= at).pop();
      if (visible && visible.value !== null) rows.push({ key, rev: visible });
    }
    const count = rows.length;
    if (req.countOnly) return { keys: [], values: [], revs: [], count, more: false, revision: this.rev };
    const field = (r: { key: string; rev: ModelRev }): string | number =>
      [r.key, r.rev.version, r.rev.create, r.rev.main, r.rev.value!][req.sortTarget];
    let order = req.sortOrder;
    if (req.sortTarget !== 0 && order === 0) order = 1;
    if (order !== 0) {
      rows.sort((x, y) => {
        const a = field(x);
        const c = field(y);
        const r = a < c ? -1 : a > c ? 1 : 0;
        return order === 2 ? -r : r;
      });
    }
    const cut = req.limit > 0 ? rows.slice(0, req.limit) : rows;
    return {
      keys: cut.map((r) => r.key),
      values: cut.map((r) => (req.keysOnly ? '' : r.rev.value!)),
      revs: cut.map((r) => [r.rev.create, r.rev.main, r.rev.version]),
      count,
      more: cut.length < rows.length,
      revision: this.rev,
    };
  }
}

const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', '\u0000', '\u00ff'), minLength: 1, maxLength: 3 });
const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('put' as const), key: keyArb, value: fc.string({ maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), key: keyArb, end: fc.option(fc.oneof(keyArb, fc.constant('\u0000')), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('txn' as const), key: keyArb, version: fc.nat(3), p: keyArb, d: keyArb, f: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('compact' as const), back: fc.nat(6) }) },
);
const rangeArb = fc.record({
  key: keyArb,
  end: fc.option(fc.oneof(keyArb, fc.constant('\u0000')), { nil: undefined }),
  back: fc.integer({ min: -2, max: 8 }),
  limit: fc.nat(4),
  sortOrder: fc.nat(2),
  sortTarget: fc.nat(4),
  countOnly: fc.boolean(),
  keysOnly: fc.boolean(),
});

function asComparable(r: RangeResponse) {
  return {
    keys: r.kvs.map((kv) => s(kv.key)),
    values: r.kvs.map((kv) => s(kv.value)),
    revs: r.kvs.map((kv) => [kv.createRevision, kv.modRevision, kv.version]),
    count: r.count,
    more: r.more,
    revision: r.header.revision,
  };
}

for (const spilled of [false, true]) test(`Range on KvStore agrees with a naive MVCC model${spilled ? ' (old values spilled)' : ''}`, () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(rangeArb, { minLength: 1, maxLength: 12 }), (ops, ranges) => {
      const store = new KvStore({ checkpointInterval: 5, ...(spilled ? { spill: new MemorySpill() } : {}) });
      const model = new Model();
      let index = 0;
      for (const o of ops) {
        let expectedError: string | null = null;
        let result;
        if (o.op === 'put') {
          model.put(o.key, o.value);
          result = store.apply(++index, { kind: 'put', requestId: index, request: { key: b(o.key), value: b(o.value) } });
        } else if (o.op === 'del') {
          // A range end of "\0" means "to the end"; an empty one means the key alone.
          const end = o.end === undefined ? o.key + '\u0000' : o.end === '\u0000' ? null : o.end;
          model.del(o.key, end);
          result = store.apply(++index, { kind: 'deleteRange', requestId: index, request: { key: b(o.key), ...(o.end !== undefined ? { rangeEnd: b(o.end) } : {}) } });
        } else if (o.op === 'txn') {
          expectedError = model.txn(o.key, o.version, o.p, o.d, o.f);
          result = store.apply(++index, {
            kind: 'txn', requestId: index, request: {
              compare: [{ key: b(o.key), target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: o.version }],
              success: [{ requestPut: { key: b(o.p), value: b('then') } }, { requestDeleteRange: { key: b(o.d) } }],
              failure: [{ requestPut: { key: b(o.f), value: b('else') } }],
            },
          });
        } else {
          const at = model.rev - o.back;
          expectedError = model.compact(at);
          result = store.apply(++index, { kind: 'compact', requestId: index, request: { revision: at } });
        }
        assert.equal(result.kind === 'error' ? result.error.reason : null, expectedError);
        assert.equal(store.revision, model.rev);
      }
      const restored = new KvStore({ checkpointInterval: 5, ...(spilled ? { spill: new MemorySpill() } : {}) });
      restored.restore(store.snapshot());
      for (const q of ranges) {
        const revision = q.back < 0 ? q.back : Math.max(0, model.rev - q.back);
        const req: RangeRequest = {
          key: b(q.key), limit: q.limit, revision, sortOrder: q.sortOrder, sortTarget: q.sortTarget,
          countOnly: q.countOnly, keysOnly: q.keysOnly, ...(q.end !== undefined ? { rangeEnd: b(q.end) } : {}),
        };
        const expected = model.range({
          key: q.key, end: q.end === '\u0000' ? null : q.end ?? null, single: q.end === undefined,
          revision, limit: q.limit, sortOrder: q.sortOrder, sortTarget: q.sortTarget, countOnly: q.countOnly, keysOnly: q.keysOnly,
        });
        for (const target of [store, restored]) {
          let actual;
          try {
            actual = asComparable(target.range(req));
          } catch (err) {
            if (!(err instanceof KvError)) throw err;
            actual = { error: err.reason };
          }
          assert.deepEqual(actual, expected);
        }
      }
      assert.equal(restored.digest(), store.digest());
      assert.ok(store.verifyDigest());
    }),
    { numRuns: 300 },
  );
});

test('a store restored from a snapshot mid-stream stays identical to the original (results, digests, checkpoints, bytes), spilled or not', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 50 }), fc.nat(), fc.boolean(), (ops, cutSeed, originalSpills) => {
      const cut = cutSeed % ops.length;
      const options = { checkpointInterval: 3, checkpointsKept: 4 };
      // One of the two keeps old values in a spill, the other in memory: the answers must not tell them apart.
      const original = new KvStore({ ...options, ...(originalSpills ? { spill: new MemorySpill() } : {}) });
      const stores = [original];
      ops.forEach((o, i) => {
        if (i === cut) {
          const copy = new KvStore({ ...options, ...(originalSpills ? {} : { spill: new MemorySpill() }) });
          copy.restore(original.snapshot());
          stores.push(copy);
        }
        // Every other log index is a raft no-op or configuration change.
        const index = 2 * (i + 1);
        const cmd: KvCommand =
          o.op === 'put' ? { kind: 'put', requestId: index, request: { key: b(o.key), value: b(o.value), prevKv: true } }
          : o.op === 'del' ? { kind: 'deleteRange', requestId: index, request: { key: b(o.key), prevKv: true, ...(o.end !== undefined ? { rangeEnd: b(o.end) } : {}) } }
          : o.op === 'txn' ? {
            kind: 'txn', requestId: index, request: {
              compare: [{ key: b(o.key), target: CompareTarget.VERSION, result: CompareResult.GREATER, version: o.version }],
              success: [{ requestPut: { key: b(o.p), value: b('then') } }, { requestRange: { key: b(o.d), rangeEnd: b('\u0000') } }],
              failure: [{ requestDeleteRange: { key: b(o.f) } }],
            },
          }
          : { kind: 'compact', requestId: index, request: { revision: original.revision - o.back } };
        const results = stores.map((store) => {
          store.advanceTo(index - 1);
          return JSON.stringify(store.apply(index, cmd));
        });
        for (const r of results) assert.equal(r, results[0]);
      });
      const [a, c] = stores;
      assert.deepEqual(c.snapshot(), a.snapshot());
      assert.deepEqual(c.checkpoints(), a.checkpoints());
      assert.equal(c.digest(), a.digest());
      assert.ok(c.verifyDigest());
    }),
    { numRuns: 200 },
  );
});
