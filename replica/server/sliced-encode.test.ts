// encodeInSlices: the encode runs in several short slices with the event loop
// turning in between, hands each chunk to the writer and waits for it, gives
// the synchronous bytes, stops at cancel and reports failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { KvStore } from '../kv/index.ts';
import { encodeInSlices, type ChunkedEncoder } from './sliced-encode.ts';

function filledStore(keys: number): KvStore {
  const store = new KvStore();
  for (let i = 0; i < keys; i++) {
    store.apply(i + 1, { kind: 'put', requestId: i + 1, request: { key: Buffer.from(`key-${i}`), value: Buffer.alloc(64, 'v') } });
  }
  return store;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('the encode runs in slices between turns of the loop, writes chunk by chunk, and gives the bytes of snapshot()', async () => {
  const store = filledStore(3000);
  const expected = Buffer.from(store.snapshot());
  const parts: Buffer[] = [];
  let writing = false;
  const write = async (chunk: Uint8Array) => {
    assert.equal(writing, false, 'one write at a time');
    writing = true;
    parts.push(Buffer.from(chunk));
    await turn(); // the write takes a while: the encoder must not step meanwhile
    writing = false;
  };
  // A zero time budget: one step of 100 revisions per slice; chunks of 4 KiB.
  const job = encodeInSlices(store.streamSnapshot(4096), write, 0, 100);
  assert.equal(job.finished, false, 'nothing runs before the next turn of the loop');
  let turns = 0;
  let writes = 3000;
  while (!job.finished) {
    // Other work between slices: the store moves on.
    store.apply(++writes, { kind: 'put', requestId: writes, request: { key: Buffer.from(`key-${turns}`), value: Buffer.from('late') } });
    await turn();
    turns++;
  }
  await job.done;
  assert.equal(job.error, undefined);
  assert.equal(job.complete, true);
  assert.ok(job.stats.slices >= 60, `${job.stats.slices} slices`);
  assert.ok(parts.length >= 40, `${parts.length} chunks`);
  assert.ok(turns >= job.stats.slices - 1, `${turns} turns for ${job.stats.slices} slices`);
  assert.ok(Buffer.concat(parts).equals(expected));
});

test('cancel stops the encode before its next slice; done settles, not complete', async () => {
  const store = filledStore(2000);
  let writes = 0;
  const job = encodeInSlices(store.streamSnapshot(1024), async () => void writes++, 0, 50);
  await turn();
  await turn();
  const slicesAtCancel = job.stats.slices;
  assert.ok(slicesAtCancel >= 1 && !job.finished);
  job.cancel();
  await job.done;
  assert.equal(job.finished, true);
  assert.equal(job.complete, false);
  assert.equal(job.error, undefined);
  assert.ok(job.stats.slices <= slicesAtCancel + 1);
});

test('a failing encoder or write ends the job with its error', async () => {
  const boom = new Error('boom');
  const encoder: ChunkedEncoder = { step: () => { throw boom; }, takeChunk: () => undefined };
  const job = encodeInSlices(encoder, async () => {});
  await job.done;
  assert.equal(job.error, boom);
  assert.equal(job.complete, false);
  const full = new Error('disk full');
  const failing = encodeInSlices(filledStore(100).streamSnapshot(256), () => Promise.reject(full));
  await failing.done;
  assert.equal(failing.error, full);
  assert.equal(failing.stats.slices, 1, 'no slice after the failed write');
});

/** busyEncoder is an encoder of `count` steps that each hold the loop `holdMs`; `starts` records when each began. */
function busyEncoder(holdMs: number, count: number): { encoder: ChunkedEncoder; starts: number[] } {
  const starts: number[] = [];
  const encoder: ChunkedEncoder = {
    step: () => {
      starts.push(performance.now());
      const until = performance.now() + holdMs;
      while (performance.now() < until);
      return starts.length === count;
    },
    takeChunk: () => undefined,
  };
  return { encoder, starts };
}

/** gaps are the times between one step's start and the next one's. */
const gaps = (starts: number[]) => starts.slice(1).map((t, i) => t - starts[i]);

test('after a slice that held the loop, the next one waits at least as long: the encode takes at most about half the loop', async () => {
  const { encoder, starts } = busyEncoder(5, 6);
  const job = encodeInSlices(encoder, async () => {}, 4);
  await job.done;
  assert.equal(job.complete, true);
  assert.equal(starts.length, 6);
  for (const [i, gap] of gaps(starts).entries()) {
    // Timers count whole milliseconds from a truncated start, so "as long" holds to within a millisecond.
    assert.ok(gap >= 8.5, `slice ${i + 1} started ${gap.toFixed(1)} ms after the one before (5 ms held, then about 5 ms yielded)`);
  }
});

test('with a rest factor, the next slice waits that many times as long as the last one held the loop', async () => {
  const rested = busyEncoder(4, 4);
  await encodeInSlices(rested.encoder, async () => {}, 2, undefined, undefined, () => 3).done;
  assert.equal(rested.starts.length, 4);
  for (const [i, gap] of gaps(rested.starts).entries()) {
    assert.ok(gap >= 4 + 3 * 4 - 1.5, `slice ${i + 1} started ${gap.toFixed(1)} ms after the one before (4 ms held, then about 12 ms yielded)`);
  }
  const floor = busyEncoder(4, 4);
  await encodeInSlices(floor.encoder, async () => {}, 2, undefined, undefined, () => 0).done;
  for (const gap of gaps(floor.starts)) assert.ok(gap >= 6.5, `a factor below 1 still rests once as long (${gap.toFixed(1)} ms)`);
});
