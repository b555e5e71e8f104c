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
import pino from 'pino';
import { encodeCommand, type KvCommand } from '../kv/index.ts';
import { StorageFailedError } from '../storage/index.ts';
import { parseFlags } from './flags.ts';
import { startReplica, type ReplicaHandle } from './server.ts';

async function startOne(t: TestContext): Promise<{ handle: ReplicaHandle; fatal: Error[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-durability-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = parseFlags([
    '--name', 'n1',
    '--data-dir', dir,
    '--listen-client-urls', 'http://127.0.0.1:0',
    '--listen-peer-urls', 'http://127.0.0.1:0',
    '--listen-metrics-urls', 'http://127.0.0.1:0',
    '--initial-cluster', 'n1=http://127.0.0.1:1',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:1',
    '--heartbeat-interval', '20',
    '--election-timeout', '200',
  ])!;
  const fatal: Error[] = [];
  const handle = await startReplica(config, { logger: pino({ level: 'silent' }), onFatal: (e) => fatal.push(e) });
  t.after(() => handle.stop({ transferLeadership: false }));
  const deadline = Date.now() + 10_000;
  while (handle.node.status().state !== 'leader') {
    if (Date.now() > deadline) throw new Error('the one member did not become leader within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  return { handle, fatal };
}

let nextRequest = 1;
function put(handle: ReplicaHandle, key: string): Promise<unknown> {
  const cmd: KvCommand = { kind: 'put', requestId: nextRequest++, request: { key: Buffer.from(key), value: Buffer.from('v') } };
  return handle.node.proposeKv(cmd, encodeCommand(cmd));
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
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
  await until('the member reported the failure', () => fatal.length > 0);
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
  await until('the member reported the failure', () => fatal.length > 0);
  assert.ok(failed >= 1);
  assert.ok(fatal[0] instanceof StorageFailedError);
  await until('the loop stopped', () => handle.node.isStopped);
});
