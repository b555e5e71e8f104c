// Replication progress: probe/replicate/snapshot transitions, stale
// rejections, and flow control by count and bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from './progress.ts';
import { Inflights } from './inflights.ts';

test('inflights bound count and bytes and free in order', () => {
  const f = new Inflights(3, 100);
  f.add(1, 10);
  f.add(2, 10);
  assert.equal(f.full(), false);
  f.add(3, 10);
  assert.equal(f.full(), true);
  assert.throws(() => f.add(4, 1));
  f.freeLE(2);
  assert.equal(f.count, 1);
  assert.equal(f.bytes, 10);
  f.add(4, 95);
  assert.equal(f.full(), true, 'byte limit');
  f.freeFirstOne();
  assert.equal(f.count, 1);
});

test('probe pauses after one append, replicate pipelines, stale rejections are ignored', () => {
  const p = new Progress(5, new Inflights(2), false);
  assert.equal(p.isPaused(), false);
  p.msgAppFlowPaused = true;
  assert.equal(p.isPaused(), true);
  assert.equal(p.maybeUpdate(4), true);
  p.becomeReplicate();
  assert.equal(p.next, 5);
  p.optimisticUpdate(9);
  assert.equal(p.next, 10);
  assert.equal(p.maybeDecrTo(3, 3), false, 'rejection below match is stale');
  assert.equal(p.maybeDecrTo(7, 5), true);
  assert.equal(p.next, 5);
  p.becomeProbe();
  assert.equal(p.maybeDecrTo(8, 1), false, 'probe: only the last probe counts');
  assert.equal(p.maybeDecrTo(4, 2), true);
  assert.equal(p.next, 3);
});

test('after a snapshot the follower is probed from past the snapshot', () => {
  const p = new Progress(5, new Inflights(2), false);
  p.becomeSnapshot(20);
  assert.equal(p.isPaused(), true);
  p.becomeProbe();
  assert.equal(p.next, 21);
});
