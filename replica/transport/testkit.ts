// Test helpers for the transport: transports on 127.0.0.1 with a silent logger
// that record everything they deliver and report, a condition poller with a
// deadline, and a TCP proxy for one directed link that can be cut.
// Only tests import this; it must never bind or dial outside 127.0.0.1.
import net from 'node:net';
import pino from 'pino';
import type { Message, NodeId } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { PeerTransport, type TransportTuning } from './transport.ts';

export interface Recorder {
  transport: PeerTransport;
  received: Message[];
  unreachable: NodeId[];
  /** peers reported refused (their process gone) */
  refused: NodeId[];
  snapshotStatus: { peer: NodeId; ok: boolean }[];
}

/** startMember starts a transport for member `id` on 127.0.0.1 (port 0 unless given). */
export async function startMember(id: NodeId, opts: { clusterId?: string; port?: number; tuning?: Partial<TransportTuning> } = {}): Promise<Recorder> {
  const r: Recorder = { received: [], unreachable: [], refused: [], snapshotStatus: [] } as unknown as Recorder;
  r.transport = new PeerTransport({
    memberId: id,
    clusterId: opts.clusterId ?? 'test-cluster',
    listenUrl: `http://127.0.0.1:${opts.port ?? 0}`,
    logger: pino({ level: process.env.TRANSPORT_TEST_LOG ?? 'silent' }),
    onMessages: (msgs) => {
      for (const m of msgs) r.received.push(m);
    },
    onUnreachable: (peer) => r.unreachable.push(peer),
    onPeerRefused: (peer) => r.refused.push(peer),
    onSnapshotStatus: (peer, ok) => r.snapshotStatus.push({ peer, ok }),
    tuning: opts.tuning,
  });
  await r.transport.start();
  return r;
}

/** waitFor polls `cond` every few milliseconds until it holds or `timeoutMs` passes (then throws `what`). */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** app builds an 'app' message whose `index` doubles as a per-sender sequence number. */
export function app(from: NodeId, to: NodeId, seq: number, entryBytes = 0): Message {
  const entries = entryBytes > 0 ? [{ term: 1, index: seq + 1, type: 'normal' as const, data: new Uint8Array(entryBytes).fill(seq & 255) }] : [];
  return message({ type: 'app', from, to, term: 1, logTerm: 1, index: seq, commit: 0, entries });
}

/** LinkProxy forwards one directed peer link through 127.0.0.1 and can cut it (close) or blackhole it (stall). */
export class LinkProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #mode: 'forward' | 'blackhole' | 'refuse' = 'forward';
  port = 0;

  /** targetHost must be a 127.0.0.0/8 address (a member's own loopback address in the e2e tests). */
  constructor(targetPort: number, targetHost = '127.0.0.1') {
    if (!targetHost.startsWith('127.')) throw new Error(`LinkProxy forwards only inside 127.0.0.0/8, not to ${targetHost}`);
    this.#server = net.createServer((client) => {
      if (this.#mode === 'refuse') {
        client.destroy();
        return;
      }
      if (this.#mode === 'blackhole') {
        // Accept and say nothing, like a paused process.
        this.#sockets.add(client);
        client.on('error', () => {});
        return;
      }
      const upstream = net.connect(targetPort, targetHost);
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const onError = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', onError);
      upstream.on('error', onError);
      client.on('data', (d) => {
        if (this.#mode === 'forward') upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (this.#mode === 'forward') client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** blackhole stops forwarding in both directions without closing anything. */
  blackhole(): void {
    this.#mode = 'blackhole';
  }

  /** forward resumes forwarding (existing stalled connections stay stalled; new ones flow). */
  forward(): void {
    this.#mode = 'forward';
  }

  /** cut closes every connection through the proxy and refuses new ones until forward(). */
  cut(): void {
    this.#mode = 'refuse';
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
