// The gRPC message framing used by the latency microbenchmark (and by any
// node:http2 peer stream): messages cut back out of arbitrary chunkings, and
// bad prefixes refused before their body is buffered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFrameProblem, MessageSplitter } from './message-splitter.ts';
import { frameMessage as grpcFrame } from './framing.ts';

test('messages come back whole and in order, however the bytes are chunked', () => {
  const messages = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(70_000, 9), Buffer.from('last')];
  const wire = Buffer.concat(messages.map(grpcFrame));
  for (const size of [1, 2, 5, 7, 4096, wire.length]) {
    const split = new MessageSplitter(1 << 20);
    const got: Buffer[] = [];
    for (let off = 0; off < wire.length; off += size) assert.equal(split.push(wire.subarray(off, off + size), (m) => got.push(Buffer.from(m))), undefined);
    assert.deepEqual(got, messages, `chunks of ${size}`);
    assert.equal(split.partial, false);
  }
});

test('a partial message is reported as such', () => {
  const split = new MessageSplitter(100);
  split.push(grpcFrame(Buffer.from('abcdef')).subarray(0, 8), () => assert.fail('no message yet'));
  assert.equal(split.partial, true);
});

test('an oversized or compressed message is refused on its prefix, and the splitter stays refused', () => {
  const big = new MessageSplitter(10);
  const header = Buffer.from([0, 0, 0, 0, 11]);
  assert.deepEqual(big.push(header, () => assert.fail('refused')), { kind: 'tooLarge', length: 11, limit: 10 });
  assert.match(describeFrameProblem({ kind: 'tooLarge', length: 11, limit: 10 }), /11 bytes exceeds the 10-byte limit/);
  assert.deepEqual(big.push(grpcFrame(Buffer.from('ok')), () => assert.fail('refused for good')), { kind: 'tooLarge', length: 11, limit: 10 });
  const compressed = new MessageSplitter(10);
  assert.deepEqual(compressed.push(Buffer.from([1, 0, 0, 0, 1, 0]), () => assert.fail('refused')), { kind: 'compressed' });
});
