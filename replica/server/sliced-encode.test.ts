// encodeInSlices: the encode runs in several short slices with the event loop
// turning in between, gives the synchronous bytes, stops at cancel and reports failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { KvStore } from '../kv/index.ts';
import { encodeInSlices } from './sliced-encode.ts';

function filledStore(keys: number): KvStore {
  const store = new KvStore();
  for (let i = 0; i < keys; i++) {
    store.apply(i + 1, { kind: 'put', requestId: i + 1, request: { key: Buffer.from(`key-${i}`), value: Buffer.alloc(64, 'v') } });
  }
  return store;
}

test('the encode runs in slices between turns of the loop and gives the bytes of snapshot()', async () => {
  const store = filledStore(3000);
  const expected = Buffer.from(store.snapshot(3)).subarray(3);
  let finishedCalls = 0;
  // A zero time budget: one step of 100 revisions per slice.
  const job = encodeInSlices(store.beginSnapshot(3), () => finishedCalls++, 0, 100);
  assert.equal(job.finished, false, 'nothing runs before the next turn of the loop');
  let turns = 0;
  let writes = 3000;
  while (!job.finished) {
    // Other work between slices: the store moves on.
    store.apply(++writes, { kind: 'put', requestId: writes, request: { key: Buffer.from(`key-${turns}`), value: Buffer.from('late') } });
    await new Promise<void>((resolve) => setImmediate(resolve));
    turns++;
  }
  await job.done;
  assert.equal(finishedCalls, 1);
  assert.equal(job.error, undefined);
  assert.ok(job.stats.slices >= 60, `${job.stats.slices} slices`);
  assert.ok(turns >= job.stats.slices - 1, `${turns} turns for ${job.stats.slices} slices`);
  assert.ok(Buffer.from(job.result!).subarray(3).equals(expected));
});

test('cancel stops the encode before its next slice; done settles without a result', async () => {
  const store = filledStore(2000);
  let finishedCalls = 0;
  const job = encodeInSlices(store.beginSnapshot(), () => finishedCalls++, 0, 50);
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
  const slicesAtCancel = job.stats.slices;
  assert.ok(slicesAtCancel >= 1 && !job.finished);
  job.cancel();
  await job.done;
  assert.equal(job.finished, true);
  assert.equal(job.result, undefined);
  assert.equal(job.stats.slices, slicesAtCancel);
  assert.equal(finishedCalls, 0);
});

test('a failing encoder ends the job with its error', async () => {
  const boom = new Error('boom');
  const encoder = { step: () => { throw boom; }, result: () => new Uint8Array() } as unknown as Parameters<typeof encodeInSlices>[0];
  let finishedCalls = 0;
  const job = encodeInSlices(encoder, () => finishedCalls++);
  await job.done;
  assert.equal(job.error, boom);
  assert.equal(job.result, undefined);
  assert.equal(finishedCalls, 1);
});
