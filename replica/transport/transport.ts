// PeerTransport carries raft messages between members over gRPC: one outgoing
// stream per peer (batched frames, bounded queue, reconnect with backoff),
// snapshot uploads on their own calls, and a server that takes other members'
// streams and hands their messages to raft in order.
// It must never block the caller of send(), never send a member's messages on
// a stream another member opened (direction rule: the chaos proxies rely on
// it), and never call onMessages/onUnreachable/onPeerRefused/onSnapshotStatus
// after close() or about a peer after removePeer().
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GrpcServer, type CallHooks } from '../grpc/index.ts';
import type { KeepaliveOptions } from '../grpc/h2/connection.ts';
import type { TlsFiles } from '../server/tls/index.ts';
import type { Message, NodeId } from '../raft/types.ts';
import { encodedMessageSize } from './batch-codec.ts';
import { LOCAL_MESSAGE_TYPES } from './message-types.ts';
import { PeerLink } from './peer-link.ts';
import { parsePeerUrl, type PeerAddress } from './peer-url.ts';
import { Receiver } from './receiver.ts';
import { maxMessageBytes, raftServiceDefinition, type PeerDial } from './service.ts';
import { sendSnapshot, type SnapshotSend } from './snapshot-sender.ts';
import { newReceiveStats, type SnapshotStats, type TransportStats } from './stats.ts';

/** TransportTuning holds the knobs; every member of a group should use the same values. */
export interface TransportTuning {
  /** Largest MessageBatch frame (and, plus headroom, the gRPC message limit on both ends). */
  maxFrameBytes: number;
  /** Batching cuts frames at about this size (see bench.ts: 4 MiB frames halve throughput). */
  targetFrameBytes: number;
  /** Bounds of each peer's outgoing queue. */
  queueMaxMessages: number;
  queueMaxBytes: number;
  /** Reconnection backoff: doubling from initial to max, jittered. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** How long a new stream may wait for the peer's acknowledgement. */
  connectTimeoutMs: number;
  /** HTTP/2 keepalive pings: a peer silent for about time + timeout is declared dead. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  snapshotChunkBytes: number;
  snapshotChunkTimeoutMs: number;
  /** Largest snapshot this member accepts. */
  maxSnapshotBytes: number;
  /** Jitter source for the backoff. */
  random: () => number;
}

export const DEFAULT_TUNING: TransportTuning = {
  maxFrameBytes: 4 * 1024 * 1024,
  targetFrameBytes: 256 * 1024,
  queueMaxMessages: 4096,
  queueMaxBytes: 64 * 1024 * 1024,
  backoffInitialMs: 50,
  backoffMaxMs: 2000,
  connectTimeoutMs: 3000,
  keepaliveTimeMs: 1000,
  keepaliveTimeoutMs: 2000,
  snapshotChunkBytes: 1024 * 1024,
  snapshotChunkTimeoutMs: 15_000,
  maxSnapshotBytes: 2 * 1024 * 1024 * 1024,
  random: Math.random,
};

/**
 * PeerSecurity is the peer port's TLS and access control, supplied by the
 * host (the transport knows nothing of certificates or member tables).
 */
export interface PeerSecurity {
  /** the peer port's certificate files (followed as they change); required for an https:// listen URL; callers must present a certificate it trusts */
  serverTls?: TlsFiles;
  /** TLS settings for each outgoing connection to `peer` (default: plaintext, refused for https:// URLs) */
  dial?: (peer: NodeId, address: PeerAddress) => PeerDial;
  /** admit runs on every incoming call, and on each message of a stream, before the Raft and extra services (e.g. who may call) */
  admit?: CallHooks['admit'];
  /** explain tells more about why a connection to `peer` failed (e.g. a server that hung up on our certificate); logged at most every 30 s per link */
  explain?: (peer: NodeId, address: PeerAddress) => Promise<string | undefined>;
}

export interface PeerTransportOptions {
  memberId: NodeId;
  clusterId: string;
  /** Where to serve peers, http(s)://host:port (port 0 picks a free one; see listenUrl after start). */
  listenUrl: string;
  logger: Logger;
  /** Messages from peers, in the order each peer sent them. Called synchronously per received frame. */
  onMessages(msgs: Message[]): void;
  /** `peer` could not be reached; raft should move it to probe. Called once per failed attempt. */
  onUnreachable(peer: NodeId): void;
  /**
   * `peer`'s process is gone, as far as the network can tell: after the stream
   * to it broke, a redial to its address was refused (ECONNREFUSED: the host
   * answers, nothing listens). Called after onUnreachable, once per refused
   * redial until a stream is established again. Never called for a reset, a
   * timeout, a silent peer or an unresolvable name (a dead machine or a
   * partition): those give no such evidence.
   */
  onPeerRefused?(peer: NodeId): void;
  /** How a 'snap' send to `peer` ended. */
  onSnapshotStatus(peer: NodeId, ok: boolean): void;
  tuning?: Partial<TransportTuning>;
  /** services are extra gRPC services served on the peer port (e.g. membership discovery for joining members). */
  services?: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[];
  security?: PeerSecurity;
}

export class PeerTransport {
  readonly memberId: NodeId;
  readonly clusterId: string;
  readonly tuning: TransportTuning;
  readonly #o: PeerTransportOptions;
  readonly #log: Logger;
  readonly #listen: PeerAddress;
  readonly #keepalive: KeepaliveOptions;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #snapshots = new Map<NodeId, SnapshotSend>();
  readonly #snapshotStats: SnapshotStats = { sent: 0, sendFailed: 0, received: 0, receiveFailed: 0, chunksReceived: 0 };
  readonly #receive = newReceiveStats();
  readonly #receiver: Receiver;
  #server: GrpcServer | undefined;
  #boundUrl: string | undefined;
  #closed = false;
  #droppedUnknownPeer = 0;
  #droppedInvalid = 0;
  readonly #lastLog = new Map<string, number>();

  constructor(o: PeerTransportOptions) {
    if (!Number.isSafeInteger(o.memberId) || o.memberId <= 0) throw new Error(`member id must be a positive integer, got ${o.memberId}`);
    if (!/^[\x21-\x7e]+$/.test(o.clusterId)) throw new Error(`cluster id must be non-empty printable ASCII without spaces, got ${JSON.stringify(o.clusterId)}`);
    this.memberId = o.memberId;
    this.clusterId = o.clusterId;
    this.tuning = { ...DEFAULT_TUNING, ...o.tuning };
    const t = this.tuning;
    if (t.snapshotChunkBytes <= 0 || t.snapshotChunkBytes > t.maxFrameBytes) {
      throw new Error(`snapshotChunkBytes (${t.snapshotChunkBytes}) must be positive and at most maxFrameBytes (${t.maxFrameBytes})`);
    }
    if (!(t.targetFrameBytes > 0 && t.targetFrameBytes <= t.maxFrameBytes)) {
      throw new Error(`targetFrameBytes (${t.targetFrameBytes}) must be positive and at most maxFrameBytes (${t.maxFrameBytes})`);
    }
    if (t.queueMaxBytes < t.maxFrameBytes) throw new Error(`queueMaxBytes (${t.queueMaxBytes}) must be at least maxFrameBytes (${t.maxFrameBytes})`);
    this.#o = o;
    this.#log = o.logger.child({ component: 'transport' });
    this.#listen = parsePeerUrl(o.listenUrl, 'listen peer URL', true);
    if (this.#listen.secure && !o.security?.serverTls) throw new Error(`listen peer URL ${o.listenUrl} is https:// but no TLS server credentials were given`);
    if (!this.#listen.secure && o.security?.serverTls) throw new Error(`TLS server credentials were given but listen peer URL ${o.listenUrl} is http://`);
    this.#keepalive = { intervalMs: t.keepaliveTimeMs, timeoutMs: t.keepaliveTimeoutMs };
    this.#receiver = new Receiver({
      self: this.memberId,
      clusterId: this.clusterId,
      maxSnapshotBytes: t.maxSnapshotBytes,
      logger: this.#log,
      receive: this.#receive,
      snapshots: this.#snapshotStats,
      deliver: (msgs) => {
        if (!this.#closed) this.#o.onMessages(msgs);
      },
    });
  }

  /** listenUrl is the URL peers reach this member at (with the real port once started). */
  get listenUrl(): string {
    return this.#boundUrl ?? this.#listen.url;
  }

  /** start binds the peer server. Outgoing links dial as soon as peers are added, started or not. */
  async start(): Promise<void> {
    if (this.#closed) throw new Error('transport is closed');
    if (this.#server) return;
    const t = this.tuning;
    const server = new GrpcServer({
      maxReceiveBytes: maxMessageBytes(t),
      keepalive: this.#keepalive,
      hooks: { admit: this.#o.security?.admit },
      // a peer's broken connections are routine; a handler that threw is not
      onError: (err, where) => {
        if (where.startsWith('handler') || where === 'tls reload') this.#log.error({ err, where }, 'peer server error');
        else this.#log.debug({ err: (err as Error)?.message, where }, 'peer connection trouble');
      },
    });
    server.addService(raftServiceDefinition(), {}, this.#receiver.handlers());
    for (const svc of this.#o.services ?? []) server.addService(svc.definition, svc.implementation);
    const tlsFiles = this.#o.security?.serverTls;
    const port = await server
      .listen({ host: this.#listen.host, port: this.#listen.port, tls: tlsFiles ? { files: tlsFiles, clientCertMode: 'require' } : undefined })
      .catch((err: Error) => {
        server.forceShutdown();
        throw new Error(`cannot listen for peers on ${this.#listen.url}: ${err.message}`);
      });
    this.#server = server;
    const host = this.#listen.host.includes(':') && !this.#listen.host.startsWith('[') ? `[${this.#listen.host}]` : this.#listen.host;
    this.#boundUrl = `${this.#listen.secure ? 'https' : 'http'}://${host}:${port}`;
    this.#log.info({ listenUrl: this.#boundUrl }, 'serving peers');
  }

  /** addPeer starts a link to member `id` at `url` (http(s)://host:port). Adding a known peer updates its URL. */
  addPeer(id: NodeId, url: string): void {
    if (this.#closed) throw new Error('transport is closed');
    if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`peer id must be a positive integer, got ${id}`);
    if (id === this.memberId) throw new Error(`member ${id} cannot be its own peer`);
    const address = parsePeerUrl(url);
    if (address.secure && !this.#o.security?.dial) throw new Error(`peer URL ${url} is https:// but this transport has no TLS credentials to dial with`);
    const existing = this.#links.get(id);
    if (existing) {
      if (existing.address.url === address.url) return;
      this.removePeer(id);
    }
    const t = this.tuning;
    this.#links.set(
      id,
      new PeerLink({
        self: this.memberId,
        clusterId: this.clusterId,
        peer: id,
        address,
        limits: { maxMessages: t.queueMaxMessages, maxBytes: t.queueMaxBytes, maxFrameBytes: t.maxFrameBytes, targetFrameBytes: t.targetFrameBytes },
        backoff: { initialMs: t.backoffInitialMs, maxMs: t.backoffMaxMs, random: t.random },
        connectTimeoutMs: t.connectTimeoutMs,
        keepalive: this.#keepalive,
        maxReceiveBytes: maxMessageBytes(t),
        dial: () => this.#dial(id, address),
        explain: this.#o.security?.explain ? () => this.#o.security!.explain!(id, address) : undefined,
        logger: this.#log,
        onUnreachable: () => {
          if (!this.#closed && this.#links.has(id)) this.#o.onUnreachable(id);
        },
        onRefused: () => {
          if (!this.#closed && this.#links.has(id)) this.#o.onPeerRefused?.(id);
        },
      }),
    );
  }

  /** updatePeer points the link to `id` at a new URL (redialling); the peer must be known. */
  updatePeer(id: NodeId, url: string): void {
    if (!this.#links.has(id)) throw new Error(`cannot update unknown peer ${id}; add it first`);
    this.addPeer(id, url);
  }

  /** removePeer closes the link to `id` and cancels a snapshot upload to it; unknown ids are ignored. */
  removePeer(id: NodeId): void {
    const link = this.#links.get(id);
    if (!link) return;
    this.#links.delete(id);
    link.close();
    const snap = this.#snapshots.get(id);
    if (snap) {
      this.#snapshots.delete(id);
      snap.cancel(`peer ${id} was removed`);
    }
  }

  /** peerIds lists the members this transport has links to. */
  peerIds(): NodeId[] {
    return [...this.#links.keys()];
  }

  /** hasPeer tells whether `id` has a link. */
  hasPeer(id: NodeId): boolean {
    return this.#links.has(id);
  }

  /**
   * send queues `messages` for their destinations and returns at once. Messages
   * to the same peer keep their order and share frames; 'snap' messages travel
   * as chunked uploads. Messages that cannot be sent are dropped and counted.
   */
  send(messages: Message[]): void {
    if (this.#closed) return;
    const touched = new Set<PeerLink>();
    for (const m of messages) {
      if (LOCAL_MESSAGE_TYPES.has(m.type) || m.to === this.memberId) {
        this.#droppedInvalid++;
        if (this.#mayLog('invalid')) this.#log.error({ type: m.type, to: m.to }, 'send() was handed a local-only or self-addressed message; dropped');
        continue;
      }
      const link = this.#links.get(m.to);
      if (!link) {
        this.#droppedUnknownPeer++;
        if (this.#mayLog('unknown')) this.#log.warn({ type: m.type, to: m.to }, 'dropping message to a member that is not a known peer');
        continue;
      }
      if (m.type === 'snap') {
        this.#startSnapshot(link, m);
        continue;
      }
      let size: number;
      try {
        size = encodedMessageSize(m);
      } catch (err) {
        this.#droppedInvalid++;
        if (this.#mayLog('unencodable')) this.#log.error({ type: m.type, to: m.to, err: (err as Error).message }, 'send() was handed a message that cannot be encoded; dropped');
        continue;
      }
      link.enqueue(m, size);
      touched.add(link);
    }
    for (const link of touched) link.flush();
  }

  /** mayLog rate-limits a kind of log line to one a second, so a misbehaving caller cannot flood the log. */
  #mayLog(kind: string): boolean {
    const now = performance.now();
    if (now - (this.#lastLog.get(kind) ?? -Infinity) < 1000) return false;
    this.#lastLog.set(kind, now);
    return true;
  }

  #startSnapshot(link: PeerLink, m: Message): void {
    const peer = link.peer;
    if (m.snapshot === undefined) {
      this.#log.error({ to: peer }, 'snap message without a snapshot; dropped and reported as failed');
      this.#reportSnapshot(peer, false);
      return;
    }
    if (this.#snapshots.has(peer)) {
      this.#log.warn({ to: peer }, 'a snapshot upload to this peer is already running; the new one is reported failed');
      this.#reportSnapshot(peer, false);
      return;
    }
    const t = this.tuning;
    const started = performance.now();
    this.#log.info({ to: peer, bytes: m.snapshot.data.length, index: m.snapshot.metadata.index }, 'sending snapshot');
    let send: SnapshotSend;
    try {
      send = sendSnapshot({
        self: this.memberId,
        clusterId: this.clusterId,
        address: link.address,
        message: m,
        chunkBytes: t.snapshotChunkBytes,
        chunkTimeoutMs: t.snapshotChunkTimeoutMs,
        keepalive: this.#keepalive,
        dial: () => this.#dial(peer, link.address),
      });
    } catch (err) {
      // bad TLS material in the middle of a reload, or an unusable message: the upload fails, raft retries later
      this.#snapshotStats.sendFailed++;
      this.#log.warn({ to: peer, reason: (err as Error).message }, 'snapshot send failed to start');
      this.#reportSnapshot(peer, false);
      return;
    }
    this.#snapshots.set(peer, send);
    send.done.then(
      (bytes) => {
        if (this.#snapshots.get(peer) !== send) return;
        this.#snapshots.delete(peer);
        this.#snapshotStats.sent++;
        this.#log.info({ to: peer, bytes, ms: Math.round(performance.now() - started) }, 'snapshot sent');
        this.#reportSnapshot(peer, true);
      },
      (err: Error) => {
        if (this.#snapshots.get(peer) !== send) return;
        this.#snapshots.delete(peer);
        this.#snapshotStats.sendFailed++;
        this.#log.warn({ to: peer, reason: err.message }, 'snapshot send failed');
        this.#reportSnapshot(peer, false);
      },
    );
  }

  /** #dial gives the credentials of a new connection to `peer` (asked again at every redial, so reloaded certificates apply). */
  #dial(peer: NodeId, address: PeerAddress): PeerDial {
    return this.#o.security?.dial?.(peer, address) ?? {};
  }

  #reportSnapshot(peer: NodeId, ok: boolean): void {
    if (this.#closed || !this.#links.has(peer)) return;
    this.#o.onSnapshotStatus(peer, ok);
  }

  /** stats returns a copy of the transport's counters. */
  stats(): TransportStats {
    const peers: TransportStats['peers'] = {};
    for (const [id, link] of this.#links) peers[String(id)] = link.stats();
    return {
      peers,
      receive: { ...this.#receive },
      snapshots: { ...this.#snapshotStats },
      droppedUnknownPeer: this.#droppedUnknownPeer,
      droppedInvalid: this.#droppedInvalid,
    };
  }

  /** close stops every link, upload and inbound stream and the server; no callback fires afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#links.keys()]) this.removePeer(id);
    this.#receiver.endAll();
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      let force: NodeJS.Timeout | undefined;
      await Promise.race([
        server.tryShutdown(),
        new Promise<void>((resolve) => {
          force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 500);
        }),
      ]);
      clearTimeout(force);
    }
    this.#log.info('peer transport closed');
  }
}
