// Our gRPC client against our server: a bidirectional call's messages both
// ways and its status (with a percent-encoded message decoded back), a call
// the client cancels, a server that goes away mid-call (the channel then
// says it is no longer open), and a write that has
// to wait for flow control, then drains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcChannel, percentDecode } from './client.ts';
import { GrpcServer } from './server.ts';
import type { StreamCall } from './stream-call.ts';

const identity = (b: Buffer) => b;
const definition: grpc.ServiceDefinition = {
  Echo: {
    path: '/t.Test/Echo',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const codec = { path: '/t.Test/Echo', serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

async function serve(t: { after(fn: () => unknown): void }, handler: (call: StreamCall) => void) {
  const server = new GrpcServer({ maxReceiveBytes: 8 << 20 });
  server.addService(definition, {}, { Echo: handler });
  const port = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => server.forceShutdown());
  const channel = new GrpcChannel({ host: '127.0.0.1', port, maxReceiveBytes: 8 << 20, highWaterBytes: 64 << 10 });
  t.after(() => channel.close());
  return { server, channel };
}

function statusOf(call: { onStatus: ((code: grpc.status, details: string) => void) | undefined }): Promise<[grpc.status, string]> {
  return new Promise((resolve) => (call.onStatus = (code, details) => resolve([code, details])));
}

test('messages both ways, then the server status with its message decoded', async (t) => {
  const { channel } = await serve(t, (call) => {
    call.onMessage = (m) => call.send(Buffer.concat([Buffer.from('echo:'), m as Buffer]));
    call.onEnd = () => call.finish(grpc.status.FAILED_PRECONDITION, 'done — 100% (ü)');
  });
  const call = channel.call(codec, [['x-test', 'yes']]);
  const got: string[] = [];
  call.onMessage = (m) => got.push(m.toString());
  const status = statusOf(call);
  for (const s of ['a', 'b', 'c']) assert.equal(call.write(Buffer.from(s)), true);
  call.end();
  assert.deepEqual(await status, [grpc.status.FAILED_PRECONDITION, 'done — 100% (ü)']);
  assert.deepEqual(got, ['echo:a', 'echo:b', 'echo:c']);
  assert.equal(call.write(Buffer.from('late')), false, 'no writes after the status');
  assert.equal(percentDecode('%E2%80%94 50%25'), '— 50%');
  assert.equal(percentDecode('bad %zz'), 'bad %zz');
});

test('a cancelled call reports CANCELLED once and the server hears the cancel', async (t) => {
  let serverCancelled = false;
  const { channel } = await serve(t, (call) => {
    call.onCancel = () => (serverCancelled = true);
  });
  const call = channel.call(codec, []);
  const statuses: grpc.status[] = [];
  call.onStatus = (code) => statuses.push(code);
  call.write(Buffer.from('x'));
  call.cancel();
  call.cancel();
  const deadline = Date.now() + 5000;
  while (!serverCancelled && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.ok(serverCancelled);
  assert.deepEqual(statuses, [grpc.status.CANCELLED]);
});

test('the server going away ends the call UNAVAILABLE', async (t) => {
  const { server, channel } = await serve(t, (call) => {
    call.send(Buffer.from('hello'));
  });
  const call = channel.call(codec, []);
  const first = new Promise<void>((resolve) => (call.onMessage = () => resolve()));
  const status = statusOf(call);
  call.write(Buffer.from('x'));
  await first;
  assert.equal(channel.open, true);
  server.forceShutdown();
  const [code] = await status;
  assert.equal(code, grpc.status.UNAVAILABLE);
  // the connection is gone: no new call can be made on it (a caller dials again)
  assert.equal(channel.open, false);
});

test('a write past the flow-control window waits for onDrain, and everything arrives in order', async (t) => {
  let bytes = 0;
  let count = 0;
  const { channel } = await serve(t, (call) => {
    call.onMessage = (m) => {
      bytes += (m as Buffer).length;
      count++;
    };
    call.onEnd = () => {
      call.send(Buffer.from(String(bytes)));
      call.finish(grpc.status.OK);
    };
  });
  const call = channel.call(codec, []);
  let answer = '';
  call.onMessage = (m) => (answer = m.toString());
  const status = statusOf(call);
  const chunk = Buffer.alloc(3 << 20, 7); // three times the server's 1 MiB stream window
  assert.equal(call.write(chunk), false, 'the caller is asked to wait');
  await new Promise<void>((resolve) => (call.onDrain = () => resolve()));
  assert.equal(call.write(Buffer.alloc(10)), true);
  call.end();
  assert.deepEqual(await status, [grpc.status.OK, '']);
  assert.equal(answer, String((3 << 20) + 10));
  assert.equal(count, 2);
});
