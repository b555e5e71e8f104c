// The chart without a cluster: `helm lint --strict` and `helm template` with the
// default values and with every toggle on; bad values fail with the schema's
// error; the CRD is the repository's; the RBAC grants exactly the API calls
// the operator's code makes; the monitoring objects wrap the dashboards and
// alerts unchanged; values.yaml is documented line by line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { CHART_DIR, REPO_ROOT, find, parseManifests, useHelm } from './helm.ts';
import type { K8sObject } from './helm.ts';

const ALL_TOGGLES = path.join(CHART_DIR, 'ci', 'all-toggles-values.yaml');
const RELEASE = 'rp';
const NS = 'replicant-system';
const FULLNAME = 'rp-replicant';

test('helm lint --strict passes with the default values and with every toggle on', async (t) => {
  const helm = useHelm(t);
  const plain = await helm.ok(['lint', '--strict', CHART_DIR]);
  assert.match(plain, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  assert.doesNotMatch(plain, /\[(WARNING|ERROR)\]/);
  const all = await helm.ok(['lint', '--strict', CHART_DIR, '-f', ALL_TOGGLES]);
  assert.doesNotMatch(all, /\[(WARNING|ERROR)\]/);
});

test('the chart CRDs are the repository CRDs, byte for byte', () => {
  const repo = fs.readdirSync(path.join(REPO_ROOT, 'crds')).filter((f) => /\.ya?ml$/.test(f)).sort();
  const chart = fs.readdirSync(path.join(CHART_DIR, 'crds')).sort();
  assert.deepEqual(chart, repo, 'the same files in crds/ and charts/replicant/crds/');
  for (const f of repo) {
    assert.equal(fs.readFileSync(path.join(CHART_DIR, 'crds', f), 'utf8'), fs.readFileSync(path.join(REPO_ROOT, 'crds', f), 'utf8'), `${f} differs: copy crds/${f} to charts/replicant/crds/`);
  }
});

async function render(t: { after(fn: () => unknown): void }, ...args: string[]): Promise<K8sObject[]> {
  const helm = useHelm(t);
  return parseManifests(await helm.ok(['template', RELEASE, CHART_DIR, '--namespace', NS, ...args]));
}

test('default values: the operator, its identity and its least privilege, nothing optional', async (t) => {
  const objects = await render(t);
  const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    `ClusterRole/${FULLNAME}`,
    `ClusterRole/${FULLNAME}-nodes`,
    `ClusterRoleBinding/${FULLNAME}`,
    `ClusterRoleBinding/${FULLNAME}-nodes`,
    `Deployment/${FULLNAME}`,
    `PodDisruptionBudget/${FULLNAME}`,
    `Role/${FULLNAME}-leader-election`,
    `RoleBinding/${FULLNAME}-leader-election`,
    `Service/${FULLNAME}-metrics`,
    `ServiceAccount/${FULLNAME}`,
  ]);
  for (const o of objects) {
    assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${o.kind} labelled`);
    if (o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding') assert.equal(o.metadata.namespace, NS, `${o.kind} in the release namespace`);
  }

  const d = find(objects, 'Deployment', FULLNAME);
  assert.equal(d.spec.replicas, 2);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  const pod = d.spec.template.spec;
  assert.equal(pod.serviceAccountName, FULLNAME);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, 1000);
  assert.equal(pod.containers.length, 1);
  const c = pod.containers[0];
  assert.equal(c.image, 'ghcr.io/replicant-dev/replicant:0.1.0', 'the tag defaults to the appVersion');
  assert.equal(c.args[0], 'operator', 'the image ENTRYPOINT is `node bin/replicant.ts`: the first arg picks the command');
  for (const flag of [
    '--metrics-bind-address=$(POD_IP):8080',
    '--leader-elect=true',
    '--leader-election-namespace=$(POD_NAMESPACE)',
    `--leader-election-id=${FULLNAME}-leader`,
    '--replica-args-prefix=replica',
  ]) {
    assert.ok(c.args.includes(flag), `args include ${flag}: ${c.args.join(' ')}`);
  }
  assert.ok(!c.args.some((a: string) => a.startsWith('--namespace')), 'watches every namespace by default');
  assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.port, 'metrics');
  assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, 'requests and a memory limit');
  const env = Object.fromEntries(c.env.map((e: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }) => [e.name, e.valueFrom.fieldRef.fieldPath]));
  assert.deepEqual(env, { POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', POD_IP: 'status.podIP' });

  const svc = find(objects, 'Service', `${FULLNAME}-metrics`);
  assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels, 'the metrics Service selects the operator pods');
  assert.deepEqual(svc.spec.ports, [{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
  assert.deepEqual(find(objects, 'PodDisruptionBudget', FULLNAME).spec.selector.matchLabels, d.spec.selector.matchLabels);
  // Members of replica groups carry app.kubernetes.io/name=replicant too: the component label keeps them out.
  assert.equal(d.spec.selector.matchLabels['app.kubernetes.io/component'], 'operator');
});

// ---- RBAC: exactly what the operator's code calls -----------------------------

/** CLIENT_KINDS maps client-node method suffixes to API groups and resources. */
const CLIENT_KINDS: Record<string, [string, string]> = {
  Pod: ['', 'pods'],
  PersistentVolumeClaim: ['', 'persistentvolumeclaims'],
  Service: ['', 'services'],
  Secret: ['', 'secrets'],
  Node: ['', 'nodes'],
  Event: ['', 'events'],
  PodDisruptionBudget: ['policy', 'poddisruptionbudgets'],
  NetworkPolicy: ['networking.k8s.io', 'networkpolicies'],
  Lease: ['coordination.k8s.io', 'leases'],
  // Custom objects are ReplicaGroups, unless the call spreads CERTIFICATES (operator/kube/cert-manager-api.ts).
  CustomObject: ['replicant.dev', 'replicagroups'],
};
const CERT_MANAGER_CERTIFICATES: [string, string] = ['cert-manager.io', 'certificates'];
const VERBS: Record<string, string> = { list: 'list', read: 'get', get: 'get', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };

/** operatorSources are the operator's non-test TypeScript files. */
function operatorSources(): Map<string, string> {
  const out = new Map<string, string>();
  const dirs = [path.join(REPO_ROOT, 'operator')];
  while (dirs.length) {
    const dir = dirs.pop()!;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) dirs.push(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.set(path.relative(REPO_ROOT, p), fs.readFileSync(p, 'utf8'));
    }
  }
  return out;
}

/**
 * callsInOperator lists "group resource verb" for every client-node API method
 * the operator calls. It also checks that nothing reaches the API another way
 * (generic object clients, raw watches, other typed clients), which would make
 * this list incomplete.
 */
function callsInOperator(): Set<string> {
  const out = new Set<string>();
  for (const [file, src] of operatorSources()) {
    assert.doesNotMatch(src, /KubernetesObjectApi|new k8s\.Watch|\.makeApiClient\((?!k8s\.(CoreV1Api|CustomObjectsApi|PolicyV1Api|CoordinationV1Api|NetworkingV1Api)\))/, `${file} reaches the API in a way this test does not read`);
    for (const m of src.matchAll(/\.(list|read|get|create|replace|patch|delete)(Namespaced|Cluster)?([A-Z][A-Za-z]*?)(Status)?(ForAllNamespaces)?\(\s*\{(\s*\.\.\.CERTIFICATES\b)?/g)) {
      const kind = m[3] === 'CustomObject' && m[6] ? CERT_MANAGER_CERTIFICATES : CLIENT_KINDS[m[3]];
      if (!kind) continue;
      out.add(`${kind[0]} ${kind[1]}${m[4] ? '/status' : ''} ${VERBS[m[1]]}`);
    }
  }
  return out;
}

/**
 * NOT_CALLS are granted though no client method names them: informers
 * (list, then watch) and the owner-reference admission rule.
 */
const NOT_CALLS = new Set([
  'replicant.dev replicagroups watch', // informer on ReplicaGroups (operator/kube/controller.ts)
  ' pods watch', // informer on member pods
  'replicant.dev replicagroups/finalizers update', // blockOwnerDeletion owner references (OwnerReferencesPermissionEnforcement)
]);

function granted(rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g} ${res} ${v}`);
  return out;
}

test('RBAC grants exactly the API calls in operator/, and nothing by wildcard', async (t) => {
  const objects = await render(t);
  const rules = [
    ...find(objects, 'ClusterRole', FULLNAME).rules,
    ...find(objects, 'ClusterRole', `${FULLNAME}-nodes`).rules,
    ...find(objects, 'Role', `${FULLNAME}-leader-election`).rules,
  ];
  for (const r of rules) {
    for (const f of ['apiGroups', 'resources', 'verbs']) assert.ok(!r[f].includes('*'), `no wildcard in ${f}: ${JSON.stringify(r)}`);
  }
  const calls = callsInOperator();
  assert.ok(calls.size >= 15, `found the operator's calls: ${[...calls].join(', ')}`);
  const wanted = new Set([...calls, ...NOT_CALLS]);
  const have = granted(rules);
  assert.deepEqual([...have].sort(), [...wanted].sort(), 'granted = called (+ informers and finalizers)');
  // Cluster-scoped reads are only nodes; the Lease is namespaced and named.
  assert.deepEqual(granted(find(objects, 'ClusterRole', `${FULLNAME}-nodes`).rules), new Set([' nodes list']));
  const leaseRules = find(objects, 'Role', `${FULLNAME}-leader-election`).rules;
  assert.deepEqual(leaseRules.find((r: { verbs: string[] }) => r.verbs.includes('update')).resourceNames, [`${FULLNAME}-leader`]);
  // Bindings name the chart's ServiceAccount.
  for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
    for (const b of objects.filter((o) => o.kind === kind)) {
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: FULLNAME, namespace: NS }]);
    }
  }
});

test('operator.watchNamespace: namespaced permissions only there', async (t) => {
  const objects = await render(t, '--set', 'operator.watchNamespace=databases');
  assert.ok(!objects.some((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === FULLNAME), 'no cluster-wide binding of the operator role');
  const rb = find(objects, 'RoleBinding', FULLNAME);
  assert.equal(rb.metadata.namespace, 'databases');
  assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: FULLNAME });
  assert.ok(find(objects, 'Deployment', FULLNAME).spec.template.spec.containers[0].args.includes('--namespace=databases'));
  find(objects, 'ClusterRoleBinding', `${FULLNAME}-nodes`);
});

// ---- optional parts --------------------------------------------------------------

test('every toggle on: ServiceMonitor, PodMonitor, PrometheusRule, dashboards, NetworkPolicies', async (t) => {
  const objects = await render(t, '-f', ALL_TOGGLES);
  const sm = find(objects, 'ServiceMonitor', FULLNAME);
  assert.equal(sm.metadata.labels!.release, 'kube-prometheus-stack');
  assert.deepEqual(sm.spec.selector.matchLabels, find(objects, 'Service', `${FULLNAME}-metrics`).metadata.labels && find(objects, 'Deployment', FULLNAME).spec.selector.matchLabels);
  assert.equal(sm.spec.endpoints[0].port, 'metrics');
  assert.equal(sm.spec.endpoints[0].honorLabels, true, 'the operator labels its series with namespace and group itself');

  const pm = find(objects, 'PodMonitor', `${FULLNAME}-members`);
  assert.deepEqual(pm.spec.namespaceSelector, { any: true });
  assert.deepEqual(pm.spec.selector.matchExpressions.map((e: { key: string }) => e.key).sort(), ['replicant.dev/group', 'replicant.dev/member']);
  const relabel = Object.fromEntries(pm.spec.podMetricsEndpoints[0].relabelings.map((r: { targetLabel: string; sourceLabels: string[] }) => [r.targetLabel, r.sourceLabels[0]]));
  assert.deepEqual(relabel, { namespace: '__meta_kubernetes_namespace', group: '__meta_kubernetes_pod_label_replicant_dev_group' }, 'the target labels the dashboards and alerts filter on');
  assert.equal(pm.spec.podMetricsEndpoints[0].port, 'metrics', 'member pods name their metrics port "metrics"');

  const rule = find(objects, 'PrometheusRule', FULLNAME);
  const rulesFile = loadYaml(fs.readFileSync(path.join(CHART_DIR, 'alerts', 'rules.yaml'), 'utf8')) as { groups: unknown };
  assert.deepEqual(rule.spec.groups, rulesFile.groups, 'alerts/rules.yaml unchanged, {{ $labels }} included');
  assert.match(JSON.stringify(rule.spec.groups), /\{\{ \$labels\.namespace \}\}/);

  const dashboards = objects.filter((o) => o.kind === 'ConfigMap');
  const files = fs.readdirSync(path.join(CHART_DIR, 'dashboards')).filter((f) => f.endsWith('.json')).sort();
  assert.equal(dashboards.length, files.length);
  for (const f of files) {
    const cm = find(objects, 'ConfigMap', `${FULLNAME}-dashboard-${f.replace(/\.json$/, '')}`);
    assert.equal(cm.metadata.labels!.grafana_dashboard, '1', 'found by the Grafana sidecar');
    assert.equal(cm.metadata.annotations!.grafana_folder, 'replicant');
    const [data] = Object.values(cm.data) as string[];
    assert.deepEqual(JSON.parse(data), JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'dashboards', f), 'utf8')), `${f} unchanged`);
  }

  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  assert.deepEqual(policies.map((p) => p.metadata.namespace).sort(), ['databases', 'default']);
  const np = policies[0];
  assert.deepEqual(np.spec.policyTypes, ['Ingress']);
  assert.ok(np.spec.podSelector.matchExpressions.some((e: { key: string; operator: string }) => e.key === 'replicant.dev/member' && e.operator === 'Exists'), 'applies to members only');
  const byPort = Object.fromEntries(np.spec.ingress.map((r: { ports: { port: number }[]; from: unknown[] }) => [r.ports[0].port, r.from]));
  // The peer port is left to the operator's per-group policies (only a group's own members).
  assert.deepEqual(Object.keys(byPort).sort(), ['2379', '2381']);
  const args = find(objects, 'Deployment', FULLNAME).spec.template.spec.containers[0].args as string[];
  assert.ok(args.includes('--manage-network-policies'), 'the operator keeps a <group>-peers policy per group');
  const operatorPeer = (byPort[2379] as { namespaceSelector?: { matchLabels: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> } }[]).find((f) => f.namespaceSelector);
  assert.deepEqual(operatorPeer!.namespaceSelector!.matchLabels, { 'kubernetes.io/metadata.name': NS }, 'client port: the operator (admin API) from its namespace');
  assert.equal(operatorPeer!.podSelector!.matchLabels!['app.kubernetes.io/component'], 'operator');
});

// ---- values.schema.json ------------------------------------------------------------

test('bad values fail at install with the schema error', async (t) => {
  const helm = useHelm(t);
  const fails = async (args: string[], pattern: RegExp) => {
    const r = await helm.run(['template', RELEASE, CHART_DIR, ...args]);
    assert.notEqual(r.code, 0, `helm template ${args.join(' ')} must fail`);
    assert.match(r.stderr, pattern);
  };
  await Promise.all([
    fails(['--set', 'operator.replicas=-1'], /values don't meet the specifications of the schema[\s\S]*\/operator\/replicas[\s\S]*minimum: got -1, want 1/),
    fails(['--set', 'operator.replicass=2'], /\/operator[\s\S]*additional properties 'replicass' not allowed/),
    fails(['--set', 'image.pullPolicy=Sometimes'], /\/image\/pullPolicy[\s\S]*value must be one of/),
    fails(['--set', 'operator.logLevel=trace'], /\/operator\/logLevel/),
    fails(['--set', 'monitoring.podMonitor.interval=often'], /\/monitoring\/podMonitor\/interval/),
    fails(['--set', 'operator.metrics.port=70000'], /\/operator\/metrics\/port[\s\S]*maximum/),
    fails(['--set-string', 'operator.workers=four'], /\/operator\/workers/),
    // What the schema cannot say, the chart says.
    fails(['--set', 'operator.leaderElection.enabled=false'], /operator.replicas is 2 but operator.leaderElection.enabled is false/),
    fails(['--set', 'operator.leaderElection.renewDeadlineSeconds=20'], /leaseDurationSeconds must be greater than renewDeadlineSeconds/),
    fails(['--set', 'serviceAccount.create=false'], /serviceAccount.name is required when serviceAccount.create is false/),
  ]);
  // And a good override passes.
  const ok = parseManifests(await helm.ok(['template', RELEASE, CHART_DIR, '--set', 'operator.replicas=1,operator.leaderElection.enabled=false']));
  assert.ok(find(ok, 'Deployment', FULLNAME).spec.template.spec.containers[0].args.includes('--leader-elect=false'));
  assert.ok(!ok.some((o) => o.kind === 'Role' || o.kind === 'PodDisruptionBudget'), 'no Lease Role and no PDB for a single operator');
});

test('every schema property has a description, and values.yaml documents every key on the line above it', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8'));
  const undocumented: string[] = [];
  interface Schema {
    description?: string;
    properties?: Record<string, Schema>;
  }
  const walk = (s: Schema, at: string) => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      if (!v.description) undocumented.push(`${at}${k}`);
      walk(v, `${at}${k}.`);
    }
  };
  walk(schema, '');
  assert.deepEqual(undocumented, [], 'schema properties without a description');

  const lines = fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8').split('\n');
  const bare: string[] = [];
  lines.forEach((line, i) => {
    const key = /^(\s*)([A-Za-z][\w.-]*):/.exec(line);
    if (!key) return;
    // seccompProfile.type is one setting written on two lines.
    if (key[2] === 'type' && /seccompProfile:/.test(lines[i - 1])) return;
    if (!/^\s*#/.test(lines[i - 1] ?? '')) bare.push(`line ${i + 1}: ${line.trim()}`);
  });
  assert.deepEqual(bare, [], 'keys in values.yaml without a comment on the line above');
});
