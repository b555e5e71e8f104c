// The lean gRPC client against a scripted HTTP/2 server on 127.0.0.1: a
// message round-trips, error statuses in trailers and in trailers-only
// responses become GrpcCallError with their code and message, a silent server
// runs into the client's deadline, a dead server is a transport error, and
// endpoints outside 127.0.0.0/8 are refused before dialling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { GrpcCallError, LeanChannel, assertLoopback } from './lean-grpc.ts';

type Handler = (stream: http2.ServerHttp2Stream, body: Buffer, headers: http2.IncomingHttpHeaders) => void;

async function serve(t: { after(fn: () => void | Promise<void>): void }, handler: Handler): Promise<string> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => handler(stream, Buffer.concat(chunks), headers));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function frame(msg: Buffer): Buffer {
  const f = Buffer.alloc(5 + msg.length);
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
}

test('a unary call sends one framed message with gRPC headers and returns the response message', async (t) => {
  let seen: { path?: string; ct?: string; te?: string; timeout?: string; body?: Buffer } = {};
  const ep = await serve(t, (stream, body, h) => {
    seen = { path: h[':path'] as string, ct: h['content-type'] as string, te: h.te as string, timeout: h['grpc-timeout'] as string, body };
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frame(Buffer.from('pong')));
  });
  const ch = new LeanChannel(ep);
  t.after(() => ch.close());
  const res = await ch.unary('/etcdserverpb.KV/Put', Buffer.from('ping'), 2000);
  assert.equal(res.toString(), 'pong');
  assert.equal(seen.path, '/etcdserverpb.KV/Put');
  assert.equal(seen.ct, 'application/grpc');
  assert.equal(seen.te, 'trailers');
  assert.equal(seen.timeout, '2000m');
  assert.deepEqual(seen.body, frame(Buffer.from('ping')));
  // the session is reused for the next call
  assert.equal((await ch.unary('/x/Y', Buffer.alloc(0), 2000)).toString(), 'pong');
});

test('error statuses (trailers and trailers-only) carry code and decoded message', async (t) => {
  const ep = await serve(t, (stream, body) => {
    if (body.subarray(5).toString() === 'trailers-only') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'etcdserver%3A no leader' }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '9', 'grpc-message': 'bad%' }));
    stream.end();
  });
  const ch = new LeanChannel(ep);
  t.after(() => ch.close());
  await assert.rejects(ch.unary('/a/B', Buffer.from('trailers-only'), 2000), (e: GrpcCallError) => e.code === 14 && e.message === 'etcdserver: no leader');
  await assert.rejects(ch.unary('/a/B', Buffer.from('x'), 2000), (e: GrpcCallError) => e.code === 9 && e.message === 'bad%');
});

test('a server that never answers runs into the client deadline', async (t) => {
  const ep = await serve(t, () => undefined);
  const ch = new LeanChannel(ep);
  t.after(() => ch.close());
  const started = performance.now();
  await assert.rejects(ch.unary('/a/B', Buffer.from('x'), 150), (e: GrpcCallError) => e.code === 4);
  const took = performance.now() - started;
  assert.ok(took >= 140 && took < 2000, `deadline after ${took} ms`);
});

test('nobody listening is a transport error, and close() fails calls in flight', async (t) => {
  const ep = await serve(t, () => undefined);
  const ch = new LeanChannel(ep);
  const pending = ch.unary('/a/B', Buffer.from('x'), 10_000);
  ch.close();
  await assert.rejects(pending, (e: GrpcCallError) => e.code === 1);
  await assert.rejects(ch.unary('/a/B', Buffer.from('x'), 1000), (e: GrpcCallError) => e.code === 1);

  const dead = new LeanChannel('127.0.0.1:1');
  t.after(() => dead.close());
  await assert.rejects(dead.unary('/a/B', Buffer.from('x'), 2000), (e: GrpcCallError) => e.code === -1 && /ECONNREFUSED/.test(e.message));
});

test('endpoints outside 127.0.0.0/8 are refused', () => {
  assert.throws(() => new LeanChannel('10.0.0.1:2379'), /127\.0\.0\.0\/8/);
  assert.throws(() => assertLoopback('localhost:2379'), /127\.0\.0\.0\/8/);
  assert.throws(() => assertLoopback('[::1]:2379'), /127\.0\.0\.0\/8/);
  assert.doesNotThrow(() => assertLoopback('127.231.4.2:2379'));
});
