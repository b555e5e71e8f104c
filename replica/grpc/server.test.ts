// The lean unary gRPC server on the wire: framing (split and whole DATA
// frames, headers, message, trailers), trailers-only errors with
// percent-encoded messages, unknown / unserved / streaming methods, the size
// bound decided on the prefix alone, cardinality and compression refusals,
// non-gRPC requests, cancellation, hooks, shutdown, keepalive pings, and hostile bytes that
// must not crash or wedge the server. Driven by raw node:http2 and net
// clients and by a grpc-js client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { GrpcServer, type CallHooks, type UnaryCall } from './index.ts';
import { RequestReader, frameMessage, percentEncode, timeoutMs } from './framing.ts';

const text = (s: string) => Buffer.from(s);

/** A tiny service with string messages: Echo answers its request, Hold keeps the callback for the test, Fail answers an error. */
function serviceDefinition(): grpc.ServiceDefinition {
  const method = (name: string, streaming = false): grpc.MethodDefinition<string, string> => ({
    path: `/test.Echo/${name}`,
    requestStream: streaming,
    responseStream: false,
    requestSerialize: text,
    requestDeserialize: (b: Buffer) => {
      if (b.toString() === 'undecodable') throw new Error('bad bytes');
      return b.toString();
    },
    responseSerialize: text,
    responseDeserialize: (b: Buffer) => b.toString(),
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  });
  return { Echo: method('Echo'), Hold: method('Hold'), Fail: method('Fail'), Missing: method('Missing'), Stream: method('Stream', true) };
}

interface Harness {
  port: number;
  server: GrpcServer;
  held: { call: UnaryCall; cb: grpc.sendUnaryData<string> }[];
  finished: { name: string; code: number }[];
}

async function serve(t: { after(fn: () => void): void }, o: { limit?: number; admit?: CallHooks['admit']; keepalive?: { intervalMs: number; timeoutMs: number } } = {}): Promise<Harness> {
  const held: Harness['held'] = [];
  const finished: Harness['finished'] = [];
  const server = new GrpcServer({
    maxReceiveBytes: o.limit ?? 1024,
    keepalive: o.keepalive,
    hooks: { admit: o.admit, finished: (m, code) => finished.push({ name: m.name, code }) },
  });
  server.addService(serviceDefinition(), {
    echo: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) =>
      cb(null, `${call.request}|${call.metadata.get('x-who')[0] ?? ''}|${call.getPath()}|${Number.isFinite(call.getDeadline() as number)}|${/^127\.0\.0\.1:\d+$/.test(call.getPeer())}`),
    Hold: (call: unknown, cb: grpc.sendUnaryData<string>) => held.push({ call: call as UnaryCall, cb }),
    Fail: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) =>
      cb({ code: grpc.status.NOT_FOUND, details: `nö ${call.request} 100%` }),
    Stream: () => assert.fail('a streaming method must not reach its handler'),
  });
  const port = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => server.forceShutdown());
  return { port, server, held, finished };
}

interface RawAnswer {
  headers: http2.IncomingHttpHeaders;
  data: Buffer;
  trailers?: http2.IncomingHttpHeaders;
  rstCode?: number;
}

/** raw sends `chunks` as separate DATA frames on one stream and collects the answer. */
function raw(port: number, path: string, chunks: Buffer[], o: { end?: boolean; headers?: http2.OutgoingHttpHeaders } = {}): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...o.headers });
    const out: RawAnswer = { headers: {}, data: Buffer.alloc(0) };
    req.on('response', (h) => (out.headers = h));
    req.on('data', (d: Buffer) => (out.data = Buffer.concat([out.data, d])));
    req.on('trailers', (h) => (out.trailers = h));
    req.on('error', () => undefined);
    req.on('close', () => {
      out.rstCode = req.rstCode;
      resolve(out);
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    if (o.end !== false) req.end();
  }).finally(() => session.close());
}

function grpcClient(t: { after(fn: () => void): void }, port: number) {
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(), 'Echo');
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
  t.after(() => c.close());
  return (method: string, req: string, options: grpc.CallOptions = {}, metadata = new grpc.Metadata()) => {
    let call: grpc.ClientUnaryCall | undefined;
    const done = new Promise<string>((resolve, reject) => {
      call = c[method](req, metadata, options, (err: grpc.ServiceError | null, res: string) => (err ? reject(err) : resolve(res)));
    });
    return { done, call: call! };
  };
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('framing: the request reader takes a message whole or in pieces, and refuses on the prefix alone', () => {
  const whole = new RequestReader(10);
  assert.equal(whole.push(frameMessage(text('hello'))), undefined);
  assert.equal(whole.message?.toString(), 'hello');
  assert.deepEqual(whole.push(frameMessage(text('x'))), { kind: 'secondMessage' });

  const bytes = frameMessage(text('split up'));
  const pieces = new RequestReader(10);
  for (const b of bytes) {
    assert.equal(pieces.message, undefined);
    assert.equal(pieces.push(Buffer.from([b])), undefined);
  }
  assert.equal(pieces.message?.toString(), 'split up');

  assert.deepEqual(new RequestReader(10).push(Buffer.from([0, 0, 0, 0, 11])), { kind: 'tooLarge', length: 11 });
  assert.deepEqual(new RequestReader(10).push(Buffer.from([1, 0, 0, 0, 1, 9])), { kind: 'compressed' });
  const empty = new RequestReader(10);
  empty.push(Buffer.from([0, 0, 0, 0, 0]));
  assert.equal(empty.message?.length, 0);
  const partial = new RequestReader(10);
  partial.push(Buffer.from([0, 0, 0]));
  assert.ok(partial.partial);

  assert.equal(percentEncode('plain text'), 'plain text');
  assert.equal(percentEncode('nö 100%\n'), 'n%C3%B6 100%25%0A');
  assert.equal(timeoutMs('250m'), 250);
  assert.equal(timeoutMs('2S'), 2000);
  assert.equal(timeoutMs('1H'), 3_600_000);
  assert.equal(timeoutMs('123456789S'), undefined);
  assert.equal(timeoutMs('5x'), undefined);
  assert.equal(timeoutMs(undefined), undefined);
  // the hand-written reader agrees with the grammar's regular expression ("1 to 8 digits, then H M S m u n")
  const units: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
  const byGrammar = (h: string) => {
    const m = /^(\d{1,8})([HMSmun])$/.exec(h);
    return m ? Number(m[1]) * units[m[2]] : undefined;
  };
  const alphabet = ['0', '1', '9', '5', 'H', 'M', 'S', 'm', 'u', 'n', 'x', ' ', '-', '.', '\u0660'];
  let seed = 7;
  const pick = () => alphabet[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % alphabet.length];
  for (let i = 0; i < 20_000; i++) {
    const h = Array.from({ length: 1 + (i % 11) }, pick).join('');
    assert.equal(timeoutMs(h), byGrammar(h), `grpc-timeout ${JSON.stringify(h)}`);
  }
  for (const h of ['0m', '99999999H', '00000001n', 'toString', '1toString', '1__proto__', '1constructor']) assert.equal(timeoutMs(h), byGrammar(h), h);
});

test('a unary call on the wire: headers, one length-prefixed message, then trailers; split DATA frames are reassembled', async (t) => {
  const h = await serve(t);
  const msg = frameMessage(text('hi'));
  const a = await raw(h.port, '/test.Echo/Echo', [msg.subarray(0, 2), msg.subarray(2, 6), msg.subarray(6)], { headers: { 'x-who': 'me', 'grpc-timeout': '5S' } });
  assert.equal(a.headers[':status'], 200);
  assert.equal(a.headers['content-type'], 'application/grpc');
  assert.equal(a.headers['grpc-status'], undefined, 'the status comes in the trailers');
  const body = 'hi|me|/test.Echo/Echo|true|true';
  assert.deepEqual(a.data, frameMessage(text(body)));
  assert.equal(a.trailers?.['grpc-status'], '0');
  assert.equal(a.trailers?.['grpc-message'], undefined);
  // The same through grpc-js, without a deadline.
  assert.equal(await grpcClient(t, h.port)('Echo', 'hi').done, 'hi||/test.Echo/Echo|false|true');
  assert.deepEqual(h.finished, [{ name: 'Echo.Echo', code: 0 }, { name: 'Echo.Echo', code: 0 }]);
});

test('errors are trailers-only responses with percent-encoded messages; unknown, unserved and streaming methods answer UNIMPLEMENTED', async (t) => {
  const h = await serve(t);
  const a = await raw(h.port, '/test.Echo/Fail', [frameMessage(text('x'))]);
  assert.equal(a.headers[':status'], 200);
  assert.equal(a.headers['grpc-status'], String(grpc.status.NOT_FOUND));
  assert.equal(a.headers['grpc-message'], 'n%C3%B6 x 100%25');
  assert.equal(a.data.length, 0);
  assert.equal(a.trailers, undefined);
  const call = grpcClient(t, h.port);
  await assert.rejects(call('Fail', 'y').done, (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && e.details === 'nö y 100%');

  const unknown = await raw(h.port, '/no.Such/Method', [frameMessage(text('x'))]);
  assert.equal(unknown.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  assert.match(String(unknown.headers['grpc-message']), /does not implement the method \/no\.Such\/Method/);
  await assert.rejects(call('Missing', 'x').done, (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED && /Missing/.test(e.details));
  const stream = await raw(h.port, '/test.Echo/Stream', [frameMessage(text('x'))]);
  assert.equal(stream.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  assert.deepEqual(
    h.finished.map((f) => `${f.name}:${f.code}`),
    ['Echo.Fail:5', 'Echo.Fail:5', 'Echo.Missing:12', 'Echo.Stream:12'],
    'unknown paths are not reported (no made-up metric labels)',
  );
  const undecodable = await raw(h.port, '/test.Echo/Echo', [frameMessage(text('undecodable'))]);
  assert.equal(undecodable.headers['grpc-status'], String(grpc.status.INTERNAL));
  assert.match(String(undecodable.headers['grpc-message']), /deserializing request: bad bytes/);
});

test('an oversized message is refused on its prefix, before the body arrives; cardinality, compression and truncation are refused', async (t) => {
  const h = await serve(t, { limit: 16 });
  // Only the prefix and a few bytes, stream left open: the answer must not wait for the body.
  const big = await raw(h.port, '/test.Echo/Echo', [Buffer.from([0, 0, 0x10, 0, 0]), Buffer.alloc(100)], { end: false });
  assert.equal(big.headers['grpc-status'], String(grpc.status.RESOURCE_EXHAUSTED));
  assert.equal(big.headers['grpc-message'], 'Received message larger than max (1048576 vs 16)');
  const call = grpcClient(t, h.port);
  await assert.rejects(call('Echo', 'x'.repeat(100_000)).done, (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED && /larger than max/.test(e.details));

  const two = await raw(h.port, '/test.Echo/Echo', [frameMessage(text('a')), frameMessage(text('b'))]);
  assert.equal(two.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  assert.match(String(two.headers['grpc-message']), /more than one request message/);
  const none = await raw(h.port, '/test.Echo/Echo', []);
  assert.equal(none.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  assert.match(String(none.headers['grpc-message']), /no request message/);
  const cut = await raw(h.port, '/test.Echo/Echo', [frameMessage(text('abcdef')).subarray(0, 7)]);
  assert.equal(cut.headers['grpc-status'], String(grpc.status.INTERNAL));
  const zipped = await raw(h.port, '/test.Echo/Echo', [Buffer.from([1, 0, 0, 0, 1, 7])], { headers: { 'grpc-encoding': 'gzip' } });
  assert.equal(zipped.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
  assert.match(String(zipped.headers['grpc-message']), /compressed messages are not supported/);
  assert.equal(await call('Echo', 'still').done, 'still||/test.Echo/Echo|false|true');
});

test('requests that are not gRPC get HTTP 405 / 415', async (t) => {
  const h = await serve(t);
  const get = await raw(h.port, '/test.Echo/Echo', [], { headers: { ':method': 'GET' } });
  assert.equal(get.headers[':status'], 405);
  const json = await raw(h.port, '/test.Echo/Echo', [text('{}')], { headers: { 'content-type': 'application/json' } });
  assert.equal(json.headers[':status'], 415);
});

test('the admit hook refuses before the handler runs; a refusal is reported like any status', async (t) => {
  const h = await serve(t, { admit: (call, m) => (m.name === 'Echo.Fail' ? { code: grpc.status.PERMISSION_DENIED, details: `not you: ${call.getPath()}` } : undefined) });
  const call = grpcClient(t, h.port);
  await assert.rejects(call('Fail', 'x').done, (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED && e.details === 'not you: /test.Echo/Fail');
  assert.equal(await call('Echo', 'ok').done, 'ok||/test.Echo/Echo|false|true');
  assert.deepEqual(h.finished, [{ name: 'Echo.Fail', code: grpc.status.PERMISSION_DENIED }, { name: 'Echo.Echo', code: 0 }]);
});

test('a client cancel marks the call cancelled; the late answer is dropped without harm', async (t) => {
  const h = await serve(t);
  const call = grpcClient(t, h.port);
  const held = call('Hold', 'x');
  await waitUntil('the handler to hold the call', () => h.held.length === 1);
  assert.equal(h.held[0].call.cancelled, false);
  held.call.cancel();
  await assert.rejects(held.done, (e: grpc.ServiceError) => e.code === grpc.status.CANCELLED);
  await waitUntil('the server to see the cancel', () => h.held[0].call.cancelled);
  h.held[0].cb(null, 'too late');
  h.held[0].cb(null, 'twice');
  assert.deepEqual(h.finished, [{ name: 'Echo.Hold', code: grpc.status.CANCELLED }]);
  // A connection that drops with a call in flight, too.
  const session = http2.connect(`http://127.0.0.1:${h.port}`);
  session.on('error', () => undefined);
  const req = session.request({ ':method': 'POST', ':path': '/test.Echo/Hold', 'content-type': 'application/grpc' });
  req.on('error', () => undefined);
  req.end(frameMessage(text('y')));
  await waitUntil('the second hold', () => h.held.length === 2);
  session.destroy();
  await waitUntil('the server to see the drop', () => h.held[1].call.cancelled);
  h.held[1].cb({ code: grpc.status.INTERNAL, details: 'late error' });
  assert.equal(await call('Echo', 'alive').done, 'alive||/test.Echo/Echo|false|true');
});

test('garbage bytes, bad prefaces, HTTP/1 and broken frames do not crash or wedge the server', async (t) => {
  const h = await serve(t);
  const junk = [
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), // preface, then nothing sensible
    Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 8, 1, 5, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]),
    Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff])]),
    Buffer.alloc(4096, 0xa5),
  ];
  for (const bytes of junk) {
    await new Promise<void>((resolve) => {
      const s = net.connect(h.port, '127.0.0.1', () => s.end(bytes));
      s.on('data', () => undefined);
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.setTimeout(2000, () => s.destroy());
    });
  }
  // A well-formed stream reset mid-message, and one whose DATA arrives after a reset.
  const session = http2.connect(`http://127.0.0.1:${h.port}`);
  session.on('error', () => undefined);
  const req = session.request({ ':method': 'POST', ':path': '/test.Echo/Echo', 'content-type': 'application/grpc' });
  req.on('error', () => undefined);
  req.write(Buffer.from([0, 0, 0, 0, 9, 1, 2]));
  req.close(http2.constants.NGHTTP2_CANCEL);
  session.close();
  assert.equal(await grpcClient(t, h.port)('Echo', 'alive').done, 'alive||/test.Echo/Echo|false|true');
});

test('tryShutdown lets the call in flight finish; forceShutdown cancels', async (t) => {
  const h = await serve(t);
  const call = grpcClient(t, h.port);
  const held = call('Hold', 'x');
  await waitUntil('the handler to hold the call', () => h.held.length === 1);
  let closed = false;
  const shutdown = h.server.tryShutdown().then(() => (closed = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closed, false, 'waits for the call in flight');
  h.held[0].cb(null, 'done');
  assert.equal(await held.done, 'done');
  await shutdown;
  await assert.rejects(h.server.listen({ host: '127.0.0.1', port: 0 }), /after shutdown/);

  const h2 = await serve(t);
  const call2 = grpcClient(t, h2.port);
  const held2 = call2('Hold', 'y');
  await waitUntil('the handler to hold the call', () => h2.held.length === 1);
  h2.server.forceShutdown();
  await assert.rejects(held2.done, (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.CANCELLED || e.code === grpc.status.INTERNAL);
  await waitUntil('the server to mark it cancelled', () => h2.held[0].call.cancelled);
});

test('addService refuses a path registered twice and a handler that is not a function', () => {
  const server = new GrpcServer({ maxReceiveBytes: 10 });
  server.addService(serviceDefinition(), {});
  assert.throws(() => server.addService(serviceDefinition(), {}), /already registered/);
  assert.throws(() => new GrpcServer({ maxReceiveBytes: 10 }).addService(serviceDefinition(), { Echo: 5 as never }), /not a function/);
  assert.throws(() => new GrpcServer({ maxReceiveBytes: -1 }), /non-negative integer/);
});

test('a handler that throws answers UNKNOWN and is reported as a handler error', async (t) => {
  const errors: string[] = [];
  const server = new GrpcServer({ maxReceiveBytes: 64, onError: (err, where) => errors.push(`${where}: ${(err as Error).message}`) });
  server.addService(serviceDefinition(), {
    Echo: () => {
      throw new Error('bug');
    },
  });
  const port = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => server.forceShutdown());
  await assert.rejects(grpcClient(t, port)('Echo', 'x').done, (e: grpc.ServiceError) => e.code === grpc.status.UNKNOWN && /bug/.test(e.details));
  assert.deepEqual(errors, ['handler /test.Echo/Echo: bug']);
});

test('keepalive: a connection that answers no PING is closed; a grpc-js client (which answers them) keeps calling', async (t) => {
  const h = await serve(t, { keepalive: { intervalMs: 100, timeoutMs: 100 } });
  const mute = net.connect(h.port, '127.0.0.1');
  t.after(() => mute.destroy());
  mute.on('error', () => undefined);
  mute.resume(); // read what the server sends (and so see its end), answer nothing
  let closed = false;
  mute.on('close', () => (closed = true));
  // the preface and an empty SETTINGS frame, then silence (not even a SETTINGS ACK or a PING ACK)
  mute.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
  const deadline = performance.now() + 5000;
  while (!closed) {
    if (performance.now() > deadline) assert.fail('the mute connection was not closed within 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(), 'Echo');
  const client = new Client(`127.0.0.1:${h.port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const echo = () => new Promise<string>((resolve, reject) => client.echo('hi', (err: Error | null, v: string) => (err ? reject(err) : resolve(v))));
  assert.match(await echo(), /^hi\|/);
  // idle past several keepalive rounds, then call again on the same connection
  const idleUntil = performance.now() + 500;
  while (performance.now() < idleUntil) await new Promise((r) => setTimeout(r, 50));
  assert.match(await echo(), /^hi\|/);
});
