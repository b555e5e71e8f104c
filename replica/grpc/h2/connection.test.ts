// Our HTTP/2 connection code against a raw-frame client: flow control on the
// answer (DATA never beyond the peer's stream window, resumed by
// WINDOW_UPDATE and by a SETTINGS change), PING, padding and CONTINUATION,
// the client's RST_STREAM, graceful close (GOAWAY, new streams refused, the
// socket closed once the open stream is answered), late trailers on a stream
// already answered dropped, the connection errors a broken peer gets
// (GOAWAY with the code, then the socket closed), and the deadline for the
// client preface and SETTINGS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { H2Connection, H2Error, type H2Stream } from './connection.ts';
import { encodeHeaderBlock } from './hpack.ts';

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function frame(type: number, flags: number, id: number, payload: Buffer | number[] = []): Buffer {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, p]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function settings(pairs: [number, number][]): Buffer {
  return frame(4, 0, 0, Buffer.concat(pairs.map(([k, v]) => Buffer.concat([Buffer.from([k >> 8, k & 0xff]), u32(v)]))));
}

const REQUEST = encodeHeaderBlock([
  [':method', 'POST'],
  [':path', '/x'],
  [':scheme', 'http'],
  [':authority', 'test'],
]);

interface Harness {
  streams: H2Stream[];
  conns: H2Connection[];
  /** the body each stream is answered with once the client ended it */
  body: Buffer;
  client: RawClient;
}

class RawClient {
  readonly frames: Frame[] = [];
  closed = false;
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 9) {
        const len = this.#buf.readUIntBE(0, 3);
        if (this.#buf.length < 9 + len) break;
        this.frames.push({ type: this.#buf[3], flags: this.#buf[4], id: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: this.#buf.subarray(9, 9 + len) });
        this.#buf = this.#buf.subarray(9 + len);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  /** waitFor resolves the first frame (from `from` on) that matches. */
  async waitFor(what: string, match: (f: Frame) => boolean, from = 0): Promise<Frame> {
    await until(what, () => this.frames.slice(from).some(match));
    return this.frames.slice(from).find(match)!;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function harness(
  t: { after(fn: () => void): void },
  clientSettings: [number, number][] = [],
  body = Buffer.from('hello'),
  maxWriteBacklog?: number,
  maxConcurrentStreams?: number,
): Promise<Harness> {
  const h = { streams: [] as H2Stream[], conns: [] as H2Connection[], body } as Harness;
  const server = net.createServer((socket) => {
    const conn = new H2Connection(socket, {
      maxWriteBacklog,
      maxConcurrentStreams,
      onStream: (stream) => {
        h.streams.push(stream);
        const data: Buffer[] = [];
        stream.onData = (d) => data.push(d);
        stream.onEnd = () => {
          if (Buffer.concat(data).toString() === 'hold') return;
          stream.respond(encodeHeaderBlock([[':status', '200']]), h.body, encodeHeaderBlock([['grpc-status', '0']]));
        };
      },
    });
    h.conns.push(conn);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  t.after(() => {
    socket.destroy();
    server.close();
    for (const c of h.conns) c.destroy();
  });
  h.client = new RawClient(socket);
  h.client.send(PREFACE, settings(clientSettings));
  await h.client.waitFor('the server SETTINGS', (f) => f.type === 4 && f.flags === 0);
  return h;
}

const DATA = 0;
const HEADERS = 1;
const RST = 3;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const CONTINUATION = 9;

test('an answer never exceeds the stream window: it waits for WINDOW_UPDATE, then for a larger INITIAL_WINDOW_SIZE', async (t) => {
  const body = Buffer.alloc(100, 0x61);
  const h = await harness(t, [[4, 10]], body);
  const c = h.client;
  c.send(frame(HEADERS, 0x4 | 0x1, 1, REQUEST));
  await c.waitFor('the first DATA', (f) => f.type === DATA && f.id === 1);
  // a PING's answer comes after everything the server wrote before reading it
  c.send(frame(PING, 0, 0, Buffer.from('barrier!')));
  await c.waitFor('PING ACK', (f) => f.type === PING && f.flags === 1);
  const sent = () => c.frames.filter((f) => f.type === DATA && f.id === 1).reduce((n, f) => n + f.payload.length, 0);
  assert.equal(sent(), 10, 'only the window');
  c.send(frame(WINDOW_UPDATE, 0, 1, u32(50)));
  await until('60 bytes', () => sent() === 60);
  // raising INITIAL_WINDOW_SIZE to 100 adds 90 to the stream's window: the rest goes, then the trailers end it
  c.send(settings([[4, 100]]));
  const end = await c.waitFor('the trailers', (f) => f.type === HEADERS && f.id === 1 && (f.flags & 0x1) !== 0);
  assert.equal(sent(), 100);
  assert.ok(end);
  assert.deepEqual(
    Buffer.concat(c.frames.filter((f) => f.type === DATA && f.id === 1).map((f) => f.payload)),
    body,
  );
  assert.ok(c.frames.some((f) => f.type === 4 && f.flags === 1), 'our SETTINGS were acknowledged');
});

test('an answer that fits its windows goes out as HEADERS, DATA and trailing HEADERS; an empty body sends no DATA', async (t) => {
  for (const body of [Buffer.from('hello'), Buffer.alloc(0)]) {
    const h = await harness(t, [], body);
    const c = h.client;
    c.send(frame(HEADERS, 0x4 | 0x1, 1, REQUEST));
    await c.waitFor('the trailers', (f) => f.type === HEADERS && f.id === 1 && (f.flags & 0x1) !== 0);
    const onStream = c.frames.filter((f) => f.id === 1).map((f) => [f.type, f.flags, f.payload.toString('hex')]);
    const expected = [[HEADERS, 0x4, encodeHeaderBlock([[':status', '200']]).toString('hex')]];
    if (body.length > 0) expected.push([DATA, 0, body.toString('hex')]);
    expected.push([HEADERS, 0x4 | 0x1, encodeHeaderBlock([['grpc-status', '0']]).toString('hex')]);
    assert.deepEqual(onStream, expected);
    // the stream is done with: a second request on the connection is answered too
    c.send(frame(HEADERS, 0x4 | 0x1, 3, REQUEST));
    await c.waitFor('the second answer', (f) => f.type === HEADERS && f.id === 3 && (f.flags & 0x1) !== 0);
    assert.ok(h.streams.length === 2 && h.streams.every((s) => s.closed), "both streams closed once answered");
  }
});

test('request headers are plain fields: nothing inherited, and "__proto__" or "constructor" are fields like any other', async (t) => {
  const h = await harness(t);
  const c = h.client;
  const block = encodeHeaderBlock([
    [':method', 'POST'], [':path', '/x'], [':scheme', 'http'], [':authority', 'test'],
    ['__proto__', 'p'], ['constructor', 'c'], ['x-twice', '1'], ['x-twice', '2'],
  ]);
  c.send(frame(HEADERS, 0x4 | 0x1, 1, block));
  await c.waitFor('the answer', (f) => f.type === HEADERS && f.id === 1 && (f.flags & 0x1) !== 0);
  const headers = h.streams[0].headers;
  assert.equal(headers['__proto__'], 'p');
  assert.equal(headers['constructor'], 'c');
  assert.deepEqual(headers['x-twice'], ['1', '2']);
  assert.equal(headers['toString'], undefined);
  assert.equal('hasOwnProperty' in headers, false);
  assert.deepEqual(Object.keys(headers), [':method', ':path', ':scheme', ':authority', '__proto__', 'constructor', 'x-twice']);
});

test('PING is answered with its payload; padded HEADERS with CONTINUATION and padded DATA make one request', async (t) => {
  const h = await harness(t);
  const c = h.client;
  c.send(frame(PING, 0, 0, Buffer.from('12345678')));
  const pong = await c.waitFor('PING ACK', (f) => f.type === PING);
  assert.equal(pong.flags, 1);
  assert.equal(pong.payload.toString(), '12345678');
  // HEADERS: PADDED (3 bytes of padding), no END_HEADERS; then the rest in CONTINUATION
  const cut = 5;
  c.send(
    frame(HEADERS, 0x8, 3, Buffer.concat([Buffer.from([3]), REQUEST.subarray(0, cut), Buffer.alloc(3)])),
    frame(CONTINUATION, 0x4, 3, REQUEST.subarray(cut)),
    frame(DATA, 0x8 | 0x1, 3, Buffer.concat([Buffer.from([2]), Buffer.from('body'), Buffer.alloc(2)])),
  );
  await c.waitFor('the answer', (f) => f.type === HEADERS && f.id === 3 && (f.flags & 0x1) !== 0);
  assert.equal(h.streams.length, 1);
  assert.equal(h.streams[0].headers[':path'], '/x');
});

test("the client's RST_STREAM closes the stream; graceful close refuses new streams and closes once the open one is answered", async (t) => {
  const h = await harness(t);
  const c = h.client;
  let closed = 0;
  c.send(frame(HEADERS, 0x4, 1, REQUEST), frame(DATA, 0x1, 1, Buffer.from('hold')));
  await until('stream 1', () => h.streams.length === 1);
  h.streams[0].onClose = () => closed++;
  c.send(frame(RST, 0, 1, u32(H2Error.CANCEL)));
  await until('the reset', () => h.streams[0].closed);
  assert.equal(closed, 1);

  c.send(frame(HEADERS, 0x4, 5, REQUEST), frame(DATA, 0x1, 5, Buffer.from('hold')));
  await until('stream 5', () => h.streams.length === 2);
  const done = h.conns[0].close();
  const away = await c.waitFor('GOAWAY', (f) => f.type === GOAWAY);
  assert.equal(away.payload.readUInt32BE(0), 5, 'last stream id');
  assert.equal(away.payload.readUInt32BE(4), H2Error.NO_ERROR);
  c.send(frame(HEADERS, 0x5, 7, REQUEST));
  const refused = await c.waitFor('stream 7 refused', (f) => f.type === RST && f.id === 7);
  assert.equal(refused.payload.readUInt32BE(0), H2Error.REFUSED_STREAM);
  assert.equal(c.closed, false, 'stream 5 is still open');
  h.streams[1].respond(encodeHeaderBlock([[':status', '200']]), Buffer.from('late'), encodeHeaderBlock([['grpc-status', '0']]));
  await done;
  await until('the socket to close', () => c.closed);
  assert.ok(c.frames.some((f) => f.type === DATA && f.id === 5 && f.payload.toString() === 'late'));
});

const connectionErrors: [string, (c: RawClient) => void, number][] = [
  ['a frame between HEADERS and its CONTINUATION', (c) => c.send(frame(HEADERS, 0, 1, REQUEST.subarray(0, 3)), frame(PING, 0, 0, Buffer.alloc(8))), H2Error.PROTOCOL_ERROR],
  ['a frame over 16 KiB', (c) => c.send(frame(DATA, 0, 1, Buffer.alloc(16_385))), H2Error.FRAME_SIZE_ERROR],
  ['HEADERS on an even stream', (c) => c.send(frame(HEADERS, 0x5, 2, REQUEST)), H2Error.PROTOCOL_ERROR],
  ['DATA on an idle stream', (c) => c.send(frame(DATA, 0, 9, Buffer.from('x'))), H2Error.PROTOCOL_ERROR],
  ['a header block that does not decode', (c) => c.send(frame(HEADERS, 0x5, 1, Buffer.from([0x80]))), H2Error.COMPRESSION_ERROR],
  ['a WINDOW_UPDATE overflowing the connection window', (c) => c.send(frame(WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1))), H2Error.FLOW_CONTROL_ERROR],
  ['PUSH_PROMISE from a client', (c) => c.send(frame(5, 0x4, 1, Buffer.alloc(4))), H2Error.PROTOCOL_ERROR],
  [
    'a flood of empty CONTINUATION frames',
    (c) => c.send(frame(HEADERS, 0, 1, REQUEST.subarray(0, 3)), ...Array.from({ length: 100 }, () => frame(CONTINUATION, 0, 1))),
    H2Error.ENHANCE_YOUR_CALM,
  ],
  ['a request on a stream id already used', (c) => c.send(frame(HEADERS, 0x5, 3, REQUEST), frame(HEADERS, 0x5, 1, REQUEST)), H2Error.PROTOCOL_ERROR],
  ['SETTINGS with 33 entries', (c) => c.send(settings(Array.from({ length: 33 }, (_, i): [number, number] => [4, i % 2 === 0 ? 0 : 65_535]))), H2Error.ENHANCE_YOUR_CALM],
];

for (const [what, send, code] of connectionErrors) {
  test(`a connection error, ${what}: GOAWAY with the code, then the socket closes`, async (t) => {
    const h = await harness(t);
    send(h.client);
    const away = await h.client.waitFor('GOAWAY', (f) => f.type === GOAWAY);
    assert.equal(away.payload.readUInt32BE(4), code);
    await until('the socket to close', () => h.client.closed);
  });
}

test('a client that sends PINGs and never reads the answers is cut off once the unread backlog passes its bound', async (t) => {
  const h = await harness(t, [], undefined, 1 << 20);
  const c = h.client;
  c.socket.pause();
  const ping = frame(PING, 0, 0, Buffer.alloc(8));
  const burst = Buffer.concat(Array.from({ length: 10_000 }, () => ping));
  // 10 000 pings a burst (170 kB); the kernel's socket buffers take a few MB of answers before node's backlog grows
  for (let i = 0; i < 400 && !c.closed && !c.socket.destroyed; i++) {
    if (!c.socket.write(burst)) await new Promise((r) => c.socket.once('drain', r).once('close', r));
  }
  c.socket.resume();
  await until('the server to close the connection', () => c.closed);
});

test('an answer blocked on the connection window moves when it grows; one blocked on its own stream window waits for that window', async (t) => {
  const body = Buffer.alloc(70_000, 0x62);
  const h = await harness(t, [[4, 40_000]], body);
  const c = h.client;
  const sent = (id: number) => c.frames.filter((f) => f.type === DATA && f.id === id).reduce((n, f) => n + f.payload.length, 0);
  const barrier = async (tag: string) => {
    c.send(frame(PING, 0, 0, Buffer.from(tag.padEnd(8, '.'))));
    await c.waitFor(`PING ACK ${tag}`, (f) => f.type === PING && f.flags === 1 && f.payload.toString().startsWith(tag));
  };
  c.send(frame(HEADERS, 0x5, 1, REQUEST));
  await barrier('one');
  c.send(frame(HEADERS, 0x5, 3, REQUEST));
  await barrier('two');
  // stream 1 took its whole window (40 000), stream 3 the rest of the connection's 65 535
  assert.deepEqual([sent(1), sent(3)], [40_000, 25_535]);
  c.send(frame(WINDOW_UPDATE, 0, 0, u32(100_000)));
  await barrier('three');
  assert.deepEqual([sent(1), sent(3)], [40_000, 40_000], 'the connection window moved only the stream waiting for it');
  c.send(frame(WINDOW_UPDATE, 0, 1, u32(30_000)), frame(WINDOW_UPDATE, 0, 3, u32(30_000)));
  await c.waitFor('both trailers', () => c.frames.filter((f) => f.type === HEADERS && (f.flags & 0x1) !== 0).length === 2);
  assert.deepEqual([sent(1), sent(3)], [70_000, 70_000]);
});

test('streams the client resets while their handler still runs count against the call limit until released', async (t) => {
  const h = await harness(t, [], undefined, undefined, 2);
  const c = h.client;
  const hold = (id: number) => [frame(HEADERS, 0x4, id, REQUEST), frame(DATA, 0x1, id, Buffer.from('hold'))];
  c.send(...hold(1), frame(RST, 0, 1, u32(H2Error.CANCEL)), ...hold(3), frame(RST, 0, 3, u32(H2Error.CANCEL)));
  await until('two streams reset', () => h.streams.length === 2 && h.streams.every((s) => s.closed));
  c.send(...hold(5));
  const refused = await c.waitFor('stream 5 refused', (f) => f.type === RST && f.id === 5);
  assert.equal(refused.payload.readUInt32BE(0), H2Error.REFUSED_STREAM);
  assert.equal(h.streams.length, 2, 'no handler started for stream 5');
  h.streams[0].release();
  c.send(...hold(7));
  await until('stream 7 accepted', () => h.streams.length === 3);
  assert.equal(h.streams[2].id, 7);
});

test('trailers that arrive after the stream was answered and reset are dropped; the connection goes on', async (t) => {
  const h = await harness(t);
  const c = h.client;
  // stream 1 is answered and closed; a header block without pseudo-headers on it afterwards (late trailers) is decoded and dropped
  c.send(frame(HEADERS, 0x4, 1, REQUEST), frame(DATA, 0x1, 1, Buffer.from('x')));
  await c.waitFor('the answer', (f) => f.type === HEADERS && f.id === 1 && (f.flags & 0x1) !== 0);
  c.send(frame(HEADERS, 0x5, 1, encodeHeaderBlock([['grpc-status', '0']])));
  c.send(frame(HEADERS, 0x5, 3, REQUEST));
  await c.waitFor('the answer on stream 3', (f) => f.type === HEADERS && f.id === 3 && (f.flags & 0x1) !== 0);
  assert.equal(c.frames.some((f) => f.type === GOAWAY), false);
});

/** timedServer serves bare connections with `options` (no streams) and connects raw clients to it; errors collects onError messages. */
async function timedServer(
  t: { after(fn: () => void): void },
  options: { prefaceTimeoutMs?: number; keepalive?: { intervalMs: number; timeoutMs: number } },
): Promise<{ errors: string[]; connect(): Promise<RawClient> }> {
  const errors: string[] = [];
  const conns: H2Connection[] = [];
  const server = net.createServer((socket) => {
    conns.push(new H2Connection(socket, { ...options, onStream: () => undefined, onError: (e) => errors.push(e.message) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => {
    server.close();
    for (const c of conns) c.destroy();
  });
  const connect = async () => {
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    t.after(() => socket.destroy());
    return new RawClient(socket);
  };
  return { errors, connect };
}

test('a connection that sends no preface and SETTINGS in time is closed; one that did stays open past that time', async (t) => {
  const { errors, connect } = await timedServer(t, { prefaceTimeoutMs: 100 });
  const silent = await connect();
  const trickling = await connect();
  trickling.send(PREFACE.subarray(0, 10)); // half a preface, then nothing
  const polite = await connect();
  polite.send(PREFACE, settings([]));
  const started = performance.now();
  await until('the silent and the trickling connection closed', () => silent.closed && trickling.closed);
  assert.equal(errors.filter((m) => /no connection preface and SETTINGS within 100 ms/.test(m)).length, 2, errors.join('; '));
  // the polite one outlives three timeouts and still answers
  await until('three timeouts passed', () => performance.now() - started > 300);
  assert.equal(polite.closed, false);
  polite.send(frame(PING, 0, 0, Buffer.alloc(8, 7)));
  await polite.waitFor('the PING acknowledged', (f) => f.type === PING && f.flags === 1);
});

test('keepalive: a silent client gets a PING; one that answers stays connected, one that does not is closed', async (t) => {
  const { errors, connect: connectRaw } = await timedServer(t, { keepalive: { intervalMs: 100, timeoutMs: 100 } });
  const connect = async () => {
    const c = await connectRaw();
    c.send(PREFACE, settings([]));
    return c;
  };
  const answering = await connect();
  const mute = await connect();
  // the answering client acknowledges every server PING, as an HTTP/2 client must
  answering.socket.on('data', () => {
    for (const f of answering.frames.splice(0)) if (f.type === PING && f.flags === 0) answering.send(frame(PING, 1, 0, f.payload));
  });
  await until('the mute client closed', () => mute.closed, 5000);
  assert.ok(errors.some((m) => /answered no keepalive PING within 100 ms/.test(m)), errors.join('; '));
  const pingsToMute = mute.frames.filter((f) => f.type === PING && f.flags === 0).length;
  assert.equal(pingsToMute, 1, 'one PING, then closed');
  assert.equal(answering.closed, false, 'the client that answers stays connected');
  let pings = 0;
  answering.socket.on('data', () => pings++);
  await until('two more PINGs answered', () => pings >= 2, 5000);
  assert.equal(answering.closed, false);
});

test('keepalive: an answer that arrived while the loop was stalled past the timeout is read before the connection is judged', async (t) => {
  const { errors, connect } = await timedServer(t, { keepalive: { intervalMs: 100, timeoutMs: 100 } });
  const c = await connect();
  c.send(PREFACE, settings([]));
  let stalled = false;
  c.socket.on('data', () => {
    for (const f of c.frames.splice(0)) {
      if (f.type !== PING || f.flags !== 0) continue;
      c.send(frame(PING, 1, 0, f.payload));
      if (stalled) continue;
      stalled = true;
      // the answer is in the server's socket buffer; the loop stalls past the timeout before reading it
      const until = performance.now() + 250;
      while (performance.now() < until);
    }
  });
  await until('a keepalive PING answered, then the stall', () => stalled, 5000);
  // a few more keepalive rounds
  const after = performance.now() + 400;
  while (performance.now() < after) await new Promise((r) => setTimeout(r, 20));
  assert.equal(c.closed, false, errors.join('; '));
  assert.deepEqual(errors, []);
});
