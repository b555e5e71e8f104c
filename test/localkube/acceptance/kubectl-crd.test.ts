// Acceptance: the real kubectl against localkube with a CRD and custom
// resources — apply, printer columns, scale (generation), get -w, describe
// Events, delete waiting for a finalizer, wait --for=condition, and 422/400/415
// answers with field paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl, kubectlOk, kubectlStream, waitFor, withLocalkube } from '../testing.ts';

const CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: replicagroups.replicant.dev
spec:
  group: replicant.dev
  scope: Namespaced
  names:
    plural: replicagroups
    singular: replicagroup
    kind: ReplicaGroup
    shortNames: [rg]
    categories: [all]
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: integer, jsonPath: .status.readyReplicas}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [image]
            properties:
              replicas: {type: integer, minimum: 1, maximum: 9, default: 3}
              image: {type: string, pattern: '^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?$'}
              mode: {type: string, enum: [fast, safe]}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`;

const rg = (name: string, replicas = 3) => `
apiVersion: replicant.dev/v1alpha1
kind: ReplicaGroup
metadata:
  name: ${name}
spec:
  image: replicant:v1
  replicas: ${replicas}
`;

test('kubectl drives a CRD and its custom resources', async (t) => {
  const lk = await withLocalkube(t, { nodes: 0 });
  assert.match(await kubectlOk(lk, ['apply', '-f', '-'], CRD), /customresourcedefinition.apiextensions.k8s.io\/replicagroups.replicant.dev created/);
  await waitFor('CRD established', async () => (await kubectl(lk, ['get', 'crd', 'replicagroups.replicant.dev', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])).stdout === 'True');
  assert.match(await kubectlOk(lk, ['apply', '-f', '-'], rg('g1')), /replicagroup.replicant.dev\/g1 created/);

  await t.test('get shows the printer columns', async () => {
    const out = await kubectlOk(lk, ['get', 'rg']);
    const [header, row] = out.trim().split('\n');
    assert.deepEqual(header.split(/\s+/), ['NAME', 'REPLICAS', 'READY', 'PHASE', 'AGE']);
    assert.match(row, /^g1\s+3\s+/);
    // The category "all" finds it too.
    assert.match(await kubectlOk(lk, ['get', 'all']), /replicagroup.replicant.dev\/g1/);
  });

  await t.test('apply again is unchanged; a changed manifest is configured', async () => {
    assert.match(await kubectlOk(lk, ['apply', '-f', '-'], rg('g1')), /unchanged/);
    assert.match(await kubectlOk(lk, ['apply', '-f', '-'], rg('g1', 4)), /configured/);
    assert.equal(await kubectlOk(lk, ['get', 'rg', 'g1', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}']), '4 2');
  });

  await t.test('scale changes spec.replicas and bumps generation', async () => {
    assert.match(await kubectlOk(lk, ['scale', 'rg/g1', '--replicas=5']), /scaled/);
    assert.equal(await kubectlOk(lk, ['get', 'rg', 'g1', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}']), '5 3');
    // A status write does not bump generation.
    await kubectlOk(lk, ['patch', 'rg', 'g1', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":5,"readyReplicas":2,"phase":"Running","selector":"app=g1"}}']);
    assert.equal(await kubectlOk(lk, ['get', 'rg', 'g1', '-o', 'jsonpath={.metadata.generation} {.status.phase}']), '3 Running');
    // --current-replicas reads the Scale subresource and PUTs it with its resourceVersion.
    await kubectlOk(lk, ['scale', 'rg/g1', '--current-replicas=5', '--replicas=7']);
    assert.equal(await kubectlOk(lk, ['get', 'rg', 'g1', '-o', 'jsonpath={.spec.replicas}']), '7');
    const scale = JSON.parse(await kubectlOk(lk, ['get', '--raw', '/apis/replicant.dev/v1alpha1/namespaces/default/replicagroups/g1/scale']));
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas, scale.status.selector], ['Scale', 7, 5, 'app=g1']);
  });

  await t.test('get -w streams a change', async () => {
    const before = lk.openWatches();
    const watch = kubectlStream(t, lk, ['get', 'rg', 'g1', '-w', '--no-headers']);
    await waitFor('initial row', () => /^g1\s+7/m.test(watch.output()));
    await waitFor('kubectl get -w to be watching', () => lk.openWatches() > before);
    await kubectlOk(lk, ['patch', 'rg', 'g1', '--type=merge', '-p', '{"spec":{"replicas":2}}']);
    await waitFor('changed row', () => /^g1\s+2\s/m.test(watch.output()));
    await watch.stop();
  });

  await t.test('describe shows Events about the object', async () => {
    const uid = await kubectlOk(lk, ['get', 'rg', 'g1', '-o', 'jsonpath={.metadata.uid}']);
    await kubectlOk(lk, ['create', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'g1.member-replaced' },
      involvedObject: { apiVersion: 'replicant.dev/v1alpha1', kind: 'ReplicaGroup', name: 'g1', namespace: 'default', uid },
      reason: 'MemberReplaced',
      message: 'replaced g1-2 by g1-3',
      type: 'Normal',
      source: { component: 'replicant-operator' },
      firstTimestamp: new Date().toISOString(),
      lastTimestamp: new Date().toISOString(),
      count: 1,
    }));
    const out = await kubectlOk(lk, ['describe', 'rg', 'g1']);
    assert.match(out, /Events:[\s\S]*Normal\s+MemberReplaced\s+\S+\s+replicant-operator\s+replaced g1-2 by g1-3/);
  });

  await t.test('wait --for=condition returns when the status condition is set', async () => {
    const before = lk.openWatches();
    const waiting = kubectlStream(t, lk, ['wait', '--for=condition=Available', 'rg/g1', '--timeout=20s']);
    const exit = new Promise<number | null>((r) => waiting.child.once('exit', (code) => r(code)));
    await waitFor('kubectl wait to be watching', () => lk.openWatches() > before);
    await kubectlOk(lk, ['patch', 'rg', 'g1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ type: 'Available', status: 'True', reason: 'QuorumUp', message: 'ok', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z/, 'Z') }] } })]);
    assert.equal(await exit, 0);
    assert.match(waiting.output(), /condition met/);
  });

  await t.test('delete with a finalizer waits until the finalizer is removed', async () => {
    await kubectlOk(lk, ['patch', 'rg', 'g1', '--type=merge', '-p', '{"metadata":{"finalizers":["replicant.dev/cleanup"]}}']);
    const before = lk.openWatches();
    const del = kubectlStream(t, lk, ['delete', 'rg', 'g1', '--timeout=20s']);
    const exit = new Promise<number | null>((r) => del.child.once('exit', (code) => r(code)));
    await waitFor('kubectl delete to wait on a watch', () => lk.openWatches() > before);
    assert.ok(lk.api.store.get('replicant.dev/replicagroups', 'default', 'g1')?.metadata.deletionTimestamp);
    assert.equal(del.child.exitCode, null, 'kubectl delete must still be waiting');
    // A deleting object takes no new finalizers.
    const add = await kubectl(lk, ['patch', 'rg', 'g1', '--type=json', '-p', '[{"op":"add","path":"/metadata/finalizers/-","value":"x.dev/new"}]']);
    assert.notEqual(add.code, 0);
    assert.match(add.stderr, /no new finalizers can be added if the object is being deleted/);
    await kubectlOk(lk, ['patch', 'rg', 'g1', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    assert.equal(await exit, 0);
    assert.match(del.output(), /deleted/);
    assert.match((await kubectl(lk, ['get', 'rg', 'g1'])).stderr, /NotFound/);
  });

  await t.test('invalid custom resources answer 422 with field paths', async () => {
    const bad = await kubectl(lk, ['apply', '-f', '-'], `
apiVersion: replicant.dev/v1alpha1
kind: ReplicaGroup
metadata: {name: bad}
spec: {replicas: "three", mode: slow}
`);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.image: Required value/);
    assert.match(bad.stderr, /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer/);
    assert.match(bad.stderr, /spec\.mode: Unsupported value: "slow": supported values: "fast", "safe"/);
    const range = await kubectl(lk, ['apply', '-f', '-'], `
apiVersion: replicant.dev/v1alpha1
kind: ReplicaGroup
metadata: {name: bad}
spec: {replicas: 0, image: "Bad Image"}
`);
    assert.match(range.stderr, /spec\.replicas: Invalid value: 0: spec\.replicas in body should be greater than or equal to 1/);
    assert.match(range.stderr, /spec\.image: Invalid value: "Bad Image": spec\.image in body should match/);
    const unknown = await kubectl(lk, ['apply', '-f', '-'], `
apiVersion: replicant.dev/v1alpha1
kind: ReplicaGroup
metadata: {name: bad}
spec: {image: x, colour: blue}
`);
    assert.match(unknown.stderr, /strict decoding error: unknown field "spec\.colour"/);
    assert.match((await kubectl(lk, ['get', 'rg', 'bad'])).stderr, /NotFound/);
  });

  await t.test('strategic merge patch on a custom resource is refused (415)', async () => {
    await kubectlOk(lk, ['apply', '-f', '-'], rg('g2'));
    const r = await kubectl(lk, ['patch', 'rg', 'g2', '-p', '{"spec":{"replicas":5}}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /strategic-merge-patch\+json is not supported/);
  });

  await t.test('server-side apply creates and updates', async () => {
    assert.match(await kubectlOk(lk, ['apply', '--server-side', '-f', '-'], rg('g3', 3)), /serverside-applied/);
    await kubectlOk(lk, ['apply', '--server-side', '-f', '-'], rg('g3', 5));
    assert.equal(await kubectlOk(lk, ['get', 'rg', 'g3', '-o', 'jsonpath={.spec.replicas}']), '5');
  });

  await t.test('deleting the CRD deletes its custom resources', async () => {
    await kubectlOk(lk, ['delete', 'crd', 'replicagroups.replicant.dev', '--timeout=20s']);
    assert.equal(lk.api.store.list('replicant.dev/replicagroups').length, 0);
    // Discovery no longer lists the type (kubectl's cached discovery may still know it: then the list is a 404).
    assert.match((await kubectl(lk, ['get', 'rg'])).stderr, /doesn't have a resource type "rg"|NotFound/);
    assert.doesNotMatch(await kubectlOk(lk, ['api-resources', '--cached=false']), /replicagroups/);
  });
});
