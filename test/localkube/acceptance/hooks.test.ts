// Acceptance: the fault hooks and probe-driven behaviour a replica group's
// tests rely on — crash a container (it restarts), pause and resume it (its
// liveness probe notices), take a node away (node Unknown, pods not Ready,
// tainted, evicted after their toleration) and bring it back, PDB-guarded
// eviction, and spreading pods across nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import type { Localkube } from '../localkube.ts';
import fs from 'node:fs';
import path from 'node:path';
import { processAlive, tempDir, waitFor, withLocalkube } from '../testing.ts';

const SERVER = `require('http').createServer((q, s) => s.end('ok')).listen(8080, process.env.POD_IP);`;

function podSpec(name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = { app: 'member' }) {
  return {
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'member',
          image: 'node:24',
          command: ['node', '-e', SERVER],
          env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          ports: [{ containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
          ...extra,
        },
      ],
    },
  };
}

function status(lk: Localkube, name: string) {
  const pod = lk.api.store.get('/pods', 'default', name);
  const ready = pod?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
  const cs = pod?.status?.containerStatuses?.[0];
  return { pod, ready, restarts: cs?.restartCount as number | undefined, running: !!cs?.state?.running };
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('fault hooks', async (t) => {
  const lk = await withLocalkube(t, { nodes: 3, crashLoopBackoff: { initialMs: 300, maxMs: 2000 } });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(lk.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);

  await t.test('pods with shared labels spread across nodes', async () => {
    for (const n of ['m-0', 'm-1', 'm-2']) await core.createNamespacedPod({ namespace: 'default', body: podSpec(n) });
    await waitFor('all ready', () => ['m-0', 'm-1', 'm-2'].every((n) => status(lk, n).ready === 'True'));
    const nodes = new Set(['m-0', 'm-1', 'm-2'].map((n) => status(lk, n).pod!.spec.nodeName));
    assert.equal(nodes.size, 3);
  });

  await t.test('crash kills the container, which restarts', async () => {
    const pid = (await lk.hooks.processes('default', 'm-0')).member;
    await lk.hooks.crash('default', 'm-0');
    await waitFor('restarted and ready', () => status(lk, 'm-0').restarts === 1 && status(lk, 'm-0').ready === 'True');
    assert.equal(processAlive(pid), false);
    const cs = status(lk, 'm-0').pod!.status.containerStatuses[0];
    assert.equal(cs.lastState.terminated.exitCode, 137);
    assert.notEqual((await lk.hooks.processes('default', 'm-0')).member, pid);
  });

  await t.test('pause stops answering until resume', async () => {
    const ip = status(lk, 'm-1').pod!.status.podIP;
    assert.equal(await get(`http://${ip}:8080/`), 200);
    await lk.hooks.pause('default', 'm-1');
    await assert.rejects(get(`http://${ip}:8080/`));
    await waitFor('not ready while paused', () => status(lk, 'm-1').ready === 'False');
    await lk.hooks.resume('default', 'm-1');
    assert.equal(await get(`http://${ip}:8080/`), 200);
    await waitFor('ready again', () => status(lk, 'm-1').ready === 'True');
    assert.equal(status(lk, 'm-1').restarts, 0);
  });

  await t.test('a failing liveness probe restarts the container', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: podSpec('live', { livenessProbe: { httpGet: { path: '/', port: 9999 }, periodSeconds: 1, failureThreshold: 2 } }, { app: 'live' }),
    });
    await waitFor('restarted by liveness', () => (status(lk, 'live').restarts ?? 0) >= 1, 15000);
    const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=live' });
    assert.ok(events.items.some((e) => e.reason === 'Unhealthy' && /Liveness probe failed/.test(e.message ?? '')));
    assert.ok(events.items.some((e) => e.reason === 'Killing' && /failed liveness probe, will be restarted/.test(e.message ?? '')));
    await core.deleteNamespacedPod({ namespace: 'default', name: 'live', gracePeriodSeconds: 0 });
  });

  await t.test('exec probes and postStart/preStop hooks run with the container', async () => {
    const dir = tempDir(t);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'hooked' },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: 'c',
            image: 'busybox',
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'],
            env: [{ name: 'DIR', value: dir }],
            readinessProbe: { exec: { command: ['sh', '-c', 'test -f "$DIR/ready"'] }, periodSeconds: 1 },
            lifecycle: {
              postStart: { exec: { command: ['sh', '-c', 'echo "$HOSTNAME" > "$DIR/poststart"'] } },
              preStop: { exec: { command: ['sh', '-c', 'echo bye > "$DIR/prestop"'] } },
            },
          }],
        },
      },
    });
    // The shell creates the file before echo writes into it: wait for the whole line.
    const poststart = path.join(dir, 'poststart');
    await waitFor('postStart ran', () => fs.existsSync(poststart) && fs.readFileSync(poststart, 'utf8').endsWith('\n'));
    assert.equal(fs.readFileSync(path.join(dir, 'poststart'), 'utf8'), 'hooked\n');
    assert.equal(status(lk, 'hooked').ready ?? 'False', 'False', 'not ready while the exec probe fails');
    fs.writeFileSync(path.join(dir, 'ready'), '');
    await waitFor('ready once the exec probe passes', () => status(lk, 'hooked').ready === 'True');
    await core.deleteNamespacedPod({ namespace: 'default', name: 'hooked' });
    await waitFor('pod gone', () => !status(lk, 'hooked').pod);
    assert.equal(fs.readFileSync(path.join(dir, 'prestop'), 'utf8'), 'bye\n');
  });

  await t.test('eviction honours a PodDisruptionBudget', async () => {
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'members' }, spec: { minAvailable: 3, selector: { matchLabels: { app: 'member' } } } } });
    await waitFor('pdb status', async () => (await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'members' })).status?.expectedPods === 3);
    const evict = () => core.createNamespacedPodEviction({ namespace: 'default', name: 'm-2', body: { metadata: { name: 'm-2' } } });
    await assert.rejects(evict(), (e: k8s.ApiException<unknown>) => e.code === 429);
    await policy.patchNamespacedPodDisruptionBudget({ namespace: 'default', name: 'members', body: [{ op: 'replace', path: '/spec/minAvailable', value: 2 }] });
    await waitFor('one disruption allowed', async () => (await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'members' })).status?.disruptionsAllowed === 1);
    await evict();
    await waitFor('evicted pod gone', () => !lk.api.store.get('/pods', 'default', 'm-2'));
  });

  await t.test('a node taken away: node Unknown, pods not Ready, tainted, evicted after their toleration', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: { ...podSpec('short'), spec: { ...podSpec('short').spec, nodeName: status(lk, 'm-1').pod!.spec.nodeName, tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }] } },
    });
    await waitFor('short ready', () => status(lk, 'short').ready === 'True');
    const node = status(lk, 'm-1').pod!.spec.nodeName as string;
    const pid = (await lk.hooks.processes('default', 'm-1')).member;
    await lk.hooks.nodeNotReady(node, { kill: true });
    const n = await core.readNode({ name: node });
    assert.equal(n.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'Unknown');
    assert.ok(n.spec!.taints!.some((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute'));
    assert.equal(status(lk, 'm-1').ready, 'False');
    await waitFor('process killed with the node', () => !processAlive(pid));
    // The 1 s toleration runs out: the pod is marked for deletion but stays Terminating while the node is away.
    await waitFor('short evicted', () => !!status(lk, 'short').pod?.metadata.deletionTimestamp);
    assert.ok(status(lk, 'short').pod, 'stays Terminating while the node is away');
    // New pods avoid the tainted node.
    await core.createNamespacedPod({ namespace: 'default', body: podSpec('m-3') });
    await waitFor('m-3 scheduled', () => status(lk, 'm-3').pod?.spec.nodeName);
    assert.notEqual(status(lk, 'm-3').pod!.spec.nodeName, node);

    await lk.hooks.nodeReady(node);
    await waitFor('node ready', async () => (await core.readNode({ name: node })).status!.conditions!.find((c) => c.type === 'Ready')!.status === 'True');
    await waitFor('m-1 restarted and ready', () => status(lk, 'm-1').ready === 'True' && (status(lk, 'm-1').restarts ?? 0) >= 1);
    await waitFor('evicted pod deleted once the node is back', () => !status(lk, 'short').pod);
    assert.equal((await core.readNode({ name: node })).spec!.taints, undefined);
  });
});
