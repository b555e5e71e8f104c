import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './queue.ts';

test('keys added before they run are reconciled once, in order', async () => {
  const done: string[] = [];
  const q = new WorkQueue((k) => void done.push(k), { name: 'test' });
  q.add('a');
  q.add('b');
  q.add('a');
  await q.idle();
  assert.deepEqual(done, ['a', 'b']);
  q.stop();
});

test('a failing key is retried after a delay, a delayed key waits once', async () => {
  let attempts = 0;
  let delayed = 0;
  let marker = false;
  const q = new WorkQueue((k) => {
    if (k === 'flaky' && ++attempts < 3) throw new Error('not yet');
    if (k === 'later') delayed++;
    if (k === 'marker') marker = true;
  }, { name: 'test', retryDelayMs: 5 });
  q.add('flaky');
  q.addAfter('later', 20);
  q.addAfter('later', 20);
  // The marker is due after both adds of "later": once it ran, so would a second "later".
  q.addAfter('marker', 60);
  const deadline = Date.now() + 5000;
  while ((attempts < 3 || !marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(attempts, 3);
  assert.ok(marker);
  assert.equal(delayed, 1, 'two delayed adds of one key run once');
  q.stop();
});
