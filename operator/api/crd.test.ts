// The CRD manifest and the TypeScript API agree: field names at every level,
// defaults, bounds, patterns and enums; the schema is structural; names,
// subresources and printer columns are as documented; the example is valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAllYaml, loadYaml } from '@kubernetes/client-node';
import * as api from './index.ts';

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  enum?: string[];
  required?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
};

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
// loadYaml converts known kinds into client-node's model classes (renaming
// `enum`, `default`, `x-kubernetes-*`); hiding the kind keeps the wire form.
const wire = (text: string) => text.replace(/^kind: CustomResourceDefinition$/m, 'kind: WireForm');
const crd = loadYaml<{
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: object; scale: Record<string, string> };
      additionalPrinterColumns: { name: string; jsonPath: string; type: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}>(wire(readFileSync(root('crds/replicagroups.replicant.dev.yaml'), 'utf8')));
const version = crd.spec.versions[0];
const schema = version.schema.openAPIV3Schema;
const spec = schema.properties!.spec;
const status = schema.properties!.status;

const keys = (s: Schema | undefined) => Object.keys(s?.properties ?? {}).sort();
const fields = (o: object) => Object.keys(o).sort();

test('names, scope, version, subresources and printer columns', () => {
  assert.equal(crd.spec.group, api.GROUP);
  assert.equal(crd.spec.scope, 'Namespaced');
  assert.equal(crd.spec.names.kind, api.KIND);
  assert.equal(crd.spec.names.plural, api.PLURAL);
  assert.equal(crd.spec.names.singular, api.SINGULAR);
  assert.deepEqual(crd.spec.names.shortNames, api.SHORT_NAMES);
  assert.deepEqual(crd.spec.names.categories, api.CATEGORIES);
  assert.equal(version.name, api.VERSION);
  assert.ok(version.served && version.storage);
  assert.deepEqual(version.subresources.status, {});
  assert.deepEqual({ ...version.subresources.scale }, {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.status.selector',
  });
  assert.deepEqual(
    version.additionalPrinterColumns.map((c) => c.name),
    ['Replicas', 'Ready', 'Leader', 'Tolerates', 'Phase', 'Age'],
  );
  for (const c of version.additionalPrinterColumns.filter((c) => c.jsonPath.startsWith('.status.'))) {
    const path = c.jsonPath.split('.').slice(2);
    let s: Schema | undefined = status;
    for (const p of path) s = s?.properties?.[p];
    assert.ok(s, `printer column ${c.name} points at ${c.jsonPath}, which the status schema lacks`);
    assert.equal(s!.type, c.type, `printer column ${c.name} type`);
  }
});

test('spec field names agree with the TypeScript types at every level', () => {
  assert.deepEqual(keys(spec), fields(api.SPEC_FIELDS));
  assert.deepEqual(keys(spec.properties!.storage), fields(api.STORAGE_FIELDS));
  assert.deepEqual(keys(spec.properties!.failurePolicy), fields(api.FAILURE_POLICY_FIELDS));
  assert.deepEqual(keys(spec.properties!.raft), fields(api.RAFT_FIELDS));
  assert.deepEqual(keys(spec.properties!.tls), fields(api.TLS_FIELDS));
  const cm = spec.properties!.tls.properties!.certManager;
  assert.deepEqual(keys(cm), fields(api.CERT_MANAGER_FIELDS));
  assert.deepEqual(keys(cm.properties!.issuerRef), fields(api.ISSUER_REF_FIELDS));
  assert.deepEqual(cm.required, ['issuerRef']);
  assert.deepEqual(cm.properties!.issuerRef.required, ['name']);
  assert.deepEqual(spec.properties!.storage.required, ['size']);
});

test('status field names agree with the TypeScript types at every level', () => {
  const st = status.properties!;
  assert.deepEqual(keys(status), fields(api.STATUS_FIELDS));
  assert.deepEqual(keys(st.faultTolerance), fields(api.FAULT_TOLERANCE_FIELDS));
  assert.deepEqual(keys(st.configuration), fields(api.CONFIGURATION_FIELDS));
  assert.deepEqual(keys(st.members.items), fields(api.MEMBER_FIELDS));
  assert.deepEqual(keys(st.conditions.items), fields(api.CONDITION_FIELDS));
  assert.deepEqual(keys(st.operation), fields(api.OPERATION_FIELDS));
  assert.deepEqual(keys(st.operation.properties!.add.items), fields(api.OPERATION_MEMBER_FIELDS));
  assert.deepEqual(keys(st.operation.properties!.remove.items), fields(api.OPERATION_MEMBER_FIELDS));
  assert.deepEqual(keys(st.operation.properties!.member), fields(api.OPERATION_MEMBER_FIELDS));
  assert.deepEqual(keys(st.backoff), fields(api.BACKOFF_FIELDS));
  assert.deepEqual(keys(st.rolloutBlocked), fields(api.ROLLOUT_BLOCK_FIELDS));
});

test('enums agree with the TypeScript unions', () => {
  const st = status.properties!;
  assert.deepEqual(st.phase.enum, api.PHASES);
  assert.deepEqual(st.members.items!.properties!.role.enum, api.MEMBER_ROLES);
  assert.deepEqual(st.members.items!.properties!.health.enum, api.MEMBER_HEALTHS);
  assert.deepEqual(st.members.items!.properties!.reason.enum, api.HEALTH_REASONS);
  assert.deepEqual(st.operation.properties!.type.enum, api.OPERATION_TYPES);
  assert.deepEqual(st.operation.properties!.phase.enum, api.OPERATION_PHASES);
  assert.deepEqual(spec.properties!.imagePullPolicy.enum, api.IMAGE_PULL_POLICIES);
  assert.deepEqual(spec.properties!.tls.properties!.certManager.properties!.issuerRef.properties!.kind.enum, api.ISSUER_KINDS);
});

test('defaults, bounds and patterns agree with defaults.ts and validate.ts', () => {
  const s = spec.properties!;
  const fp = s.failurePolicy.properties!;
  const raft = s.raft.properties!;
  assert.equal(s.replicas.default, undefined, 'replicas has no schema default: it would clash with faultTolerance');
  assert.equal(s.image.default, api.DEFAULT_IMAGE);
  assert.equal(s.imagePullPolicy.default, api.DEFAULT_IMAGE_PULL_POLICY);
  assert.equal(s.paused.default, false);
  assert.deepEqual(s.failurePolicy.default, {});
  assert.deepEqual(s.raft.default, {});
  assert.deepEqual(s.tls.default, {});
  assert.equal(s.tls.properties!.enabled.default, api.DEFAULT_TLS_ENABLED);
  assert.equal(api.DEFAULT_TLS_ENABLED, true, 'issue 8: TLS is on unless turned off');
  for (const [k, v] of Object.entries(api.DEFAULT_FAILURE_POLICY)) assert.equal(fp[k].default, v, `failurePolicy.${k}`);
  for (const [k, v] of Object.entries(api.DEFAULT_RAFT)) assert.equal(raft[k].default, v, `raft.${k}`);
  const bounds: [Schema, { min: number; max: number }][] = [
    [s.replicas, api.LIMITS.replicas],
    [s.faultTolerance, api.LIMITS.faultTolerance],
    [fp.maxConcurrentReplacements, api.LIMITS.maxConcurrentReplacements],
    [fp.maxLagEntries, api.LIMITS.maxLagEntries],
    [raft.heartbeatIntervalMs, api.LIMITS.heartbeatIntervalMs],
    [raft.electionTimeoutMs, api.LIMITS.electionTimeoutMs],
    [raft.snapshotCount, api.LIMITS.snapshotCount],
    [raft.checkpointInterval, api.LIMITS.checkpointInterval],
  ];
  for (const [sch, b] of bounds) assert.deepEqual([sch.minimum, sch.maximum], [b.min, b.max]);
  assert.equal(fp.unhealthyAfter.pattern, api.DURATION_PATTERN);
  assert.equal(fp.catchUpTimeout.pattern, api.DURATION_PATTERN);
  assert.equal(s.storage.properties!.size.pattern, api.QUANTITY_PATTERN);
  const cm = s.tls.properties!.certManager.properties!;
  assert.equal(cm.issuerRef.properties!.kind.default, api.DEFAULT_ISSUER_KIND);
  assert.equal(cm.issuerRef.properties!.group.default, api.DEFAULT_ISSUER_GROUP);
  assert.equal(cm.duration.pattern, api.DURATION_PATTERN);
  assert.equal(cm.renewBefore.pattern, api.DURATION_PATTERN);
  // The defaults the CRD writes must themselves pass the operator's validation.
  const defaulted = { failurePolicy: { ...api.DEFAULT_FAILURE_POLICY }, raft: { ...api.DEFAULT_RAFT }, image: s.image.default, paused: false };
  assert.deepEqual(api.validateSpec(defaulted), []);
});

test('CEL rules cover the cross-field checks the operator also makes', () => {
  const rules = (s: Schema) => (s['x-kubernetes-validations'] ?? []).map((v) => v.rule);
  assert.ok(rules(spec).some((r) => r.includes('has(self.replicas) && has(self.faultTolerance)')));
  assert.ok(rules(spec.properties!.replicas).includes('self % 2 == 1'));
  assert.ok(rules(spec.properties!.raft).some((r) => r.includes('3 * self.heartbeatIntervalMs')));
  assert.ok(rules(schema).some((r) => r.includes(`<= ${api.LIMITS.nameLength}`)));
  assert.ok(rules(spec.properties!.tls).includes('self.enabled == oldSelf.enabled'));
  // certManager: fixed once created (like enabled), exclusive with caSecretName, needs TLS on.
  const tls = rules(spec.properties!.tls);
  assert.ok(tls.includes('has(self.certManager) == has(oldSelf.certManager)'));
  assert.ok(tls.includes('!(has(self.certManager) && has(self.caSecretName))'));
  assert.ok(tls.some((r) => r.startsWith('self.enabled ||') && r.includes('!has(self.certManager)')));
  assert.ok(!tls.includes('!has(self.certManager)'), 'certManager is supported: no blanket refusal');
  const refused = api.validateSpec({ tls: { certManager: { issuerRef: { name: 'x' } }, caSecretName: 'ca' } });
  assert.deepEqual(refused.map((e) => e.path), ['spec.tls.caSecretName'], 'the operator refuses what the CEL rule refuses');
});

test('the chart ships the same CRD', () => {
  assert.equal(readFileSync(root('charts/replicant/crds/replicagroups.replicant.dev.yaml'), 'utf8'), readFileSync(root('crds/replicagroups.replicant.dev.yaml'), 'utf8'));
});

test('the schema is structural: every node says its type', () => {
  const walk = (s: Schema, path: string): void => {
    const ok = s.type !== undefined || s['x-kubernetes-int-or-string'] || s['x-kubernetes-preserve-unknown-fields'];
    assert.ok(ok, `${path} has no type`);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
    if (s.items) walk(s.items, `${path}[]`);
    if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`);
    if (s.type === 'object' && !s.properties && !s.additionalProperties && !s['x-kubernetes-preserve-unknown-fields'] && path !== '.metadata') {
      assert.fail(`${path} is an object with no properties: the API server would prune everything in it`);
    }
  };
  walk(schema, '');
});

test('examples/replicagroup.yaml is a valid three-member group', () => {
  const rg = loadYaml<api.ReplicaGroup>(readFileSync(root('examples/replicagroup.yaml'), 'utf8'));
  assert.equal(rg.apiVersion, api.API_VERSION);
  assert.equal(rg.kind, api.KIND);
  assert.deepEqual(api.validateGroup(rg), []);
  assert.equal(api.resolveSpec(rg.spec).replicas, 3);
});

test('examples/replicagroup-cert-manager.yaml: a valid group issued through the CA Issuer the same file defines', () => {
  const docs = loadAllYaml(readFileSync(root('examples/replicagroup-cert-manager.yaml'), 'utf8')) as { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> }[];
  const rg = docs.find((d) => d.kind === api.KIND) as unknown as api.ReplicaGroup;
  assert.deepEqual(api.validateGroup(rg), []);
  const cm = api.resolveSpec(rg.spec).tls!.certManager!;
  const issuer = docs.find((d) => d.kind === cm.issuerRef.kind && d.metadata.name === cm.issuerRef.name);
  assert.ok(issuer, 'the issuer it names is in the file');
  assert.equal(issuer!.apiVersion, `${cm.issuerRef.group}/v1`);
  assert.ok(issuer!.spec.ca, 'a CA issuer: it writes ca.crt');
});
