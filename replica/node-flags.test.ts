// node still takes the replica's V8 flags and caps the young generation as
// intended (test/packaging/image-tree.test.ts checks the image passes them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { REPLICA_NODE_FLAGS } from './node-flags.ts';

test('with REPLICA_NODE_FLAGS, a program churning short-lived objects keeps a young generation of at most 32 MiB', () => {
  // Allocate ~300 MB of short-lived objects with a few survivors, as a busy
  // server does, then report the young generation's committed size.
  const churn = `
    const v8 = require('node:v8');
    let keep = [];
    for (let i = 0; i < 3e6; i++) { const o = { a: i, b: 'x' + i, c: [i] }; if (i % 10 === 0) keep.push(o); if (keep.length > 50000) keep = []; }
    const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    process.stdout.write(String(s.space_size));`;
  const run = (flags: readonly string[]) => {
    const r = spawnSync(process.execPath, [...flags, '-e', churn], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout);
  };
  const capped = run(REPLICA_NODE_FLAGS);
  assert.ok(capped > 0 && capped <= 32 * 1024 * 1024, `young generation ${capped} bytes with ${REPLICA_NODE_FLAGS.join(' ')}`);
});
