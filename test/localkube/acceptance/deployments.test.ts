// Deployments and ReplicaSets with the real kubectl: a Deployment's pods come
// up through a ReplicaSet, `kubectl rollout status` finishes, a template change
// rolls out within maxSurge/maxUnavailable, Recreate stops old pods before new
// ones start, scale and delete cascade, and the status kstatus (helm --wait) reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectlOk, waitFor, withLocalkube } from '../testing.ts';
import type { Localkube } from '../localkube.ts';
import { podTemplateHash, resolveIntOrPercent } from '../controllers/deployments.ts';

function deployment(name: string, image: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'c', image, command: ['sleep', '3600'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }],
        },
      },
      ...extra,
    },
  });
}

const pods = (lk: Localkube, app: string) => lk.api.store.list('/pods', 'default').filter((p) => p.metadata.labels?.app === app);

test('the pod template hash is stable and changes with the template', () => {
  const t = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const reordered = { spec: { containers: [{ image: 'x', name: 'c' }] }, metadata: { labels: { a: 'b' } } };
  assert.match(podTemplateHash(t), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(podTemplateHash(t), podTemplateHash(reordered));
  assert.notEqual(podTemplateHash(t), podTemplateHash({ ...t, spec: { containers: [{ name: 'c', image: 'y' }] } }));
  assert.equal(resolveIntOrPercent('25%', 3, true), 1);
  assert.equal(resolveIntOrPercent('25%', 3, false), 0);
  assert.equal(resolveIntOrPercent(2, 3, false), 2);
});

test('Deployments with kubectl', async (t) => {
  const lk = await withLocalkube(t, { nodes: 2 });

  await t.test('rollout, rolling update, scale, delete', async () => {
    await kubectlOk(lk, ['apply', '-f', '-'], deployment('web', 'busybox'));
    assert.match(await kubectlOk(lk, ['rollout', 'status', 'deployment/web', '--timeout=60s']), /successfully rolled out/);
    const d = JSON.parse(await kubectlOk(lk, ['get', 'deployment', 'web', '-o', 'json']));
    assert.equal(d.status.observedGeneration, d.metadata.generation);
    assert.deepEqual([d.status.replicas, d.status.updatedReplicas, d.status.readyReplicas, d.status.availableReplicas], [3, 3, 3, 3]);
    const cond = (type: string) => d.status.conditions.find((c: { type: string }) => c.type === type);
    assert.equal(cond('Available').status, 'True');
    assert.equal(cond('Progressing').reason, 'NewReplicaSetAvailable');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    const first = pods(lk, 'web');
    assert.equal(first.length, 3);
    const hash = first[0].metadata.labels!['pod-template-hash'];
    assert.ok(first.every((p) => p.metadata.ownerReferences?.[0].kind === 'ReplicaSet' && p.metadata.ownerReferences[0].name === `web-${hash}`));

    // A new image rolls out: never more than replicas + maxSurge(1) pods, never fewer than replicas - maxUnavailable(0) ready.
    let most = 0;
    let fewestReady = 3;
    const unwatch = lk.api.store.subscribe(() => {
      const active = pods(lk, 'web').filter((p) => !p.metadata.deletionTimestamp);
      most = Math.max(most, active.length);
      fewestReady = Math.min(fewestReady, active.filter((p) => p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length);
    });
    t.after(unwatch);
    await kubectlOk(lk, ['set', 'image', 'deployment/web', 'c=alpine']);
    assert.match(await kubectlOk(lk, ['rollout', 'status', 'deployment/web', '--timeout=60s']), /successfully rolled out/);
    unwatch();
    assert.ok(most <= 4, `at most replicas + maxSurge pods (saw ${most})`);
    assert.ok(fewestReady >= 3, `at least replicas - maxUnavailable ready (saw ${fewestReady})`);
    await waitFor('old pods gone', () => pods(lk, 'web').every((p) => p.spec?.containers[0].image === 'alpine'), 30_000);
    const rs = JSON.parse(await kubectlOk(lk, ['get', 'rs', '-l', 'app=web', '-o', 'json'])).items;
    assert.equal(rs.length, 2, 'the old ReplicaSet is kept for rollback');
    assert.deepEqual(rs.map((r: { spec: { replicas: number } }) => r.spec.replicas).sort(), [0, 3]);
    assert.match(await kubectlOk(lk, ['rollout', 'history', 'deployment/web']), /1 .*\n2 /);

    await kubectlOk(lk, ['scale', 'deployment/web', '--replicas=1']);
    await waitFor('scaled to 1', () => pods(lk, 'web').filter((p) => !p.metadata.deletionTimestamp).length === 1);
    await waitFor('status follows', async () => JSON.parse(await kubectlOk(lk, ['get', 'deployment', 'web', '-o', 'json'])).status.replicas === 1, 30_000);

    await kubectlOk(lk, ['delete', 'deployment', 'web']);
    await waitFor('ReplicaSets and pods collected', () => lk.api.store.list('apps/replicasets', 'default').length === 0 && pods(lk, 'web').length === 0, 30_000);
  });

  await t.test('Recreate: old pods are gone before new ones start', async () => {
    await kubectlOk(lk, ['apply', '-f', '-'], deployment('batch', 'busybox', { replicas: 2, strategy: { type: 'Recreate' } }));
    await kubectlOk(lk, ['rollout', 'status', 'deployment/batch', '--timeout=60s']);
    let overlap = false;
    const unwatch = lk.api.store.subscribe(() => {
      const images = new Set(pods(lk, 'batch').map((p) => p.spec?.containers[0].image));
      if (images.size > 1) overlap = true;
    });
    t.after(unwatch);
    await kubectlOk(lk, ['set', 'image', 'deployment/batch', 'c=alpine']);
    await kubectlOk(lk, ['rollout', 'status', 'deployment/batch', '--timeout=60s']);
    unwatch();
    assert.equal(overlap, false, 'no old pod existed beside a new one');
    assert.equal(pods(lk, 'batch').filter((p) => !p.metadata.deletionTimestamp).length, 2);
  });

  await t.test('a selector that does not match the template is refused', async () => {
    const bad = JSON.parse(deployment('bad', 'busybox'));
    bad.spec.selector.matchLabels.app = 'other';
    const r = await kubectlOk(lk, ['apply', '-f', '-'], JSON.stringify(bad)).catch((e: Error) => e.message);
    assert.match(r, /selector. does not match template .labels/);
  });
});
