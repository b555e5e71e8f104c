// Acceptance: @kubernetes/client-node (what the operator uses) against
// localkube — informers see add/update/delete; a watch from a compacted
// resourceVersion gets 410 and the informer relists (firing deletes for what
// vanished); two writers with the same resourceVersion: one gets 409; owner
// deletion garbage-collects dependents (background, foreground, orphan); a
// restarted server keeps its objects and informers carry on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startLocalkube } from '../localkube.ts';
import type { Localkube } from '../localkube.ts';
import { waitFor, withLocalkube } from '../testing.ts';

function clients(lk: Localkube) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(lk.kubeconfigPath);
  return { kc, core: kc.makeApiClient(k8s.CoreV1Api), objects: k8s.KubernetesObjectApi.makeApiClient(kc) };
}

interface Seen {
  kind: string;
  name: string;
  data?: string;
}

function configMapInformer(kc: k8s.KubeConfig, core: k8s.CoreV1Api, namespace: string) {
  const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/configmaps`, () => core.listNamespacedConfigMap({ namespace }));
  const seen: Seen[] = [];
  const errors: unknown[] = [];
  informer.on('add', (o: k8s.V1ConfigMap) => seen.push({ kind: 'add', name: o.metadata!.name!, data: o.data?.v }));
  informer.on('update', (o: k8s.V1ConfigMap) => seen.push({ kind: 'update', name: o.metadata!.name!, data: o.data?.v }));
  informer.on('delete', (o: k8s.V1ConfigMap) => seen.push({ kind: 'delete', name: o.metadata!.name! }));
  informer.on('error', (err: unknown) => errors.push(err));
  return { informer, seen, errors };
}

const has = (seen: Seen[], kind: string, name: string, data?: string) => seen.some((s) => s.kind === kind && s.name === name && (data === undefined || s.data === data));

test('client-node informers, watches and writes', async (t) => {
  const lk = await withLocalkube(t, { nodes: 0 });
  const { kc, core } = clients(lk);

  await t.test('an informer sees add, update and delete', async () => {
    const { informer, seen } = configMapInformer(kc, core, 'default');
    t.after(() => informer.stop());
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' }, data: { v: '1' } } });
    await waitFor('add', () => has(seen, 'add', 'a', '1'));
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'a', body: [{ op: 'replace', path: '/data/v', value: '2' }] });
    await waitFor('update', () => has(seen, 'update', 'a', '2'));
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'a' });
    await waitFor('delete', () => has(seen, 'delete', 'a'));
    await informer.stop();
  });

  await t.test('a watch from a compacted resourceVersion gets 410; the informer relists', async () => {
    await core.createNamespace({ body: { metadata: { name: 'relist' } } });
    await core.createNamespacedConfigMap({ namespace: 'relist', body: { metadata: { name: 'keep' }, data: { v: '1' } } });
    await core.createNamespacedConfigMap({ namespace: 'relist', body: { metadata: { name: 'vanish' }, data: { v: '1' } } });
    const { informer, seen } = configMapInformer(kc, core, 'relist');
    t.after(() => informer.stop());
    await informer.start();
    await waitFor('initial list', () => has(seen, 'add', 'keep') && has(seen, 'add', 'vanish'));
    const before = (informer as unknown as k8s.ListWatch<k8s.V1ConfigMap>).latestResourceVersion();
    await informer.stop();

    // While the informer is away, one object goes and another comes; then history is compacted.
    await core.deleteNamespacedConfigMap({ namespace: 'relist', name: 'vanish' });
    await core.createNamespacedConfigMap({ namespace: 'relist', body: { metadata: { name: 'new' }, data: { v: '1' } } });
    const compacted = await lk.hooks.compact();
    assert.ok(compacted > Number(before));

    // A raw watch from the old resourceVersion gets the 410 Expired error event.
    const events: { type: string; object: { code?: number; reason?: string } }[] = [];
    await new Promise<void>((resolve, reject) => {
      new k8s.Watch(kc)
        .watch('/api/v1/namespaces/relist/configmaps', { resourceVersion: before }, (type, object) => events.push({ type, object }), () => resolve())
        .catch(reject);
    });
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ERROR');
    assert.equal(events[0].object.code, 410);
    assert.equal(events[0].object.reason, 'Expired');

    // The informer resumes from the same resourceVersion, gets 410, relists and reconciles its cache.
    await informer.start();
    await waitFor('relist', () => has(seen, 'delete', 'vanish') && has(seen, 'add', 'new'));
    // (kube-root-ca.crt is in every namespace: the CA for in-cluster clients.)
    assert.deepEqual(informer.list('relist').map((o) => o.metadata!.name).sort(), ['keep', 'kube-root-ca.crt', 'new']);
    await informer.stop();
  });

  await t.test('two writers with the same resourceVersion: one gets 409', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'contended' }, data: { v: '0' } } });
    const write = (v: string) => core.replaceNamespacedConfigMap({ namespace: 'default', name: 'contended', body: { ...cm, data: { v } } });
    const results = await Promise.allSettled([write('1'), write('2')]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal(failed.length, 1);
    assert.equal((failed[0].reason as k8s.ApiException<unknown>).code, 409);
    assert.match(String((failed[0].reason as Error).message), /the object has been modified/);
  });

  await t.test('creating an existing name answers 409 AlreadyExists; a missing one 404', async () => {
    await assert.rejects(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'contended' } } }), (e: k8s.ApiException<unknown>) => e.code === 409);
    await assert.rejects(core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' }), (e: k8s.ApiException<unknown>) => e.code === 404);
    await assert.rejects(core.createNamespacedConfigMap({ namespace: 'no-such-ns', body: { metadata: { name: 'x' } } }), (e: k8s.ApiException<unknown>) => e.code === 404);
  });

  await t.test('deleting an owner garbage-collects its dependents', async () => {
    const owner = async (name: string) => core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    const dependent = async (name: string, o: k8s.V1ConfigMap, block = false) =>
      core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid!, blockOwnerDeletion: block }] } },
      });
    const exists = async (name: string) => (await core.listNamespacedConfigMap({ namespace: 'default', fieldSelector: `metadata.name=${name}` })).items.length > 0;

    const bg = await owner('bg-owner');
    await dependent('bg-dep', bg);
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'bg-owner' });
    await waitFor('background dependent collected', async () => !(await exists('bg-dep')));

    const fg = await owner('fg-owner');
    await dependent('fg-dep', fg, true);
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'fg-dep', body: [{ op: 'add', path: '/metadata/finalizers', value: ['test.dev/hold'] }] });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'fg-owner', propagationPolicy: 'Foreground' });
    const held = await core.readNamespacedConfigMap({ namespace: 'default', name: 'fg-owner' });
    assert.ok(held.metadata!.deletionTimestamp, 'owner waits for its blocking dependent');
    assert.ok(held.metadata!.finalizers!.includes('foregroundDeletion'));
    await waitFor('dependent deleting', async () => (await core.readNamespacedConfigMap({ namespace: 'default', name: 'fg-dep' })).metadata!.deletionTimestamp);
    assert.ok(await exists('fg-owner'));
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'fg-dep', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await waitFor('foreground owner gone', async () => !(await exists('fg-owner')) && !(await exists('fg-dep')));

    const or = await owner('orphan-owner');
    await dependent('orphan-dep', or);
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'orphan-owner', propagationPolicy: 'Orphan' });
    await waitFor('orphaning owner gone', async () => !(await exists('orphan-owner')));
    const orphan = await core.readNamespacedConfigMap({ namespace: 'default', name: 'orphan-dep' });
    assert.equal(orphan.metadata!.ownerReferences, undefined);
  });

  await t.test('a namespace deletion removes what it holds', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'x' } } });
    await core.deleteNamespace({ name: 'doomed' });
    await waitFor('namespace gone', async () => (await core.listNamespace()).items.every((n) => n.metadata!.name !== 'doomed'));
    assert.equal(lk.api.store.list('/configmaps', 'doomed').length, 0);
  });
});

test('a restarted server keeps its objects; informers carry on', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'localkube-restart-'));
  const stateFile = path.join(dir, 'state.json');
  const options = { nodes: 0, stateFile, dataDir: path.join(dir, 'data'), kubeconfigPath: path.join(dir, 'kubeconfig') };
  let first: Localkube | undefined;
  let second: Localkube | undefined;
  let informer: k8s.Informer<k8s.V1ConfigMap> | undefined;
  let stopped = false;
  t.after(async () => {
    stopped = true;
    await informer?.stop();
    await first?.stop();
    await second?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  first = await startLocalkube(options);
  const port = Number(new URL(first.url).port);
  const { kc, core } = clients(first);
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' }, data: { v: '1' } } });
  const watched = configMapInformer(kc, core, 'default');
  informer = watched.informer;
  const seen = watched.seen;
  // As an operator must: an informer that fails (server away) is started again.
  informer.on('error', () => {
    setTimeout(() => {
      if (!stopped) void informer!.start().catch(() => undefined);
    }, 100);
  });
  await informer.start();
  await waitFor('initial list', () => has(seen, 'add', 'before'));

  await first.stop();
  second = await startLocalkube({ ...options, port });
  assert.equal(second.url, first.url);
  const again = clients(second).core;
  assert.equal((await again.readNamespacedConfigMap({ namespace: 'default', name: 'before' })).data!.v, '1');
  await again.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after' }, data: { v: '2' } } });
  await waitFor('informer sees a change after the restart', () => has(seen, 'add', 'after', '2'), 20000);
  assert.equal(seen.filter((s) => s.kind === 'delete').length, 0, 'nothing vanished');
});
