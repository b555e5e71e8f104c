// Acceptance: a Secret (or ConfigMap) changed under a running pod reaches the
// files of its volume without a restart, as a kubelet's volume sync does — how
// the operator's certificate rotation reaches a running member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, withLocalkube } from '../testing.ts';

const READER = `
const fs = require('node:fs');
let last = '';
setInterval(() => {
  let v = '';
  try { v = fs.readFileSync('/etc/cfg/value', 'utf8'); } catch (e) { v = 'error ' + e.code; }
  if (v !== last) { console.log('value=' + v); last = v; }
}, 50);`;

test('a changed Secret reaches the files of a running pod; the container is not restarted', async (t) => {
  const lk = await withLocalkube(t, { nodes: 1 });
  const api = (p: string, method: string, body?: object, type = 'application/json') =>
    fetch(`${lk.url}${p}`, { method, headers: { 'content-type': type }, body: body && JSON.stringify(body) });
  const secret = (v: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cfg', namespace: 'default' }, data: { value: Buffer.from(v).toString('base64') } });
  assert.equal((await api('/api/v1/namespaces/default/secrets', 'POST', secret('one'))).status, 201);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'reader', namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'node:24', command: ['node', '-e', READER], volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg', readOnly: true }] }],
      volumes: [{ name: 'cfg', secret: { secretName: 'cfg' } }],
    },
  };
  assert.equal((await api('/api/v1/namespaces/default/pods', 'POST', pod)).status, 201);
  const logs = async () => (await api('/api/v1/namespaces/default/pods/reader/log', 'GET')).text();
  await waitFor('the pod to read the first value', async () => (await logs()).includes('value=one'), 30_000);

  const patched = await api('/api/v1/namespaces/default/secrets/cfg', 'PATCH', { data: { value: Buffer.from('two').toString('base64') } }, 'application/merge-patch+json');
  assert.equal(patched.status, 200);
  await waitFor('the pod to read the new value', async () => (await logs()).includes('value=two'), 30_000);
  const log = await logs();
  assert.ok(!/value=error/.test(log), `the file was never missing or half-written:\n${log}`);
  const status = lk.api.store.get('/pods', 'default', 'reader')!.status;
  assert.equal(status.containerStatuses[0].restartCount, 0, 'no restart');
});
