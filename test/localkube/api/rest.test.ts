import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../store/store.ts';
import type { StoreEvent } from '../store/store.ts';
import { builtinKinds, customResourceType } from '../kinds/index.ts';
import { Api } from './rest.ts';
import { ApiError } from './errors.ts';

function setup() {
  const store = new Store({ eventLogLimit: 50 });
  let ip = 0;
  const kinds = builtinKinds({ allocate: () => `127.9.200.${++ip}` });
  const api = new Api(store, kinds);
  const ns = kinds.byKind('', 'Namespace')!;
  api.create(ns, '', { metadata: { name: 'default' } });
  const crd = {
    metadata: { name: 'widgets.example.dev' },
    spec: {
      group: 'example.dev',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: [{
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer', default: 1 } } }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
      }],
    },
  };
  const widgets = customResourceType(crd);
  kinds.register(widgets);
  return { store, api, kinds, widgets, configMaps: kinds.byKind('', 'ConfigMap')!, pods: kinds.byKind('', 'Pod')! };
}

const code = (n: number, reason?: string) => (e: unknown) => e instanceof ApiError && e.code === n && (reason === undefined || e.reason === reason);

test('create fills server fields, honours generateName and dryRun, refuses duplicates and bad names', () => {
  const { api, configMaps, widgets, store } = setup();
  const cm = api.create(configMaps, 'default', { metadata: { name: 'a' }, data: { k: 'v' } });
  assert.ok(cm.metadata.uid);
  assert.match(cm.metadata.resourceVersion!, /^\d+$/);
  assert.match(cm.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(cm.metadata.namespace, 'default');
  assert.equal(cm.metadata.generation, undefined, 'ConfigMaps have no generation');
  const w = api.create(widgets, 'default', { apiVersion: 'example.dev/v1', kind: 'Widget', metadata: { generateName: 'w-' }, spec: {}, status: { replicas: 9 } });
  assert.match(w.metadata.name, /^w-[a-z0-9]{5}$/);
  assert.equal(w.metadata.generation, 1);
  assert.equal(w.spec.replicas, 1, 'schema default');
  assert.equal(w.status, undefined, 'status is dropped on create with a status subresource');
  const rv = store.resourceVersion;
  api.create(configMaps, 'default', { metadata: { name: 'dry' } }, { dryRun: true });
  assert.equal(store.resourceVersion, rv);
  assert.equal(api.tryGet(configMaps, 'default', 'dry'), undefined);
  assert.throws(() => api.create(configMaps, 'default', { metadata: { name: 'a' } }), code(409, 'AlreadyExists'));
  assert.throws(() => api.create(configMaps, 'nowhere', { metadata: { name: 'a' } }), code(404));
  assert.throws(() => api.create(configMaps, 'default', { metadata: { name: 'Bad_Name' } }), code(422, 'Invalid'));
  assert.throws(() => api.create(configMaps, 'default', { apiVersion: 'v2', metadata: { name: 'x' } }), code(400));
});

test('optimistic concurrency: stale resourceVersion 409; custom resources need one (422)', () => {
  const { api, configMaps, widgets } = setup();
  const cm = api.create(configMaps, 'default', { metadata: { name: 'a' }, data: { k: '1' } });
  api.update(configMaps, 'default', 'a', { ...cm, data: { k: '2' } });
  assert.throws(() => api.update(configMaps, 'default', 'a', { ...cm, data: { k: '3' } }), code(409, 'Conflict'));
  const { metadata, ...rest } = cm;
  const unconditional = api.update(configMaps, 'default', 'a', { ...rest, metadata: { name: metadata.name }, data: { k: '4' } });
  assert.equal(unconditional.object.data.k, '4', 'built-ins accept a PUT without resourceVersion');
  api.create(widgets, 'default', { metadata: { name: 'w' }, spec: {} });
  assert.throws(() => api.update(widgets, 'default', 'w', { metadata: { name: 'w' }, spec: { replicas: 2 } }), code(422));
  assert.throws(() => api.patch(configMaps, 'default', 'a', 'merge', { metadata: { resourceVersion: '1' }, data: { k: '5' } }), code(409));
});

test('generation and the status subresource', () => {
  const { api, widgets, store } = setup();
  const w = api.create(widgets, 'default', { metadata: { name: 'w' }, spec: { replicas: 1 } });
  const statusOnly = api.update(widgets, 'default', 'w', { ...w, spec: { replicas: 7 }, status: { replicas: 1 } }, { subresource: 'status' }).object;
  assert.equal(statusOnly.spec.replicas, 1, '/status writes only .status');
  assert.equal(statusOnly.status.replicas, 1);
  assert.equal(statusOnly.metadata.generation, 1);
  const specChange = api.update(widgets, 'default', 'w', { ...statusOnly, spec: { replicas: 3 }, status: { replicas: 99 } }).object;
  assert.equal(specChange.metadata.generation, 2);
  assert.equal(specChange.status.replicas, 1, 'the object itself cannot write .status');
  const labels = api.patch(widgets, 'default', 'w', 'merge', { metadata: { labels: { a: 'b' } } }).object;
  assert.equal(labels.metadata.generation, 2, 'metadata changes do not bump generation');
  const rv = store.resourceVersion;
  const same = api.patch(widgets, 'default', 'w', 'merge', { spec: { replicas: 3 } }).object;
  assert.equal(store.resourceVersion, rv, 'a no-op write stores nothing');
  assert.equal(same.metadata.resourceVersion, labels.metadata.resourceVersion);
});

test('finalizers hold a deletion; no new finalizers while deleting', () => {
  const { api, configMaps } = setup();
  api.create(configMaps, 'default', { metadata: { name: 'f', finalizers: ['example.dev/hold'] } });
  const r = api.delete(configMaps, 'default', 'f');
  assert.equal(r.deleted, false);
  assert.ok(r.object.metadata.deletionTimestamp);
  assert.throws(() => api.patch(configMaps, 'default', 'f', 'merge', { metadata: { finalizers: ['example.dev/hold', 'example.dev/more'] } }), code(422));
  assert.equal(api.delete(configMaps, 'default', 'f').deleted, false, 'deleting again changes nothing');
  api.patch(configMaps, 'default', 'f', 'merge', { metadata: { finalizers: null } });
  assert.equal(api.tryGet(configMaps, 'default', 'f'), undefined);
  api.create(configMaps, 'default', { metadata: { name: 'p' } });
  assert.throws(() => api.delete(configMaps, 'default', 'p', { preconditions: { uid: 'other' } }), code(409));
  assert.throws(() => api.delete(configMaps, 'default', 'p', { propagationPolicy: 'Sideways' }), code(422));
});

test('pods delete gracefully once bound; immediately when not', () => {
  const { api, pods } = setup();
  const spec = { containers: [{ name: 'c', image: 'busybox' }] };
  api.create(pods, 'default', { metadata: { name: 'unbound' }, spec });
  assert.equal(api.delete(pods, 'default', 'unbound').deleted, true);
  api.create(pods, 'default', { metadata: { name: 'bound' }, spec: { ...spec, nodeName: 'node-1', terminationGracePeriodSeconds: 20 } });
  const r = api.delete(pods, 'default', 'bound');
  assert.equal(r.deleted, false);
  assert.equal(r.object.metadata.deletionGracePeriodSeconds, 20);
  const shorter = api.delete(pods, 'default', 'bound', { gracePeriodSeconds: 5 });
  assert.equal(shorter.object.metadata.deletionGracePeriodSeconds, 5);
  assert.equal(api.delete(pods, 'default', 'bound', { gracePeriodSeconds: 0 }).deleted, true);
  // Pod specs are mostly immutable.
  const p = api.create(pods, 'default', { metadata: { name: 'immutable' }, spec });
  assert.throws(() => api.update(pods, 'default', 'immutable', { ...p, spec: { ...p.spec, restartPolicy: 'Never' } }), code(422));
  assert.equal(api.update(pods, 'default', 'immutable', { ...p, spec: { ...p.spec, containers: [{ ...p.spec.containers[0], image: 'busybox:2' }] } }).object.spec.containers[0].image, 'busybox:2');
});

test('the scale subresource reads and writes through the CRD paths', async () => {
  const { api, widgets } = setup();
  const { toScale, writeScale, patchScale } = await import('./scale.ts');
  const w = api.create(widgets, 'default', { metadata: { name: 'w' }, spec: { replicas: 2 } });
  assert.deepEqual(toScale(widgets, w).spec, { replicas: 2 });
  assert.throws(() => writeScale(api, widgets, 'default', 'w', { metadata: { resourceVersion: '1' }, spec: { replicas: 3 } }, {}), code(409));
  assert.equal(patchScale(api, widgets, 'default', 'w', 'merge', { spec: { replicas: 4 } }, {}).spec.replicas, 4);
  assert.equal(api.get(widgets, 'default', 'w').metadata.generation, 2);
});

test('list: selectors, unsupported field labels, pagination', () => {
  const { api, configMaps } = setup();
  for (let i = 0; i < 5; i++) api.create(configMaps, 'default', { metadata: { name: `c${i}`, labels: { even: String(i % 2 === 0) } } });
  assert.deepEqual(api.list(configMaps, 'default', { labelSelector: 'even=true' }).items.map((o) => o.metadata.name), ['c0', 'c2', 'c4']);
  assert.deepEqual(api.list(configMaps, '', { fieldSelector: 'metadata.name=c3' }).items.map((o) => o.metadata.name), ['c3']);
  assert.throws(() => api.list(configMaps, 'default', { fieldSelector: 'spec.nodeName=x' }), code(400));
  const page1 = api.list(configMaps, 'default', { limit: 2 });
  assert.deepEqual(page1.items.map((o) => o.metadata.name), ['c0', 'c1']);
  assert.equal(page1.remainingItemCount, 3);
  const page2 = api.list(configMaps, 'default', { limit: 10, continue: page1.continue });
  assert.deepEqual(page2.items.map((o) => o.metadata.name), ['c2', 'c3', 'c4']);
  assert.equal(page2.continue, undefined);
});

test('the event log replays from a resourceVersion and expires old ones', () => {
  const { api, configMaps, store } = setup();
  const from = store.resourceVersion;
  api.create(configMaps, 'default', { metadata: { name: 'x' } });
  api.patch(configMaps, 'default', 'x', 'merge', { data: { a: '1' } });
  api.delete(configMaps, 'default', 'x');
  const events = store.eventsSince(from);
  assert.ok(events !== 'expired');
  assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
  assert.equal(events[2].object.metadata.resourceVersion, String(store.resourceVersion), 'DELETED carries the deletion resourceVersion');
  store.compact();
  assert.equal(store.eventsSince(from), 'expired');
  assert.deepEqual(store.eventsSince(store.resourceVersion), []);
  for (let i = 0; i < 60; i++) api.create(configMaps, 'default', { metadata: { name: `n${i}` } });
  assert.equal(store.eventsSince(store.resourceVersion - 55), 'expired', 'the bounded log drops old changes');
});

test('store listeners see events in order even when a listener writes', () => {
  const { api, configMaps, store } = setup();
  const seen: string[] = [];
  store.subscribe((e: StoreEvent) => {
    if (e.type === 'ADDED' && e.object.metadata.name === 'first') api.create(configMaps, 'default', { metadata: { name: 'second' } });
  });
  store.subscribe((e: StoreEvent) => seen.push(`${e.type}:${e.object.metadata.name}:${e.rv}`));
  api.create(configMaps, 'default', { metadata: { name: 'first' } });
  assert.equal(seen.length, 2);
  assert.match(seen[0], /^ADDED:first:/);
  assert.match(seen[1], /^ADDED:second:/);
  assert.ok(Number(seen[0].split(':')[2]) < Number(seen[1].split(':')[2]));
});
