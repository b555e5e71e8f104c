// freeImage gives a snapshot image's memory back at once, and only when the
// image is a whole ArrayBuffer of its own (never a view into a shared one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeImage } from './replica-node.ts';

test('freeImage detaches a large image that owns its whole buffer, so its memory is returned without a collection', () => {
  const before = process.memoryUsage().arrayBuffers;
  const image = Buffer.allocUnsafe(32 << 20); // as KvStore's snapshot encoder allocates it
  image.fill(1);
  assert.ok(process.memoryUsage().arrayBuffers - before >= 32 << 20);
  assert.equal(freeImage(image), true);
  assert.equal(image.length, 0, 'every view of a freed image reads as empty');
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'the 32 MiB are returned at once');
});

test('freeImage leaves views into a shared buffer, and small images, to the garbage collector', () => {
  const shared = new Uint8Array(4 << 20);
  const view = shared.subarray(0, 2 << 20);
  assert.equal(freeImage(view), false);
  assert.equal(freeImage(shared.subarray(1)), false);
  assert.equal(view.length, 2 << 20, 'untouched');
  const small = Buffer.from('a small snapshot'); // a Buffer pool slab slice
  assert.equal(freeImage(small), false);
  assert.equal(small.toString(), 'a small snapshot');
  assert.equal(freeImage(new Uint8Array(1000)), false, 'below the size worth freeing');
});
