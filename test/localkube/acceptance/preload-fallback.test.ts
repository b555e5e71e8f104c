// Acceptance: the fallback for machines without mount namespaces
// (LOCALKUBE_SANDBOX=preload): Node programs still resolve cluster names through
// the NODE_OPTIONS preload, and volume mount paths in args and env are rewritten
// to the volume's directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectlOk, waitFor, withLocalkube } from '../testing.ts';

process.env.LOCALKUBE_SANDBOX = 'preload';

const PROGRAM = `
const dns = require('dns');
const fs = require('fs');
dns.lookup('web.default.svc.cluster.local', (err, address) => {
  fs.writeFileSync(process.argv[1] + '/note', 'written');
  console.log(JSON.stringify({ err: err && err.code, address, data: process.env.DATA, hostname: process.env.HOSTNAME, note: fs.readFileSync(process.env.DATA + '/note', 'utf8') }));
});
`;

test('preload fallback: Node programs resolve cluster names; mount paths are rewritten', async (t) => {
  const lk = await withLocalkube(t, { nodes: 1 });
  assert.equal(lk.kubelet!.sandbox.mode, 'preload');
  await kubectlOk(lk, ['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'none' }, ports: [{ port: 80 }] } },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'client' },
        spec: {
          restartPolicy: 'Never',
          volumes: [{ name: 'data', emptyDir: {} }],
          containers: [{
            name: 'c',
            image: 'node',
            args: ['-e', PROGRAM, '/var/lib/localkube-preload/data'],
            env: [{ name: 'DATA', value: '/var/lib/localkube-preload/data' }],
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/localkube-preload/data' }],
          }],
        },
      },
    ],
  }));
  await waitFor('client done', async () => (await kubectlOk(lk, ['get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])) === 'Succeeded');
  const out = JSON.parse(await kubectlOk(lk, ['logs', 'client']));
  const clusterIP = await kubectlOk(lk, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
  assert.equal(out.err, null);
  assert.equal(out.address, clusterIP);
  assert.equal(out.hostname, 'client');
  assert.equal(out.note, 'written');
  assert.match(out.data, /\/volumes\/data$/, 'the mount path became the volume directory');
});
