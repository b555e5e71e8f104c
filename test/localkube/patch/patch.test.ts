import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyConfiguration, applyJsonPatch, applyMergePatch, applyStrategicMergePatch, patchMetaFor } from './index.ts';
import { ApiError } from '../api/errors.ts';

const pod = () => ({
  metadata: { name: 'p', labels: { a: '1' }, finalizers: ['x/one'] },
  spec: {
    containers: [
      { name: 'a', image: 'img:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }] },
      { name: 'b', image: 'img:1' },
    ],
    volumes: [{ name: 'v', emptyDir: {} }],
    tolerations: [{ key: 'k', operator: 'Exists' }],
  },
});

test('json patch: add, remove, replace, move, copy, test', () => {
  const doc = { a: [1, 2], b: { c: 'x' } };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/a/-', value: 3 },
    { op: 'add', path: '/a/0', value: 0 },
    { op: 'replace', path: '/b/c', value: 'y' },
    { op: 'copy', from: '/b/c', path: '/d' },
    { op: 'move', from: '/d', path: '/e~1f' },
    { op: 'remove', path: '/a/1' },
    { op: 'test', path: '/e~1f', value: 'y' },
  ]);
  assert.deepEqual(out, { a: [0, 2, 3], b: { c: 'y' }, 'e/f': 'y' });
  assert.deepEqual(doc, { a: [1, 2], b: { c: 'x' } }, 'input untouched');
  assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/b/c', value: 'z' }]), (e: ApiError) => e.code === 422);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }]), (e: ApiError) => e.code === 422);
  assert.throws(() => applyJsonPatch(doc, { op: 'add' }), (e: ApiError) => e.code === 400);
});

test('merge patch: objects merge, null deletes, lists replace', () => {
  assert.deepEqual(applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), { a: { c: 2, d: 3 }, l: [3] });
});

test('strategic merge merges containers, env and ports by key', () => {
  const meta = patchMetaFor('', 'Pod');
  const out = applyStrategicMergePatch(pod(), {
    spec: { containers: [{ name: 'a', image: 'img:2', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }] },
  }, meta);
  assert.equal(out.spec.containers.length, 2);
  assert.equal(out.spec.containers[0].image, 'img:2');
  assert.deepEqual(out.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]);
  assert.deepEqual(out.spec.containers[0].ports, [{ containerPort: 80 }]);
  // Lists without a strategy (tolerations) replace.
  assert.deepEqual(applyStrategicMergePatch(pod(), { spec: { tolerations: [] } }, meta).spec.tolerations, []);
});

test('strategic merge directives: $patch delete/replace, $setElementOrder, $deleteFromPrimitiveList, $retainKeys', () => {
  const meta = patchMetaFor('', 'Pod');
  const deleted = applyStrategicMergePatch(pod(), { spec: { containers: [{ name: 'b', $patch: 'delete' }] } }, meta);
  assert.deepEqual(deleted.spec.containers.map((c: { name: string }) => c.name), ['a']);
  const replaced = applyStrategicMergePatch(pod(), { spec: { containers: [{ $patch: 'replace' }, { name: 'c', image: 'x' }] } }, meta);
  assert.deepEqual(replaced.spec.containers, [{ name: 'c', image: 'x' }]);
  const ordered = applyStrategicMergePatch(pod(), { spec: { $setElementOrder: undefined, '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } }, meta);
  assert.deepEqual(ordered.spec.containers.map((c: { name: string }) => c.name), ['b', 'a']);
  const finalizers = applyStrategicMergePatch(pod(), { metadata: { finalizers: ['x/two'], '$deleteFromPrimitiveList/finalizers': ['x/one'] } }, meta);
  assert.deepEqual(finalizers.metadata.finalizers, ['x/two']);
  const union = applyStrategicMergePatch(pod(), { metadata: { finalizers: ['x/two'] } }, meta);
  assert.deepEqual(union.metadata.finalizers, ['x/one', 'x/two']);
  const retained = applyStrategicMergePatch(pod(), { spec: { volumes: [{ name: 'v', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/x' } }] } }, meta);
  assert.deepEqual(retained.spec.volumes, [{ name: 'v', hostPath: { path: '/x' } }]);
  const whole = applyStrategicMergePatch(pod(), { spec: { $patch: 'replace', containers: [] } }, meta);
  assert.deepEqual(whole.spec, { containers: [] });
  assert.throws(() => applyStrategicMergePatch(pod(), { spec: { containers: [{ image: 'no-name' }] } }, meta), /does not contain declared merge key: name/);
});

test('apply removes what the same manager no longer applies, keeps what others set', () => {
  const meta = patchMetaFor('', 'ConfigMap');
  const first = applyConfiguration(undefined, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1', b: '2' } }, data: { x: '1', y: '2' } }, 'helm', meta, 't1');
  // Someone else adds a field.
  const live = { ...first, data: { ...first.data, z: 'other' } };
  const second = applyConfiguration(live, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { x: '3' } }, 'helm', meta, 't2');
  assert.deepEqual(second.data, { x: '3', z: 'other' });
  assert.deepEqual(second.metadata.labels, { a: '1' });
  assert.equal(second.metadata.managedFields.length, 1);
  assert.deepEqual(second.metadata.managedFields[0].fieldsV1, { 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:data': { 'f:x': {} } });
});

test('apply of keyed lists removes only this manager\'s elements', () => {
  const meta = patchMetaFor('', 'Pod');
  const config = (containers: object[]) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers } });
  const first = applyConfiguration(undefined, config([{ name: 'a', image: '1' }, { name: 'b', image: '1' }]), 'm', meta, 't');
  const second = applyConfiguration(first, config([{ name: 'a', image: '2' }]), 'm', meta, 't');
  assert.deepEqual(second.spec.containers, [{ name: 'a', image: '2' }]);
});
