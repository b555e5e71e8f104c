// Bind mount order in the namespaces sandbox: parents before children, and a
// volume whose directory lies under another mount's target before that target
// hides it (an emptyDir at /tmp over volume directories under the host's /tmp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountOrder } from './sandbox.ts';

const m = (source: string, target: string) => ({ source, target, readOnly: false });

test('a mount over /tmp goes after the mounts whose sources are under /tmp', () => {
  const tmp = m('/tmp/lk/pods/p/volumes/tmp', '/tmp');
  const sa = m('/tmp/lk/pods/p/volumes/kube-api-access-x', '/var/run/secrets/kubernetes.io/serviceaccount');
  const data = m('/srv/claims/pvc-1', '/data');
  assert.deepEqual(mountOrder([tmp, sa, data]).map((x) => x.target), ['/var/run/secrets/kubernetes.io/serviceaccount', '/tmp', '/data']);
});

test('parents go before children; otherwise the order is kept', () => {
  const child = m('/a', '/data/sub');
  const parent = m('/b', '/data');
  const other = m('/c', '/etc/config');
  assert.deepEqual(mountOrder([child, other, parent]).map((x) => x.target), ['/etc/config', '/data', '/data/sub']);
  // /data2 is not inside /data.
  assert.deepEqual(mountOrder([m('/x', '/data2'), m('/y', '/data')]).map((x) => x.target), ['/data2', '/data']);
  // A child whose source the parent would hide still comes after its parent (the runtime's rule).
  assert.deepEqual(mountOrder([m('/tmp/v/child', '/tmp/child'), m('/tmp/v/tmp', '/tmp')]).map((x) => x.target), ['/tmp', '/tmp/child']);
});
