// FileSpill (value-spill.ts): values come back byte for byte from memory and
// from the files, segment files go once nothing refers to them and no hold is
// open, a failed write keeps the chunk in memory and stops spilling, and a KV
// store spilling into it answers exactly as one keeping everything in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { FileSpill } from './value-spill.ts';
import { Driver } from '../kv/testing.ts';
import { spilledLength } from '../kv/index.ts';

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-spill-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** until polls `cond` (writes finish on the thread pool) with a deadline. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const files = (dir: string) => fs.readdirSync(dir).sort();

/**
 * readBack reads a value through copyInto (into the middle of a buffer, as
 * a snapshot encoder does), then through get, and checks they agree and
 * that copyInto wrote nothing outside the value's place.
 */
function readBack(spill: FileSpill, ref: number): string {
  const length = spilledLength(ref);
  const into = Buffer.alloc(length + 6, 0xee);
  spill.copyInto(ref, into, 3);
  const value = spill.get(ref);
  assert.equal(into.toString('latin1', 3, 3 + length), value, 'copyInto copies the bytes get decodes');
  assert.ok(into.subarray(0, 3).every((b) => b === 0xee) && into.subarray(3 + length).every((b) => b === 0xee), 'nothing written around the value');
  return value;
}

test('values read back the same from the chunk being filled and from the files; every latin1 char survives', async (t) => {
  const dir = path.join(tempDir(t), 'spill');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'stale.spill'), 'left by an earlier run');
  const spill = FileSpill.open(dir, { chunkBytes: 64, segmentBytes: 256 });
  assert.deepEqual(files(dir), [], 'open wipes what an earlier run left');
  const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  const values = Array.from({ length: 40 }, (_, i) => all.slice(i * 5, i * 5 + 10 + (i % 30)));
  const refs = values.map((v) => spill.put(v)!);
  assert.ok(refs.every((r) => r !== undefined));
  values.forEach((v, i) => assert.equal(readBack(spill, refs[i]), v, `value ${i} before its chunk was written`));
  await until(() => spill.stats().chunksInMemory === 1, 'the full chunks to be written');
  values.forEach((v, i) => assert.equal(readBack(spill, refs[i]), v, `value ${i} read back from its file`));
  assert.ok(files(dir).length >= 3, `several segments: ${files(dir)}`);
  assert.equal(spill.put(''), undefined, 'an empty value is not worth a reference');
  assert.equal(spill.put('x'.repeat(65)), undefined, 'a value larger than a chunk stays in memory');
  assert.equal(spill.stats().liveBytes, values.reduce((n, v) => n + v.length, 0));
  await spill.close();
  assert.equal(fs.existsSync(dir), false, 'close removes the files');
  assert.throws(() => spill.get(refs[0]), /after close/);
});

test('a segment file goes once its values are all dropped, but not while a hold is open', async (t) => {
  const dir = path.join(tempDir(t), 'spill');
  const spill = FileSpill.open(dir, { chunkBytes: 16, segmentBytes: 32 });
  const refs = Array.from({ length: 8 }, (_, i) => spill.put(`value-${i}`)!); // 7 chars, two per chunk, four per segment
  await until(() => spill.stats().chunksInMemory === 1, 'writes');
  assert.deepEqual(files(dir), ['0000.spill', '0001.spill']);
  const release = spill.hold();
  for (const r of refs.slice(0, 4)) spill.drop(r);
  assert.deepEqual(files(dir), ['0000.spill', '0001.spill'], 'held: still there');
  assert.equal(spill.get(refs[0]), 'value-0');
  release();
  assert.deepEqual(files(dir), ['0001.spill'], 'released: the first segment is gone');
  assert.throws(() => spill.get(refs[0]), /segment that is gone/);
  assert.equal(spill.get(refs[5]), 'value-5');
  // The slot is reused by the next segment.
  const more = Array.from({ length: 5 }, (_, i) => spill.put(`later-${i}`)!);
  await until(() => spill.stats().chunksInMemory === 1, 'writes');
  assert.deepEqual(files(dir), ['0000.spill', '0001.spill', '0002.spill']);
  more.forEach((r, i) => assert.equal(spill.get(r), `later-${i}`));
  // retireAll: nothing is referred to any more; the files go once no hold is open.
  const hold = spill.hold();
  spill.retireAll();
  assert.equal(spill.stats().liveBytes, 0);
  assert.equal(spill.get(more[4]), 'later-4', 'held through the retirement');
  hold();
  await until(() => files(dir).length === 0, 'the retired segments to go');
  await spill.close();
});

test('reads in order under a hold come a block at a time, never stale for a chunk written after the block was read', async (t) => {
  const dir = path.join(tempDir(t), 'spill');
  const spill = FileSpill.open(dir, { chunkBytes: 16, segmentBytes: 64, readAheadBytes: 64 });
  const a = Array.from({ length: 5 }, (_, i) => spill.put(`a-val-${i}`)!); // 7 chars: chunks 0 and 1 full, 2 being filled
  await until(() => spill.stats().chunksInMemory === 1, 'chunks 0 and 1 to be written');
  // As if a later chunk's write had finished before chunk 2's: the file already reaches past chunk 2.
  const fd = fs.openSync(path.join(dir, '0000.spill'), 'r+');
  fs.writeSync(fd, 'later', 48);
  fs.closeSync(fd);
  const release = spill.hold();
  assert.equal(readBack(spill, a[0]), 'a-val-0', 'in order: a block is read, up to the chunk still in memory');
  assert.equal(readBack(spill, a[4]), 'a-val-4', 'from the chunk in memory');
  spill.put('b-val-0'); // a hold began: a new segment; chunk 2 is written out
  await until(() => spill.stats().chunksInMemory === 1, 'chunk 2 to be written');
  a.forEach((r, i) => assert.equal(readBack(spill, r), `a-val-${i}`, `value ${i} after its chunk left memory`));
  release();
  await spill.close();
});

test('a failed write keeps its chunk in memory, readable, and stops spilling', async (t) => {
  const dir = path.join(tempDir(t), 'spill');
  const errors: string[] = [];
  const spill = FileSpill.open(dir, { chunkBytes: 16, segmentBytes: 64, onError: (e, what) => errors.push(`${what}: ${e.message}`) });
  const first = spill.put('0123456789')!;
  // Pull the file out from under the spill: the chunk's write fails.
  const seg = (spill as unknown as { segments: Map<number, { fd: number }> }).segments.get(0)!;
  fs.closeSync(seg.fd);
  seg.fd = fs.openSync(path.join(dir, '0000.spill'), 'r');
  const second = spill.put('abcdefghij')!; // starts the next chunk: the first is written out
  await until(() => spill.stats().stopped !== undefined, 'the write to fail');
  assert.match(errors[0], /^write .*0000\.spill: /);
  assert.equal(spill.get(first), '0123456789', 'the failed chunk still answers');
  assert.equal(spill.get(second), 'abcdefghij');
  assert.equal(spill.put('more'), undefined, 'spilling stopped');
  fs.closeSync(seg.fd);
  seg.fd = fs.openSync(path.join(dir, '0000.spill'), 'r+');
  await spill.close();
});

test('a KV store spilling into files answers every read, snapshot and digest as one keeping all in memory', async (t) => {
  const root = tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          { weight: 8, arbitrary: fc.record({ op: fc.constant('put' as const), key: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 0, max: 40 }) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('del' as const), key: fc.integer({ min: 0, max: 5 }) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 10 }) }) },
          { weight: 1, arbitrary: fc.constant({ op: 'settle' as const }) },
          { weight: 1, arbitrary: fc.constant({ op: 'snapshot' as const }) },
        ),
        { maxLength: 120 },
      ),
      async (ops) => {
        const spill = FileSpill.open(path.join(root, `run-${run++}`), { chunkBytes: 64, segmentBytes: 128 });
        try {
          const spilled = new Driver({ spill });
          const plain = new Driver();
          let n = 0;
          for (const o of ops) {
            for (const d of [spilled, plain]) {
              if (o.op === 'put') d.put(`k${o.key}`, String.fromCharCode(...Array.from({ length: o.size }, (_, i) => (n * 7 + i * 31) % 256)));
              else if (o.op === 'del') d.del(`k${o.key}`);
              else if (o.op === 'compact') d.compact(Math.max(1, d.store.revision - o.back));
              else if (o.op === 'snapshot') d.store.snapshot(); // spills what is no longer a head
            }
            n++;
            if (o.op === 'settle') await until(() => spill.stats().chunksInMemory <= 1, 'writes');
          }
          for (let rev = Math.max(1, spilled.store.compactRevision); rev <= spilled.store.revision; rev++) {
            assert.deepEqual(spilled.keys('\u0000', '\u0000', { revision: rev }), plain.keys('\u0000', '\u0000', { revision: rev }));
          }
          assert.ok(Buffer.from(spilled.store.snapshot()).equals(Buffer.from(plain.store.snapshot())));
          assert.equal(spilled.store.digest(), plain.store.digest());
          assert.equal(spilled.store.hashKV(0).hash, plain.store.hashKV(0).hash);
        } finally {
          await spill.close();
        }
      },
    ),
    { numRuns: 60 },
  );
});
