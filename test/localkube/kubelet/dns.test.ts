// ClusterDns must never write after stop(): a refresh scheduled by a store
// change just before localkube stops would otherwise write into the data dir
// while it is being removed (an uncaught ENOENT after the test ended).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '../store/store.ts';
import { ClusterDns } from './dns.ts';

test('a refresh scheduled before stop() writes nothing after it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'localkube-dns-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new Store();
  const dns = new ClusterDns(store, path.join(dir, 'dns'));
  const file = dns.hostsFile({ namespace: 'default', name: 'p', uid: 'u1', ip: '127.9.1.2', hostname: 'p' });
  // A Service appears (a refresh is scheduled), then localkube stops and removes its data dir.
  store.create('/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default', uid: 's1' }, spec: { clusterIP: '127.9.200.1' } });
  dns.stop();
  fs.rmSync(path.join(dir, 'dns'), { recursive: true, force: true });
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(fs.existsSync(file), false, 'nothing was written after stop()');
});
