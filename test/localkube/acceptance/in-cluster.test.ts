// In-cluster access from pods: the ServiceAccount admission mounts a projected
// token, the cluster CA (kube-root-ca.crt, published in every namespace) and the
// namespace; KUBERNETES_SERVICE_HOST/PORT point at the HTTPS port; a real
// @kubernetes/client-node in-cluster client connects over TLS and RBAC decides
// what its ServiceAccount may do. An emptyDir at /tmp does not hide the token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectlOk, waitFor, withLocalkube } from '../testing.ts';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'in-cluster-client.ts');

test('pods reach the API with their service account, under RBAC', async (t) => {
  const lk = await withLocalkube(t, { nodes: 1 });
  if (lk.kubelet!.sandbox.mode !== 'namespaces') {
    t.skip(`needs mount namespaces (${lk.kubelet!.sandbox.why}): in-cluster clients read a fixed path`);
    return;
  }
  // Plain API writes (kubectl's own paths are covered elsewhere): quicker.
  const create = (kind: string, group: string, ns: string, body: string) => lk.api.create(lk.api.kinds.byKind(group, kind)!, ns, JSON.parse(body));
  create('Namespace', '', '', JSON.stringify({ metadata: { name: 'apps' } }));
  create('ServiceAccount', '', 'apps', JSON.stringify({ metadata: { name: 'reader' } }));
  const ca = await waitFor('kube-root-ca.crt published', () => lk.api.store.get('/configmaps', 'apps', 'kube-root-ca.crt'));
  assert.equal(ca.data['ca.crt'], lk.caCert);

  // The scratch emptyDir is not mounted at /tmp: a clone of this repository under /tmp (a CI
  // checkout) is the pod's working directory, and a mount there would hide it.
  const pod = (name: string, automount?: boolean) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'apps' },
      spec: {
        serviceAccountName: 'reader',
        ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'client', image: 'node', args: [CLIENT], volumeMounts: [{ name: 'tmp', mountPath: '/var/tmp' }] }],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    });
  await kubectlOk(lk, ['apply', '-f', '-'], pod('client'));
  const spec = lk.api.store.get('/pods', 'apps', 'client')!.spec;
  const projected = spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
  assert.ok(projected, 'the admission added the kube-api-access volume');
  assert.deepEqual(
    spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === projected.name),
    { name: projected.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
  );
  create('Pod', '', 'apps', pod('no-token', false));
  assert.equal(lk.api.store.get('/pods', 'apps', 'no-token')!.spec.volumes.length, 1, 'automountServiceAccountToken: false adds nothing');

  const logDir = () => path.join(lk.dataDir, 'pods', `apps_client_${lk.api.store.get('/pods', 'apps', 'client')!.metadata.uid}`, 'logs', 'client');
  // CRI log lines: "<time> stdout F <text>", one file per container start (0.log, 1.log, ...: a
  // start that failed is followed by another). The client's JSON lines are on stdout; stderr is
  // not its report, but a waiting test shows it.
  const logLines = (stream: string): string[] => {
    try {
      const files = fs.readdirSync(logDir()).filter((f) => /^\d+\.log$/.test(f)).sort((x, y) => parseInt(x) - parseInt(y));
      return files.flatMap((f) =>
        fs
          .readFileSync(path.join(logDir(), f), 'utf8')
          .split('\n')
          .filter((l) => l.split(' ')[1] === stream)
          .map((l) => l.split(' ').slice(3).join(' ')),
      );
    } catch {
      return [];
    }
  };
  let stderrShown = 0;
  const logs = async () => {
    const err = logLines('stderr');
    if (err.length > stderrShown) t.diagnostic(`client stderr: ${err.slice(stderrShown).join(' | ').slice(0, 1000)}`);
    stderrShown = err.length;
    return logLines('stdout').join('\n');
  };
  const lines = async () => (await logs()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const hello = await waitFor('the client started', async () => (await lines())[0], 30_000);
  assert.equal(hello.server, lk.httpsUrl);
  assert.equal(hello.namespace, 'apps');
  assert.equal(hello.host, '127.0.0.1');

  // No binding yet: 403 with the API server's wording.
  const denied = await waitFor('a forbidden answer', async () => (await lines()).find((l) => l.list === 403), 30_000);
  assert.match(denied.message, /pods is forbidden: User \\?"system:serviceaccount:apps:reader\\?" cannot list resource \\?"pods\\?" in API group \\?"\\?" in the namespace \\?"apps\\?"/);

  // A Role in another namespace does not help; one in "apps" does.
  const role = (ns: string) =>
    JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-reader', namespace: ns }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] });
  const binding = (ns: string) =>
    JSON.stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'reader', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'apps' }],
    });
  create('Role', 'rbac.authorization.k8s.io', 'default', role('default'));
  create('RoleBinding', 'rbac.authorization.k8s.io', 'default', binding('default'));
  const before = (await lines()).length;
  await waitFor('more tries', async () => (await lines()).length > before + 3, 30_000);
  assert.ok((await lines()).slice(before).every((l) => l.list === 403), 'a binding in another namespace grants nothing here');
  create('Role', 'rbac.authorization.k8s.io', 'apps', role('apps'));
  create('RoleBinding', 'rbac.authorization.k8s.io', 'apps', binding('apps'));
  const ok = await waitFor('allowed after the RoleBinding', async () => (await lines()).find((l) => l.list === 'ok'), 30_000);
  assert.equal(ok.pods, 2);
});
