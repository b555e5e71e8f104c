// node still takes the replica's V8 flags and caps the young generation as
// intended, and REPLICA_NODE_ENV still gets large Buffers huge pages where the
// kernel and libc offer them (test/packaging/image-tree.test.ts checks the
// image passes both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { REPLICA_NODE_ENV, REPLICA_NODE_FLAGS } from './node-flags.ts';

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

/** thpMode is the kernel's transparent huge page setting ("always", "madvise", "never"), or undefined if unknown. */
function thpMode(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
const hugeTlbSupported = glibc !== undefined && Number(glibc.split('.')[0]) * 1000 + Number(glibc.split('.')[1]) >= 2035;
const mode = thpMode();

test('with REPLICA_NODE_ENV, a 64 MiB Buffer is backed by huge pages (THP in madvise mode, glibc >= 2.35)', { skip: mode !== 'madvise' || !hugeTlbSupported ? `THP mode ${mode ?? 'unknown'}, glibc ${glibc ?? 'absent'}: nothing to show` : false }, () => {
  // Touch a large Buffer as a snapshot encode does, then read the process's huge page total.
  const touch = `
    const b = Buffer.allocUnsafe(64 << 20); b.fill(1);
    const m = require('node:fs').readFileSync('/proc/self/smaps_rollup', 'utf8').match(/AnonHugePages:\\s+(\\d+) kB/);
    process.stdout.write(m ? m[1] : '-1');`;
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['-e', touch], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout) * 1024;
  };
  const without = run({ GLIBC_TUNABLES: '' });
  const withEnv = run({ ...REPLICA_NODE_ENV });
  assert.ok(withEnv >= 16 << 20, `huge pages with ${JSON.stringify(REPLICA_NODE_ENV)}: ${withEnv} bytes (without: ${without})`);
  assert.ok(withEnv > without, `with ${withEnv} bytes, without ${without}`);
});
