// Round-trips a message through a real grpc-js server built from our loader:
// 64-bit fields arrive as numbers, bytes as Uint8Array, streams in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadProtos, serviceDefinition, clientConstructor } from './grpc.ts';

test('unary and streaming calls round-trip uint64 and bytes', async (t) => {
  const root = loadProtos('testdata/echo.proto');
  const server = new grpc.Server();
  server.addService(serviceDefinition(root, 'replicant.test.Echo'), {
    say: (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) =>
      cb(null, { bigId: call.request.bigId + 1, payload: call.request.payload, note: 'pong' }),
    stream: (call: grpc.ServerDuplexStream<any, any>) => {
      call.on('data', (m: any) => call.write({ bigId: m.bigId * 2 }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  const Client = clientConstructor(root, 'replicant.test.Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  t.after(() => client.close());

  const big = 2 ** 52 + 7;
  const reply: any = await new Promise((resolve, reject) =>
    client.say({ bigId: big, payload: new Uint8Array([1, 2, 3]) }, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))),
  );
  assert.equal(typeof reply.bigId, 'number');
  assert.equal(reply.bigId, big + 1);
  assert.deepEqual([...reply.payload], [1, 2, 3]);
  assert.equal(reply.note, 'pong');

  const call = client.stream();
  const got: number[] = [];
  const done = new Promise<void>((resolve) => {
    call.on('data', (m: any) => got.push(m.bigId));
    call.on('end', resolve);
  });
  for (let i = 1; i <= 5; i++) call.write({ bigId: i });
  call.end();
  await done;
  assert.deepEqual(got, [2, 4, 6, 8, 10]);
});
