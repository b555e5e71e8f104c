// Acceptance: stopping localkube stops every pod process; starting it again
// from the same state file brings the pods back like a rebooted node (same
// address, restartCount + 1) and keeps claims' data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalkube } from '../localkube.ts';
import type { Localkube } from '../localkube.ts';
import { processAlive, waitFor } from '../testing.ts';

test('a restarted localkube restarts its pods from the state file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'localkube-restart-'));
  const options = { nodes: 1, stateFile: path.join(dir, 'state.json'), dataDir: path.join(dir, 'data'), kubeconfigPath: path.join(dir, 'kubeconfig') };
  const running: Localkube[] = [];
  t.after(async () => {
    for (const lk of running) await lk.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const first = await startLocalkube(options);
  running.push(first);
  const pods = first.api.kinds.byKind('', 'Pod')!;
  const pvcs = first.api.kinds.byKind('', 'PersistentVolumeClaim')!;
  first.api.create(pvcs, 'default', { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  first.api.create(pods, 'default', {
    metadata: { name: 'member' },
    spec: {
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      containers: [{
        name: 'm',
        image: 'node',
        args: ['-e', `require('fs').appendFileSync('${dir}/mnt/boots', 'boot\\n'); require('http').createServer((q, s) => s.end('ok')).listen(8080, process.env.POD_IP)`],
        env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
        volumeMounts: [{ name: 'data', mountPath: `${dir}/mnt` }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      }],
    },
  });
  const ready = (lk: Localkube) => lk.api.store.get('/pods', 'default', 'member')?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  await waitFor('member ready', () => ready(first));
  const ip = first.api.store.get('/pods', 'default', 'member')!.status.podIP;
  const pid = (await first.hooks.processes('default', 'member')).m;
  await first.stop();
  running.length = 0;
  assert.equal(processAlive(pid), false, 'stop() kills pod processes');

  const second = await startLocalkube({ ...options, port: Number(new URL(first.url).port) });
  running.push(second);
  assert.equal(ready(second), false, 'the restored status is refreshed at start: not ready until probed again');
  await waitFor('member ready again', () => ready(second));
  const pod = second.api.store.get('/pods', 'default', 'member')!;
  assert.equal(pod.status.podIP, ip);
  assert.equal(pod.status.containerStatuses[0].restartCount, 1);
  const claim = await second.hooks.pvcPath('default', 'data');
  if (second.kubelet!.sandbox.mode === 'namespaces') assert.equal(fs.readFileSync(path.join(claim, 'boots'), 'utf8'), 'boot\nboot\n');
});
