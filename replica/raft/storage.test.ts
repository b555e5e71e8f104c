// MemoryStorage's released snapshot image: the host's loader answers for it,
// a failing loader only delays raft, and a newer snapshot forgets the loader;
// an image is unshared (the host may free it) until raft reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from './storage.ts';
import { SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError } from './errors.ts';
import type { Entry } from './types.ts';
import { emptyConfState } from './types.ts';

function logTo(last: number): MemoryStorage {
  const s = new MemoryStorage();
  const ents: Entry[] = [];
  for (let i = 1; i <= last; i++) ents.push({ index: i, term: 1, type: 'normal', data: new Uint8Array([i]) });
  s.append(ents);
  return s;
}

test('a released snapshot image comes from the loader, each time raft asks, with the same metadata', () => {
  const s = logTo(10);
  const image = new Uint8Array([7, 7, 7]);
  const before = s.createSnapshot(5, emptyConfState(), image);
  let loads = 0;
  assert.equal(s.releaseSnapshotData(5, () => (loads++, new Uint8Array(image))), true);
  assert.equal(loads, 0, 'nothing is loaded until raft asks');
  for (let k = 1; k <= 2; k++) {
    const snap = s.snapshot();
    assert.deepEqual(snap.metadata, before.metadata);
    assert.deepEqual(snap.data, image);
    assert.equal(loads, k);
  }
});

test('releasing another index than the current snapshot changes nothing', () => {
  const s = logTo(10);
  const image = new Uint8Array([1, 2]);
  s.createSnapshot(5, emptyConfState(), image);
  assert.equal(s.releaseSnapshotData(4, () => new Uint8Array()), false);
  assert.equal(s.snapshot().data, image);
  assert.equal(new MemoryStorage().releaseSnapshotData(0, () => new Uint8Array()), false, 'the empty initial snapshot has nothing to release');
});

test('a failing loader makes the snapshot temporarily unavailable, which raft retries', () => {
  const s = logTo(10);
  s.createSnapshot(5, emptyConfState(), new Uint8Array([1]));
  s.releaseSnapshotData(5, () => {
    throw new Error('disk says no');
  });
  assert.throws(() => s.snapshot(), SnapshotTemporarilyUnavailableError);
});

test('a newer snapshot, created or applied, is held in memory again and the old loader is never called', () => {
  const s = logTo(10);
  s.createSnapshot(5, emptyConfState(), new Uint8Array([1]));
  s.releaseSnapshotData(5, () => assert.fail('stale loader called'));
  const created = new Uint8Array([2]);
  s.createSnapshot(8, emptyConfState(), created);
  assert.equal(s.snapshot().data, created);
  s.releaseSnapshotData(8, () => assert.fail('stale loader called'));
  const applied = new Uint8Array([3]);
  s.applySnapshot({ metadata: { index: 20, term: 2, confState: emptyConfState() }, data: applied });
  assert.equal(s.snapshot().data, applied);
});

test('createReleasedSnapshot records a snapshot whose image only the host\'s loader gives', () => {
  const s = logTo(10);
  let loads = 0;
  const image = new Uint8Array([7, 7]);
  const m = s.createReleasedSnapshot(7, emptyConfState(), () => (loads++, image));
  assert.deepEqual({ index: m.index, term: m.term }, { index: 7, term: s.term(7) });
  assert.equal(loads, 0, 'nothing is read until raft asks');
  assert.equal(s.snapshot().data, image);
  assert.equal(loads, 1);
  assert.throws(() => s.createReleasedSnapshot(7, emptyConfState(), () => image), SnapshotOutOfDateError);
});
