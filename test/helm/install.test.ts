// helm install, upgrade and uninstall against localkube, with the commands of
// the README's quick start (checked to be there verbatim): the chart's
// Deployment starts the operator (in-cluster config, the chart's ServiceAccount,
// RBAC enforced for it), one operator pod leads, it reconciles a ReplicaGroup
// to Available; an upgrade rolls the operator pods and adds the monitoring
// objects, and the new leader carries on; uninstall removes the release and
// leaves the CRD and the groups alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { kubectl, REPO_BIN, waitFor, withLocalkube } from '../localkube/index.ts';
import { REPLICA_NODE_FLAGS } from '../../replica/node-flags.ts';
import type { KubeObject, Localkube } from '../localkube/index.ts';
import { REPO_ROOT, useHelm } from './helm.ts';
import type { Helm } from './helm.ts';

const NS = 'replicant-system';
// The README quick start, command by command.
const INSTALL = 'helm install replicant charts/replicant --namespace replicant-system --create-namespace --wait';
const ROLLOUT = 'kubectl --namespace replicant-system rollout status deployment/replicant';
const GROUP = `apiVersion: replicant.dev/v1alpha1
kind: ReplicaGroup
metadata:
  name: example
  namespace: default
spec:
  replicas: 3
  image: ghcr.io/replicant-dev/replicant:0.1.0
  storage:
    size: 1Gi
  tls:
    clientCertSecretName: example-app
`;
const APPLY = 'kubectl apply -f -';
const WAIT = 'kubectl wait replicagroup/example --for=condition=Available --timeout=5m';
const UPGRADE = [
  'helm upgrade replicant charts/replicant --namespace replicant-system --reuse-values',
  '--set monitoring.serviceMonitor.enabled=true --set monitoring.podMonitor.enabled=true',
  '--set monitoring.prometheusRule.enabled=true --set monitoring.dashboards.enabled=true',
  '--set operator.logLevel=debug --wait',
].join(' ');
const UNINSTALL = 'helm uninstall replicant --namespace replicant-system --wait';

test('the README quick start uses exactly the commands this test runs', () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  // Shell line continuations joined, runs of spaces collapsed.
  const commands = readme.replace(/\\\n\s*/g, ' ').replace(/[ \t]+/g, ' ');
  for (const cmd of [INSTALL, ROLLOUT, WAIT, UPGRADE, UNINSTALL]) assert.ok(commands.includes(cmd), `README.md shows: ${cmd}`);
  assert.ok(readme.includes(`${APPLY} <<'EOF'\n${GROUP}EOF`), 'README.md applies the same ReplicaGroup');
});

/** run executes one README command line (helm or kubectl) against localkube. */
async function run(lk: Localkube, helm: Helm, line: string, input?: string): Promise<string> {
  const [tool, ...args] = line.split(/\s+/);
  const r = tool === 'helm' ? await helm.run(args, input) : await kubectl(lk, args, input);
  if (r.code !== 0) throw new Error(`${line} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** MONITORING_CRDS stand in for the Prometheus Operator's CRDs (schemaless: localkube only stores the objects). */
function monitoringCrd(kind: string, plural: string) {
  return JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  });
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

const operatorPods = (lk: Localkube) =>
  lk.api.store.list('/pods', NS).filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'operator' && !p.metadata.deletionTimestamp);
const ready = (p: KubeObject) => !!p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
const lease = (lk: Localkube) => lk.api.store.get('coordination.k8s.io/leases', NS, 'replicant-leader');

test('helm install, upgrade and uninstall against localkube', async (t) => {
  const forbidden: string[] = [];
  const lk = await withLocalkube(t, {
    nodes: 3,
    // The chart's image runs this checkout: ENTRYPOINT `node <replica node flags> bin/replicant.ts`, as in the Dockerfile.
    imageMap: { replicant: [path.join(REPO_BIN, 'node'), ...REPLICA_NODE_FLAGS, path.join(REPO_ROOT, 'bin', 'replicant.ts')] },
    crashLoopBackoff: { initialMs: 500 },
    requestLog: (line) => {
      if (/ 403 \d+ms$/.test(line)) forbidden.push(line);
    },
  });
  if (lk.kubelet!.sandbox.mode !== 'namespaces') {
    // The operator's in-cluster config reads /var/run/secrets/...: only a mount namespace provides it.
    throw new Error(`this test needs localkube's namespaces sandbox (root and unshare): ${lk.kubelet!.sandbox.why}`);
  }
  const helm = useHelm(t, lk.kubeconfigPath);

  // ---- install ------------------------------------------------------------------
  const notes = await run(lk, helm, INSTALL);
  // NOTES.txt tells the user the next commands.
  assert.match(notes, /kubectl -n replicant-system rollout status deployment\/replicant/);
  assert.match(notes, /kubectl apply -f -/);
  assert.match(notes, /helm uninstall replicant -n replicant-system/);
  await run(lk, helm, ROLLOUT);
  const status = JSON.parse(await helm.ok(['status', 'replicant', '--namespace', NS, '-o', 'json']));
  assert.equal(status.info.status, 'deployed');
  assert.equal(status.version, 1);
  const release = lk.api.store.get('/secrets', NS, 'sh.helm.release.v1.replicant.v1');
  assert.equal(release?.type, 'helm.sh/release.v1', 'helm 4 keeps the release in a Secret');
  const d = lk.api.store.get('apps/deployments', NS, 'replicant')!;
  assert.equal(d.status?.availableReplicas, 2);
  const first = operatorPods(lk);
  assert.equal(first.length, 2);
  for (const p of first) {
    assert.equal(p.spec?.serviceAccountName, 'replicant');
    assert.ok(p.spec?.volumes.some((v: { name: string }) => v.name.startsWith('kube-api-access-')), 'the service account token is mounted');
  }
  // One operator leads: it holds the Lease the chart's Role allows.
  const holderIn = (pods: KubeObject[]) => () => {
    const holder: string | undefined = lease(lk)?.spec?.holderIdentity;
    return holder ? pods.find((p) => holder.startsWith(`${p.metadata.name}_`)) : undefined;
  };
  const leader = await waitFor('an operator holds the Lease', holderIn(first), 60_000);

  // ---- a group, reconciled by the operator the chart started -----------------------
  await run(lk, helm, APPLY, GROUP);
  await run(lk, helm, WAIT);
  const group = () => lk.api.store.get('replicant.dev/replicagroups', 'default', 'example')!;
  assert.ok(group().status.leader, 'the group has a Raft leader');
  // Available needs a healthy quorum; all three members healthy (tolerating one failure) follows.
  await waitFor('3 ready members, tolerating 1 failure', () => group().status.readyReplicas === 3 && group().status.faultTolerance?.current === 1, 60_000);
  assert.equal(lk.api.store.list('/pods', 'default').filter((p) => p.metadata.labels?.['replicant.dev/group'] === 'example').length, 3);
  // TLS (the default), through the chart's RBAC: the group's CA, member and application Secrets.
  for (const secret of ['example-ca', 'example-operator-tls', 'example-app']) assert.ok(lk.api.store.get('/secrets', 'default', secret), `Secret ${secret}`);
  // The metrics Service reaches the operator; the leader counts its reconciles of the group.
  const svc = lk.api.store.get('/services', NS, 'replicant-metrics')!;
  const leaderMetrics = await getText(`http://${leader.status!.podIP}:8080/metrics`);
  assert.match(leaderMetrics, /^replicant_operator_leader 1$/m);
  assert.match(leaderMetrics, /replicant_operator_reconciles_total\{[^}]*group="example"/);
  assert.match(await getText(`http://${svc.spec.clusterIP}:8080/metrics`), /replicant_operator_leader/);
  assert.deepEqual(forbidden, [], 'the chart grants every call the operator made');

  // ---- upgrade: monitoring on, operator pods rolled ---------------------------------
  for (const [kind, plural] of [['ServiceMonitor', 'servicemonitors'], ['PodMonitor', 'podmonitors'], ['PrometheusRule', 'prometheusrules']]) {
    await run(lk, helm, APPLY, monitoringCrd(kind, plural));
  }
  await waitFor('monitoring kinds served', () => lk.api.kinds.byKind('monitoring.coreos.com', 'PrometheusRule'));
  await run(lk, helm, UPGRADE);
  assert.equal(JSON.parse(await helm.ok(['status', 'replicant', '--namespace', NS, '-o', 'json'])).version, 2);
  for (const [resource, name] of [
    ['monitoring.coreos.com/servicemonitors', 'replicant'],
    ['monitoring.coreos.com/podmonitors', 'replicant-members'],
    ['monitoring.coreos.com/prometheusrules', 'replicant'],
    ['/configmaps', 'replicant-dashboard-replica-group'],
    ['/configmaps', 'replicant-dashboard-operator'],
  ]) {
    assert.ok(lk.api.store.get(resource, NS, name), `${resource}/${name} created by the upgrade`);
  }
  const second = await waitFor('the old operator pods gone', () => {
    const pods = operatorPods(lk);
    return pods.length === 2 && pods.every((p) => !first.some((f) => f.metadata.uid === p.metadata.uid)) && pods.every(ready) && pods;
  }, 60_000);
  assert.ok(second.every((p) => p.spec?.containers[0].args.includes('--log-level=debug')));
  const newLeader = await waitFor('a new operator holds the Lease', holderIn(second), 60_000);
  await waitFor('the new leader reconciles the group', async () => /replicant_operator_reconciles_total\{[^}]*group="example"/.test(await getText(`http://${newLeader.status!.podIP}:8080/metrics`)), 60_000);
  assert.equal(group().status.phase, 'Available');
  assert.deepEqual(forbidden, [], 'no forbidden call after the upgrade either');

  // ---- uninstall -------------------------------------------------------------------
  await run(lk, helm, UNINSTALL);
  assert.equal(JSON.parse(await helm.ok(['list', '--all-namespaces', '-o', 'json'])).length, 0);
  await waitFor('operator pods gone', () => operatorPods(lk).length === 0 && lk.api.store.list('/pods', NS).length === 0, 60_000);
  for (const [resource, name, ns] of [
    ['apps/deployments', 'replicant', NS],
    ['/serviceaccounts', 'replicant', NS],
    ['/services', 'replicant-metrics', NS],
    ['policy/poddisruptionbudgets', 'replicant', NS],
    ['rbac.authorization.k8s.io/roles', 'replicant-leader-election', NS],
    ['rbac.authorization.k8s.io/rolebindings', 'replicant-leader-election', NS],
    ['rbac.authorization.k8s.io/clusterroles', 'replicant', undefined],
    ['rbac.authorization.k8s.io/clusterroles', 'replicant-nodes', undefined],
    ['rbac.authorization.k8s.io/clusterrolebindings', 'replicant', undefined],
    ['rbac.authorization.k8s.io/clusterrolebindings', 'replicant-nodes', undefined],
    ['monitoring.coreos.com/prometheusrules', 'replicant', NS],
    ['/configmaps', 'replicant-dashboard-operator', NS],
  ] as [string, string, string | undefined][]) {
    assert.equal(lk.api.store.get(resource, ns, name), undefined, `${resource}/${name} removed`);
  }
  assert.equal(lk.api.store.list('/secrets', NS).filter((s) => s.type === 'helm.sh/release.v1').length, 0, 'release history removed');
  // Helm never deletes CRDs it installed from crds/: the groups (and their data) stay.
  assert.ok(lk.api.store.get('apiextensions.k8s.io/customresourcedefinitions', undefined, 'replicagroups.replicant.dev'));
  assert.ok(lk.api.store.get('replicant.dev/replicagroups', 'default', 'example'));
  assert.equal(lk.api.store.list('/pods', 'default').filter((p) => p.metadata.labels?.['replicant.dev/group'] === 'example' && ready(p)).length, 3, 'members keep running without the operator');
});
