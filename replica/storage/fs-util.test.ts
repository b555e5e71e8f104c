// writeFileAtomic's paced write: a large file goes to disk in groups of at
// most PACED_SYNC_BYTES, in order, byte for byte; the result is the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import { PACED_SYNC_BYTES, paced, writeFileAtomic } from './fs-util.ts';

test('paced cuts buffers into ordered groups of at most max bytes, views only, empties left out', () => {
  const a = Buffer.from('abcdefg');
  const b = Buffer.alloc(0);
  const c = Buffer.from('hij');
  const groups = paced([a, b, c], 4);
  assert.deepEqual(groups.map((g) => g.map((x) => Buffer.from(x).toString())), [['abcd'], ['efg', 'h'], ['ij']]);
  assert.equal(groups[0][0].buffer, a.buffer, 'a view, not a copy');
  assert.deepEqual(paced([a], 7).map((g) => g.length), [1]);
  assert.equal(paced([a], 7)[0][0], a, 'a buffer that fits is passed as it is');
  assert.deepEqual(paced([], 4), []);
  assert.throws(() => paced([a], 0), /max must be positive/);
});

test('writeFileAtomic writes a file larger than PACED_SYNC_BYTES in paced groups, byte for byte', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fs-util-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const head = Buffer.from('head');
  const body = Buffer.alloc(2 * PACED_SYNC_BYTES + 12345);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
  const file = path.join(dir, 'snap');
  await writeFileAtomic(file, [head, body, Buffer.from('tail')]);
  assert.ok(fs.readFileSync(file).equals(Buffer.concat([head, body, Buffer.from('tail')])));
  assert.equal(fs.existsSync(`${file}.tmp`), false);
  assert.equal(paced([head, body], PACED_SYNC_BYTES).length, 3, 'three groups, two flushes before the final fsync');
});
