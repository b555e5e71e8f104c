// The log: appends with conflicts, the commit rule for old terms, fast
// back-off, the unstable/stable split and slicing across it, compaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog } from './raft-log.ts';
import { MemoryStorage } from '../storage.ts';
import { CompactedError } from '../errors.ts';
import type { Entry } from '../types.ts';

const ent = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });

function logWith(terms: number[]): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  storage.append(terms.map((t, i) => ent(i + 1, t)));
  return { log: new RaftLog(storage, Infinity), storage };
}

test('maybeAppend accepts matching appends, truncates conflicts, and refuses mismatches', () => {
  const { log } = logWith([1, 1, 2]);
  assert.equal(log.maybeAppend(3, 2, 3, [ent(4, 2)]), 4);
  assert.equal(log.committed, 3);
  // conflicting suffix from a newer leader replaces index 4
  assert.equal(log.maybeAppend(3, 2, 3, [ent(4, 3), ent(5, 3)]), 5);
  assert.equal(log.term(4), 3);
  // prev entry mismatch
  assert.equal(log.maybeAppend(5, 9, 5, [ent(6, 9)]), undefined);
  // truncating a committed entry is a bug
  assert.throws(() => log.maybeAppend(1, 1, 1, [ent(2, 7)]), /conflicts with committed entry/);
});

test('only an entry of the current term is committed by counting', () => {
  const { log } = logWith([1, 1, 2]);
  assert.equal(log.maybeCommit(3, 3), false, 'term-2 entry in term 3: not by counting');
  assert.equal(log.committed, 0);
  assert.equal(log.maybeCommit(3, 2), true);
  assert.equal(log.committed, 3);
  assert.equal(log.maybeCommit(2, 2), false, 'never backwards');
});

test('findConflictByTerm skips a whole term at a time', () => {
  const { log } = logWith([1, 1, 2, 2, 2, 4, 4]);
  assert.equal(log.findConflictByTerm(7, 3), 5);
  assert.equal(log.findConflictByTerm(7, 1), 2);
  assert.equal(log.findConflictByTerm(7, 4), 7);
  assert.equal(log.findConflictByTerm(9, 1), 9, 'beyond the last index: unchanged');
});

test('slices span durable and unstable entries; compacted ranges throw', () => {
  const { log, storage } = logWith([1, 1, 1, 1]);
  log.append([ent(5, 2), ent(6, 2)]);
  assert.deepEqual(log.slice(3, 7, Infinity).map((e) => e.index), [3, 4, 5, 6]);
  assert.deepEqual(log.slice(3, 7, 30).map((e) => e.index), [3], 'size limit keeps at least one');
  storage.createSnapshot(3, { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, new Uint8Array());
  storage.compact(3);
  assert.throws(() => log.slice(2, 5, Infinity), CompactedError);
  assert.equal(log.firstIndex(), 4);
  log.stableTo(6, 2);
  assert.equal(log.unstableEntries().length, 0);
  log.stableTo(6, 9); // a stale acknowledgement changes nothing
});

test('isUpToDate compares last term, then last index', () => {
  const { log } = logWith([1, 2, 2]);
  assert.ok(log.isUpToDate(3, 2));
  assert.ok(log.isUpToDate(1, 3));
  assert.ok(!log.isUpToDate(2, 2));
  assert.ok(!log.isUpToDate(9, 1));
});
