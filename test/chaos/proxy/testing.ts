// Test tooling for the proxy tests: a TCP echo server that counts what it
// receives, a client that records what comes back and how it ended, and a
// poll-with-deadline helper. Everything binds and dials 127.0.0.1 only.
// It must never sleep in place of a condition: waits poll a predicate and
// fail loudly at the deadline.
import net from 'node:net';

/** eventually polls `condition` until it holds, or rejects after `timeoutMs` naming `what`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface EchoServer {
  readonly port: number;
  readonly endpoint: string;
  /** Bytes received over all connections. */
  received(): number;
  /** Connections accepted so far. */
  accepted(): number;
  stop(): Promise<void>;
}

/** startEchoServer echoes every byte back on the connection it came from. */
export async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  let received = 0;
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('data', (chunk) => {
      received += chunk.length;
      s.write(chunk);
    });
    s.on('end', () => s.end());
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    endpoint: `127.0.0.1:${port}`,
    received: () => received,
    accepted: () => accepted,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** TestClient is one connection that records the bytes it gets and how it ended. */
export class TestClient {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #length = 0;
  ended = false;
  closed = false;
  error: NodeJS.ErrnoException | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
    });
    socket.on('end', () => (this.ended = true));
    socket.on('error', (err) => (this.error = err));
    socket.on('close', () => (this.closed = true));
  }

  /** connect resolves once TCP connects (the proxy accepted), or rejects on a connection error. */
  static connect(endpoint: string): Promise<TestClient> {
    const [host, port] = endpoint.split(':');
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port: Number(port) });
      socket.setNoDelay(true);
      const client = new TestClient(socket);
      socket.once('connect', () => resolve(client));
      socket.once('error', reject);
    });
  }

  get length(): number {
    return this.#length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** resetByPeer: the connection ended with ECONNRESET (or closed without a clean FIN). */
  get reset(): boolean {
    return this.closed && (this.error?.code === 'ECONNRESET' || !this.ended);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
