// The outbound queue keeps order, cuts frames at the limit and refuses past its bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { message } from '../raft/types.ts';
import { batchEntrySize, encodedMessageSize } from './batch-codec.ts';
import { OutboundQueue } from './outbound-queue.ts';

const hb = (i: number) => message({ type: 'heartbeat', to: 2, from: 1, term: 1, commit: i });

test('frames are cut at the frame limit and keep order', () => {
  const size = encodedMessageSize(hb(100));
  const cost = batchEntrySize(size);
  const q = new OutboundQueue({ maxMessages: 1000, maxBytes: 1 << 20, maxFrameBytes: cost * 5, targetFrameBytes: cost * 3 });
  for (let i = 100; i < 110; i++) assert.ok(q.push(hb(i), size));
  assert.equal(q.bytes, cost * 10);
  const seen: number[] = [];
  const frameLengths: number[] = [];
  for (let f = q.takeFrame(); f; f = q.takeFrame()) {
    frameLengths.push(f.messages.length);
    assert.equal(f.messages.length, f.sizes.length);
    seen.push(...f.messages.map((m) => m.commit));
  }
  assert.deepEqual(frameLengths, [3, 3, 3, 1]);
  assert.deepEqual(seen, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  assert.equal(q.bytes, 0);
  assert.equal(q.length, 0);
});

test('push refuses past the count and byte bounds; clear reports what it dropped', () => {
  const size = encodedMessageSize(hb(100));
  const byCount = new OutboundQueue({ maxMessages: 2, maxBytes: 1 << 20, maxFrameBytes: 1 << 20, targetFrameBytes: 1 << 20 });
  assert.ok(byCount.push(hb(100), size));
  assert.ok(byCount.push(hb(101), size));
  assert.equal(byCount.push(hb(102), size), false);
  assert.equal(byCount.clear(), 2);
  const byBytes = new OutboundQueue({ maxMessages: 100, maxBytes: batchEntrySize(size) * 2 + 1, maxFrameBytes: 1 << 20, targetFrameBytes: 1 << 20 });
  assert.ok(byBytes.push(hb(100), size));
  assert.ok(byBytes.push(hb(101), size));
  assert.equal(byBytes.push(hb(102), size), false);
  assert.equal(byBytes.length, 2);
});

test('a message above the frame target travels alone; one above the limit is refused loudly', () => {
  const q = new OutboundQueue({ maxMessages: 10, maxBytes: 1 << 20, maxFrameBytes: 100, targetFrameBytes: 30 });
  assert.ok(q.push(hb(1), 10));
  assert.ok(q.push(hb(2), 60));
  assert.ok(q.push(hb(3), 10));
  assert.deepEqual([q.takeFrame()!.sizes, q.takeFrame()!.sizes, q.takeFrame()!.sizes, q.takeFrame()], [[10], [60], [10], undefined]);
  assert.throws(() => q.push(hb(100), 200), /exceeds the 100-byte frame limit/);
  assert.throws(() => new OutboundQueue({ maxMessages: 1, maxBytes: 1, maxFrameBytes: 10, targetFrameBytes: 20 }), /at most maxFrameBytes/);
});
