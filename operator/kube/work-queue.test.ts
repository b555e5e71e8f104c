// The work queue: deduplication, one worker per key, re-queue of keys that
// changed while being processed, and backoff after failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './work-queue.ts';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a key added many times is processed once; never by two workers at once', async () => {
  const q = new WorkQueue({ workers: 4 });
  let active = 0;
  let maxActive = 0;
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  q.run(async (k) => {
    active++;
    maxActive = Math.max(maxActive, active);
    seen.push(k);
    await gate;
    active--;
    return undefined;
  }, () => {});
  for (let i = 0; i < 10; i++) q.add('ns/a');
  await until(() => seen.length === 1);
  // added while processing: processed once more afterwards, not concurrently
  q.add('ns/a');
  q.add('ns/a');
  release();
  await until(() => seen.length === 2);
  await q.stop();
  assert.deepEqual(seen, ['ns/a', 'ns/a']);
  assert.equal(maxActive, 1);
});

test('failures back off exponentially and success forgets the backoff', async () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 40, workers: 1 });
  const delays: number[] = [];
  let calls = 0;
  q.run(async () => {
    calls++;
    if (calls <= 4) throw new Error('boom');
    return undefined;
  }, (_k, _e, d) => delays.push(d));
  q.add('k');
  await until(() => calls === 5);
  await q.stop();
  assert.deepEqual(delays, [10, 20, 40, 40]);
});

test('addAfter keeps the earliest time and an add supersedes it', async () => {
  const q = new WorkQueue({ workers: 1 });
  const seen: number[] = [];
  const t0 = Date.now();
  q.run(async () => {
    seen.push(Date.now() - t0);
    return undefined;
  }, () => {});
  q.addAfter('k', 5000);
  q.addAfter('k', 50);
  await until(() => seen.length === 1);
  assert.ok(seen[0] < 2000);
  q.addAfter('j', 10_000);
  q.add('j');
  await until(() => seen.length === 2);
  await q.stop();
});
