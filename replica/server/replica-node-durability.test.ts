// The loop's durability rules with a real WAL under a one-member group (the
// leader's own fsync is the whole quorum): a write whose WAL write fails is
// never applied nor acknowledged and the member stops; a commit-only hard
// state, which the loop no longer waits for, stops the member too when its
// write fails — after the entries it covers were durable and answered.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { StorageFailedError } from '../storage/index.ts';
import type { ReplicaHandle } from './server.ts';
import { proposePut as put, startOneMember, until } from './testing.ts';

async function startOne(t: TestContext): Promise<{ handle: ReplicaHandle; fatal: Error[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-durability-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fatal: Error[] = [];
  const handle = await startOneMember(t, dir, (e) => fatal.push(e));
  return { handle, fatal };
}

/** diskOf reaches the member's DiskStorage (white-box). */
function diskOf(handle: ReplicaHandle): { save: (...a: unknown[]) => Promise<void> } {
  return (handle.node as unknown as { o: { disk: { save: (...a: unknown[]) => Promise<void> } } }).o.disk;
}

test('a write whose WAL write fails is neither applied nor acknowledged, and the member stops', async (t) => {
  const { handle, fatal } = await startOne(t);
  await put(handle, 'before');
  const revision = handle.node.kv.revision;
  const disk = diskOf(handle);
  const save = disk.save.bind(disk);
  disk.save = (hs, entries, sync) =>
    (entries as unknown[]).length > 0 ? Promise.reject(new StorageFailedError('test.wal', new Error('EIO'))) : save(hs, entries, sync);
  await assert.rejects(put(handle, 'lost'));
  await until('the member reported the failure', () => fatal.length > 0, 5000);
  assert.ok(fatal[0] instanceof StorageFailedError);
  assert.equal(handle.node.kv.revision, revision, 'the write was not applied');
  assert.equal(handle.node.isStopped, true);
});

test('a commit-only hard state that fails to be written stops the member, after the durable write it covers was answered', async (t) => {
  const { handle, fatal } = await startOne(t);
  await put(handle, 'before');
  const disk = diskOf(handle);
  const save = disk.save.bind(disk);
  let failed = 0;
  disk.save = (hs, entries, sync) => {
    if ((entries as unknown[]).length === 0 && sync === false && hs !== undefined) {
      failed++;
      return Promise.reject(new StorageFailedError('test.wal', new Error('EIO')));
    }
    return save(hs, entries, sync);
  };
  await put(handle, 'durable'); // its entry was fsynced before it committed
  await until('the member reported the failure', () => fatal.length > 0, 5000);
  assert.ok(failed >= 1);
  assert.ok(fatal[0] instanceof StorageFailedError);
  await until('the loop stopped', () => handle.node.isStopped, 5000);
});
