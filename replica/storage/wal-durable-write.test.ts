// How the WAL writer makes a synced save durable: by default a write on the
// loop's thread + a pooled fdatasync; with durableWrites 'o_dsync', in one O_DSYNC write when nothing
// unsynced precedes it, with write + fdatasync otherwise (O_DSYNC covers only
// the bytes of its own call); unsynced saves waiting for the next
// synced round, or LAZY_WRITE_MS, or close; failures of the one-call path
// as fatal as a failed fsync; blocking writes (a follower's) done with
// synchronous calls before save returns, failures as fatal. White-box: the tests count calls on the open
// segment's two file handles, and the synchronous writes on its descriptor.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test, type TestContext } from 'node:test';
import { StorageFailedError } from './errors.ts';
import { openStorage, type DiskStorage } from './index.ts';
import { entries, tempDataDir } from './testing/helpers.ts';

const ids = { clusterId: 0x77, memberId: 0x3 };
const ODSYNC = { preallocate: true, durableWrites: 'o_dsync' } as const;

interface Handle {
  write(...args: unknown[]): Promise<unknown>;
  writev(...args: unknown[]): Promise<unknown>;
  datasync(): Promise<void>;
}

interface Calls {
  plainWrites: number;
  dsyncWrites: number;
  datasyncs: number;
}

/** spy counts the writes to the writer's open segment through each descriptor (plain: on the loop's thread or pooled; O_DSYNC: pooled) and its fdatasyncs. */
function spy(t: TestContext, storage: DiskStorage): Calls {
  const current = (storage as unknown as { writer: { current: { fh: Handle & { fd: number }; dsync: Handle | undefined } } }).writer.current;
  assert.ok(current.dsync, 'this file system opened the segment with O_DSYNC');
  const onLoop = syncWrites(t, current.fh.fd);
  const plain = countCalls(current.fh);
  const dsync = countCalls(current.dsync!);
  return {
    get plainWrites() {
      return onLoop() + plain.writes;
    },
    get dsyncWrites() {
      return dsync.writes;
    },
    get datasyncs() {
      return plain.datasyncs;
    },
  };
}

/** syncWrites counts the synchronous writes made to descriptor `fd` from now on (the WAL's writes on the loop's thread). */
function syncWrites(t: TestContext, fd: number): () => number {
  const one = t.mock.method(fs, 'writeSync');
  const vec = t.mock.method(fs, 'writevSync');
  const start = [one.mock.callCount(), vec.mock.callCount()];
  return () => [...one.mock.calls.slice(start[0]), ...vec.mock.calls.slice(start[1])].filter((c) => c.arguments[0] === fd).length;
}

/** countCalls counts the writes and fdatasyncs made through a file handle (each one a trip through libuv's thread pool). */
function countCalls(fh: Handle): { writes: number; datasyncs: number } {
  const calls = { writes: 0, datasyncs: 0 };
  const write = fh.write.bind(fh);
  const writev = fh.writev.bind(fh);
  const datasync = fh.datasync.bind(fh);
  fh.write = (...a) => (calls.writes++, write(...a));
  fh.writev = (...a) => (calls.writes++, writev(...a));
  fh.datasync = () => (calls.datasyncs++, datasync());
  return calls;
}

/** reopened is what a restart recovers from `dir`: the entries' indexes and the commit index. */
async function reopened(dir: string): Promise<{ indexes: number[]; commit: number }> {
  const r = await openStorage(dir, ids);
  await r.storage.close();
  return { indexes: r.state.entries.map((e) => e.index), commit: r.state.hardState.commit };
}

test('by default a synced save is one write on the loop and one pooled fdatasync, both started before save returns; an unsynced save rides along with it', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { preallocate: true });
  const current = (storage as unknown as { writer: { current: { fh: Handle & { fd: number }; dsync: Handle | undefined } } }).writer.current;
  assert.equal(current.dsync, undefined, 'no O_DSYNC descriptor unless asked for');
  const calls = countCalls(current.fh);
  const written = syncWrites(t, current.fh.fd);
  const fsyncs = storage.stats().fsyncs;
  const saved = storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  assert.equal(written(), 1, 'written before save returned');
  assert.deepEqual(calls, { writes: 0, datasyncs: 1 }, 'the fdatasync was handed to the pool before save returned');
  assert.equal(storage.stats().fsyncs, fsyncs, 'not durable yet');
  await saved;
  assert.equal(storage.stats().fsyncs, fsyncs + 1);
  const lazy = storage.save({ term: 1, vote: 1, commit: 3 }, [], false);
  await storage.save(undefined, entries(4, 4, 1), true);
  await lazy;
  assert.equal(written(), 2, 'the commit-only hard state went out in the next synced round');
  assert.deepEqual(calls, { writes: 0, datasyncs: 2 });
  await storage.close();
  assert.deepEqual(await reopened(dir), { indexes: [1, 2, 3, 4], commit: 3 });
});

test('a synced save with nothing unsynced before it is one O_DSYNC write, submitted before save returns, and no fdatasync', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, ODSYNC);
  const calls = spy(t, storage);
  const saved = storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  assert.deepEqual(calls, { plainWrites: 0, dsyncWrites: 1, datasyncs: 0 }, 'the write left before save returned');
  await saved;
  await storage.save({ term: 1, vote: 1, commit: 3 }, entries(4, 4, 1), true);
  assert.deepEqual(calls, { plainWrites: 0, dsyncWrites: 2, datasyncs: 0 });
  assert.equal(storage.stats().fsyncs, 2, 'each durable write counts as the round’s fsync');
  await storage.close();
  assert.deepEqual(await reopened(dir), { indexes: [1, 2, 3, 4], commit: 3 });
});

test('an unsynced save waits for the next synced save and goes out in its O_DSYNC write', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, ODSYNC);
  await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  const calls = spy(t, storage);
  let lazyDone = false;
  const lazy = storage.save({ term: 1, vote: 1, commit: 2 }, [], false).then(() => (lazyDone = true));
  await Promise.resolve();
  assert.deepEqual(calls, { plainWrites: 0, dsyncWrites: 0, datasyncs: 0 }, 'nothing written for the unsynced save alone');
  assert.equal(lazyDone, false);
  await storage.save({ term: 1, vote: 1, commit: 3 }, entries(4, 5, 1), true);
  await lazy;
  assert.deepEqual(calls, { plainWrites: 0, dsyncWrites: 1, datasyncs: 0 }, 'both in one durable write');
  await storage.close();
  assert.deepEqual(await reopened(dir), { indexes: [1, 2, 3, 4, 5], commit: 3 });
});

test('an unsynced save written alone (after LAZY_WRITE_MS) makes the next synced save use fdatasync, not O_DSYNC', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, ODSYNC);
  await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  const calls = spy(t, storage);
  await storage.save({ term: 1, vote: 1, commit: 2 }, [], false); // resolves once the timer wrote it
  assert.deepEqual(calls, { plainWrites: 1, dsyncWrites: 0, datasyncs: 0 }, 'written to the OS, not synced');
  await storage.save(undefined, entries(4, 4, 1), true);
  // An O_DSYNC write would make only its own bytes durable and leave the commit record before it in the page cache.
  assert.deepEqual(calls, { plainWrites: 2, dsyncWrites: 0, datasyncs: 1 });
  await storage.save(undefined, entries(5, 5, 1), true);
  assert.deepEqual(calls, { plainWrites: 2, dsyncWrites: 1, datasyncs: 1 }, 'back to one durable write once nothing is unsynced');
  await storage.close();
});

test('close writes an unsynced save still waiting', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, ODSYNC);
  await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  const lazy = storage.save({ term: 1, vote: 1, commit: 3 }, [], false);
  await storage.close();
  await lazy;
  const r = await openStorage(dir, ids);
  await r.storage.close();
  assert.equal(r.state.hardState.commit, 3);
});

test('a failed O_DSYNC write stops the storage like a failed fsync: this and every later save reject, what was acknowledged survives', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, ODSYNC);
  await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  const current = (storage as unknown as { writer: { current: { dsync: Handle } } }).writer.current;
  const eio = () => Promise.reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
  current.dsync.write = eio;
  current.dsync.writev = eio;
  await assert.rejects(storage.save(undefined, entries(4, 4, 1), true), StorageFailedError);
  await assert.rejects(storage.save(undefined, entries(5, 5, 1), true), StorageFailedError);
  await assert.rejects(storage.save({ term: 1, vote: 1, commit: 3 }, [], false), StorageFailedError);
  await storage.close();
  const r = await openStorage(dir, ids);
  await r.storage.close();
  assert.deepEqual(r.state.entries.map((e) => e.index), [1, 2, 3]);
});

test('after a restart the first synced save uses fdatasync: bytes an earlier process left unsynced are made durable too', async (t) => {
  const dir = tempDataDir(t);
  const first = await openStorage(dir, ids, ODSYNC);
  await first.storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  await first.storage.close();
  const { storage } = await openStorage(dir, ids, ODSYNC);
  const calls = spy(t, storage);
  await storage.save(undefined, entries(4, 4, 1), true);
  assert.deepEqual(calls, { plainWrites: 1, dsyncWrites: 0, datasyncs: 1 });
  await storage.save(undefined, entries(5, 5, 1), true);
  assert.deepEqual(calls, { plainWrites: 1, dsyncWrites: 1, datasyncs: 1 });
  await storage.close();
});

test('with blocking writes a synced save is written and fdatasynced before save returns, without a thread-pool call; off again, the fdatasync goes back to the pool', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { preallocate: true });
  const current = (storage as unknown as { writer: { current: { fh: Handle & { fd: number } } } }).writer.current;
  const calls = countCalls(current.fh);
  const written = syncWrites(t, current.fh.fd);
  storage.setBlockingWrites(true);
  const fsyncs = storage.stats().fsyncs;
  const saved = storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  assert.equal(storage.stats().fsyncs, fsyncs + 1, 'durable when save returned');
  await saved;
  const lazy = storage.save({ term: 1, vote: 1, commit: 3 }, [], false);
  storage.save(undefined, entries(4, 4, 1), true);
  assert.equal(storage.stats().fsyncs, fsyncs + 2, 'the unsynced save rode along with the next synced one');
  await lazy;
  assert.deepEqual(calls, { writes: 0, datasyncs: 0 }, 'no call went through the thread pool');
  storage.setBlockingWrites(false);
  const pooled = storage.save(undefined, entries(5, 5, 1), true);
  assert.equal(storage.stats().fsyncs, fsyncs + 2, 'not durable yet: the fdatasync runs in the pool');
  await pooled;
  assert.deepEqual(calls, { writes: 0, datasyncs: 1 });
  assert.equal(written(), 3, 'every write was made on the loop');
  await storage.close();
  assert.deepEqual(await reopened(dir), { indexes: [1, 2, 3, 4, 5], commit: 3 });
});

test('a failed blocking write stops the storage like a failed fsync: this and every later save reject, what was acknowledged survives', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { preallocate: true });
  storage.setBlockingWrites(true);
  await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  const current = (storage as unknown as { writer: { current: { fh: { fd: number } } } }).writer.current;
  const realFd = current.fh.fd;
  Object.defineProperty(current.fh, 'fd', { value: -1, configurable: true }); // every synchronous call on it now throws
  await assert.rejects(storage.save(undefined, entries(4, 4, 1), true), StorageFailedError);
  await assert.rejects(storage.save(undefined, entries(5, 5, 1), true), StorageFailedError);
  Object.defineProperty(current.fh, 'fd', { value: realFd, configurable: true });
  await storage.close();
  const r = await openStorage(dir, ids);
  await r.storage.close();
  assert.deepEqual(r.state.entries.map((e) => e.index), [1, 2, 3]);
});
