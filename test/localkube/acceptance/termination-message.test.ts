// Acceptance: terminationMessagePolicy FallbackToLogsOnError — a container that
// fails gets the end of its log as its termination message (what operators
// show users as the reason of a crash loop); with the default policy File and
// no message file, and after a clean exit, there is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Localkube } from '../localkube.ts';
import { waitFor, withLocalkube } from '../testing.ts';

function pod(name: string, script: string, policy?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'c', image: 'node:24', command: ['node', '-e', script], ...(policy ? { terminationMessagePolicy: policy } : {}) }],
    },
  };
}

async function terminated(lk: Localkube, name: string): Promise<Record<string, unknown>> {
  return waitFor(`${name} to terminate`, () => lk.api.store.get('/pods', 'default', name)?.status?.containerStatuses?.[0]?.state?.terminated, 30_000);
}

test('FallbackToLogsOnError puts the end of a failed container log in its termination message', async (t) => {
  const lk = await withLocalkube(t, { nodes: 1 });
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\\n');
  const create = (p: object) => fetch(`${lk.url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(p) }).then((r) => assert.equal(r.status, 201));
  await create(pod('fails', `console.log("${lines}"); console.error("fatal: the data dir is gone"); process.exit(3)`, 'FallbackToLogsOnError'));
  await create(pod('fails-default', 'console.error("fatal"); process.exit(3)'));
  await create(pod('succeeds', 'console.log("done")', 'FallbackToLogsOnError'));
  const fails = await terminated(lk, 'fails');
  assert.equal(fails.exitCode, 3);
  const message = String(fails.message);
  assert.match(message, /fatal: the data dir is gone$/);
  assert.equal(message.split('\n').length, 80, 'at most 80 lines');
  assert.ok(Buffer.byteLength(message) <= 2048);
  assert.equal((await terminated(lk, 'fails-default')).message, undefined);
  assert.equal((await terminated(lk, 'succeeds')).message, undefined);
});
