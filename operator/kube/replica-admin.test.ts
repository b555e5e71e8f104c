// The admin client must report what a member says now: a member that was not
// listening a moment ago (a pod still starting) answers as soon as it listens,
// instead of the client repeating a stale connection error while grpc-js
// backs off its reconnects (which made starting members look Unreachable and
// get replaced).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadProtos, serviceDefinition } from '../../proto/grpc.ts';
import { ReplicaAdmin } from './replica-admin.ts';
import { freePort } from '../../replica/server/etcdapi/testing-etcd.ts';


test('a member that starts listening after failed probes answers the next probe', async (t) => {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const admin = new ReplicaAdmin();
  t.after(() => admin.close());
  // Not listening yet: every probe fails (and grpc-js would back off its reconnects).
  for (let i = 0; i < 4; i++) await assert.rejects(admin.status(address, 500), /UNAVAILABLE|ECONNREFUSED/);
  const server = new grpc.Server();
  server.addService(serviceDefinition(loadProtos('admin.proto'), 'replicant.admin.v1.Admin'), {
    Status: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { memberId: 7, role: 'follower' }),
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  t.after(() => server.forceShutdown());
  const started = Date.now();
  const s = await admin.status(address, 1500);
  assert.equal(s.memberId, 7);
  assert.ok(Date.now() - started < 1500);
});
