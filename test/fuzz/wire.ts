// Wire helpers for the network fuzz targets: raw gRPC calls with byte
// payloads (unary, client-streaming, bidi), raw TCP exchanges, and a capture
// proxy that records the bytes a real client sends so they can be mutated and
// replayed. Everything dials 127.0.0.0/8 only.
// It must never leave a socket or client open after its promise settles.
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

export interface CallResult {
  code: grpc.status;
  details: string;
}

/** unary sends `payload` as the serialized request of `path`. */
export function unary(client: grpc.Client, path: string, payload: Buffer, timeoutMs = 5000, metadata = new grpc.Metadata()): Promise<CallResult> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(path, identity, identity, payload, metadata, { deadline: Date.now() + timeoutMs }, (err) =>
      resolve(err ? { code: err.code ?? grpc.status.UNKNOWN, details: err.details ?? err.message } : { code: grpc.status.OK, details: '' }),
    ),
  );
}

/** clientStream writes every payload on one client-streaming call, ends it, and reports the status. */
export function clientStream(client: grpc.Client, path: string, payloads: Buffer[], metadata: grpc.Metadata, timeoutMs = 5000): Promise<CallResult> {
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(path, identity, identity, metadata, { deadline: Date.now() + timeoutMs }, (err) =>
      resolve(err ? { code: err.code ?? grpc.status.UNKNOWN, details: err.details ?? err.message } : { code: grpc.status.OK, details: '' }),
    );
    call.on('error', () => undefined);
    for (const p of payloads) call.write(p);
    call.end();
  });
}

/**
 * bidi writes the payloads on one bidi-streaming call, then ends its side and
 * waits for the server to close (or the deadline); reports the status.
 */
export function bidi(client: grpc.Client, path: string, payloads: Buffer[], metadata: grpc.Metadata, timeoutMs = 5000): Promise<CallResult> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(path, identity, identity, metadata, { deadline: Date.now() + timeoutMs });
    let done = false;
    const finish = (r: CallResult) => {
      if (done) return;
      done = true;
      resolve(r);
    };
    call.on('data', () => undefined);
    call.on('error', (e: grpc.ServiceError) => finish({ code: e.code ?? grpc.status.UNKNOWN, details: e.details ?? e.message }));
    call.on('status', (s: grpc.StatusObject) => finish({ code: s.code, details: s.details }));
    for (const p of payloads) call.write(p);
    call.end();
  });
}

/** exchange opens a TCP connection to host:port, writes `bytes`, and waits for the peer to close or `waitMs`. */
export function exchange(host: string, port: number, bytes: Buffer, waitMs = 150): Promise<'closed' | 'open' | 'refused'> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let settled = false;
    const finish = (how: 'closed' | 'open' | 'refused') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(how);
    };
    const timer = setTimeout(() => finish('open'), waitMs + 2000);
    s.on('connect', () => {
      s.write(bytes, () => undefined);
      setTimeout(() => finish('open'), waitMs);
    });
    s.on('data', () => undefined);
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'closed'));
    s.on('close', () => finish('closed'));
  });
}

/**
 * capture runs `drive` against a recording proxy in front of host:port and
 * returns, per connection, the bytes the client sent.
 */
export async function capture(host: string, port: number, drive: (address: string) => Promise<void>): Promise<Buffer[]> {
  const recorded: Buffer[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const chunks: Buffer[] = [];
    recorded.push(chunks);
    const upstream = net.connect({ host, port });
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d) => {
      chunks.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await drive(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return recorded.map((c) => Buffer.concat(c)).filter((b) => b.length > 0);
}

/** inParallel runs `f` over `items` with at most `width` at a time. */
export async function inParallel<T, R>(items: T[], width: number, f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i], i);
      }
    }),
  );
  return out;
}
