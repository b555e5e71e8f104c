// One HTTP/2 connection (RFC 9113) on a socket, either end: as much of the
// protocol as gRPC calls need and every rule the other end may rely on: the
// preface and SETTINGS exchange (in bounded time), HEADERS + CONTINUATION decoded with
// HPACK, DATA with flow control both ways, PING (answered, and sent to a
// silent peer as a keepalive), RST_STREAM, WINDOW_UPDATE,
// GOAWAY, PRIORITY and unknown frames ignored. As a server, a stream is handed
// to its owner once its headers are in; the owner reads its DATA and answers
// with headers, DATA and trailers (respond, or startResponse/write/end for a
// streamed answer). As a client, request() opens a stream whose owner writes
// DATA and hears the response headers, DATA and trailers. Everything this
// connection writes in one turn of the event loop leaves in one socket write.
// It replaces node:http2 on the client port because per call node's Http2Stream
// (a Duplex with its own state, header objects, nghttp2 callbacks) cost more
// than the rest of a put on the leader (docs/benchmarks.md, item 21), and
// grpc-js on the peer port for the same reason per raft message (item 26).
// It must never send more DATA than the peer's windows allow, never let a
// peer's bytes throw out of a socket callback, never buffer a header block
// or a decoded header list past its bound, never let a client run more calls
// than the limit (resetting a stream does not end its handler's work), never
// do work per frame that grows with the streams open except where a frame
// asks for it, and never answer a stream twice or write on a stream after
// its END_STREAM.
import type { Socket } from 'node:net';
import { HeaderListTooLarge, HpackDecoder, HpackError, type HeaderField } from './hpack.ts';
import { IdTable } from '../../util/id-table.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

// frame types (RFC 9113, 6)
const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

// flags
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;

/** error codes (RFC 9113, 7) */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

// settings identifiers
const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
/** the frame size we accept: the protocol's default, which we never raise */
const MAX_FRAME = 16_384;
/** the receive window we give each stream (SETTINGS_INITIAL_WINDOW_SIZE) */
const STREAM_RECV_WINDOW = 1 << 20;
/** the receive window of the whole connection */
const CONN_RECV_WINDOW = 16 << 20;
/**
 * how many calls a connection may have at once (SETTINGS_MAX_CONCURRENT_STREAMS):
 * open streams, plus streams the client reset while their owner still works on
 * them (so resetting does not let a client run more handlers than this)
 */
const MAX_CONCURRENT = 4096;
/** SETTINGS entries accepted in one frame (node's default bound is 32 too) */
const MAX_SETTINGS_ENTRIES = 32;
/** CONTINUATION frames accepted after one HEADERS frame (empty ones cost nothing against the block bound) */
const MAX_CONTINUATIONS = 64;
/** bounds on one request's headers: the decoded list (SETTINGS_MAX_HEADER_LIST_SIZE), its fields, and its encoded block */
const MAX_HEADER_LIST = 64 << 10;
const MAX_HEADER_FIELDS = 256;
const MAX_HEADER_BLOCK = 64 << 10;
/** what may wait unread in the socket's write buffer before the connection is closed */
const MAX_WRITE_BACKLOG = 64 << 20;

/** RequestHeaders are a request's (or, on a client, a response's) fields by name (pseudo-headers included); a repeated name gives an array. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/** H2Stream is one stream: its headers, callbacks for what the other end sends, and what this end sends. */
export class H2Stream {
  readonly id: number;
  /** the request's headers (server), or the response's once they arrived (client; empty before) */
  headers: RequestHeaders;
  /** trailers: on a client, the response's trailers once they arrived */
  trailers: RequestHeaders | undefined;
  /** onHeaders (client) hears that the response's headers arrived (stream.headers) */
  onHeaders: (() => void) | undefined;
  /** onData hears each DATA payload (padding removed); set it in onStream */
  onData: ((chunk: Buffer) => void) | undefined;
  /** onEnd hears that the other end ended its side (END_STREAM); a client finds the trailers in stream.trailers */
  onEnd: (() => void) | undefined;
  /** onClose hears once that the stream is closed: both sides done, reset, or its connection gone */
  onClose: (() => void) | undefined;
  /** onDrain hears that everything written has left for the socket (after write() had to wait for window) */
  onDrain: (() => void) | undefined;
  /** remoteEnded: the other end sent END_STREAM */
  remoteEnded = false;
  /** responded: on a server, the answer was started (respond or startResponse) */
  responded = false;
  /** localEnded: end() was called; our END_STREAM is sent or follows what waits for window */
  localEnded = false;
  /** closed: nothing more is sent or heard on this stream */
  closed = false;
  /** what the peer lets us send on this stream */
  sendWindow: number;
  /** what we let the peer send, and what it sent that we have not yet given back */
  recvWindow = STREAM_RECV_WINDOW;
  recvUnacked = 0;
  /** DATA waiting for flow-control window, then the trailers block (set by end()) */
  pendingBody: Buffer | undefined;
  pendingTrailers: Buffer | undefined;
  /** closed before it was answered: it counts against the call limit until its owner releases it */
  busyAfterClose = false;
  /** gotHeaders (client): the response's headers arrived; the next header block is the trailers */
  gotHeaders = false;
  readonly #conn: H2Connection;

  constructor(conn: H2Connection, id: number, headers: RequestHeaders, sendWindow: number) {
    this.#conn = conn;
    this.id = id;
    this.headers = headers;
    this.sendWindow = sendWindow;
  }

  /** socket is the connection's socket (for the peer's address and TLS state). */
  get socket(): Socket {
    return this.#conn.socket;
  }

  /** pendingBytes is what write() accepted that still waits for flow-control window. */
  get pendingBytes(): number {
    return this.pendingBody?.length ?? 0;
  }

  /**
   * respond sends the answer: headers, then `body` as DATA and `trailers`
   * with END_STREAM; or, with neither, the headers alone with END_STREAM (a
   * trailers-only response). Nothing happens on a closed or answered stream.
   */
  respond(headers: Buffer, body?: Buffer, trailers?: Buffer): void {
    this.#conn.respond(this, headers, body, trailers);
  }

  /** startResponse (server) sends the answer's headers and keeps the stream open for write() and end(); false if it cannot. */
  startResponse(headers: Buffer): boolean {
    return this.#conn.startResponse(this, headers);
  }

  /** write sends `data` as DATA as the windows allow (what must wait is kept, in order). */
  write(data: Buffer): void {
    this.#conn.write(this, data);
  }

  /** end sends END_STREAM after what was written: on `trailers` (a header block) or an empty DATA frame. */
  end(trailers?: Buffer): void {
    this.#conn.end(this, trailers);
  }

  /** reset closes the stream at once with RST_STREAM `code` (default CANCEL). */
  reset(code: number = H2Error.CANCEL): void {
    this.#conn.resetStream(this, code);
  }

  /**
   * release tells the connection that the owner will never answer this stream
   * (it closed first and the owner dropped its work). Until respond() or
   * release(), a stream the client reset still counts as a call in progress.
   */
  release(): void {
    this.#conn.release(this);
  }
}

export interface H2ConnectionOptions {
  /** role: which end of the connection this is (default server) */
  role?: 'server' | 'client';
  /** onStream (server) gets each new stream once its headers are in; it sets the stream's callbacks */
  onStream?(stream: H2Stream): void;
  /** onError hears routine connection trouble (protocol errors, socket errors) for logging */
  onError?(err: Error): void;
  /** onWritable hears that what was queued went to the socket and the socket asks no wait (right after a write, or on its 'drain') */
  onWritable?(): void;
  /** maxConcurrentStreams: calls at once (default 4096; see MAX_CONCURRENT) */
  maxConcurrentStreams?: number;
  /** maxWriteBacklog: bytes left unread by the other end before the connection is closed (default 64 MiB) */
  maxWriteBacklog?: number;
  /** prefaceTimeoutMs: how long a new connection may take to send its preface and SETTINGS (default 20 s; see PREFACE_TIMEOUT_MS) */
  prefaceTimeoutMs?: number;
  /**
   * keepalive: after intervalMs without a byte from the other end this end
   * sends a PING, and closes the connection if nothing arrives within
   * timeoutMs of it (grpc-go's server keepalive, etcd's
   * --grpc-keepalive-interval and --grpc-keepalive-timeout; a client's
   * keepalive the same way). Absent: never.
   */
  keepalive?: KeepaliveOptions;
}

/** KeepaliveOptions: how long a connection may be silent before a PING, and how long the PING may go unanswered. */
export interface KeepaliveOptions {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * PREFACE_TIMEOUT_MS: a connection that has not sent the client preface and
 * its first SETTINGS frame this long after it was accepted (or, with TLS,
 * after its handshake) is closed, so silent or trickling connections cannot
 * hold the server's sockets. A real client sends both at once; grpc-go
 * allows 120 s for the TLS and HTTP/2 handshakes together.
 */
export const PREFACE_TIMEOUT_MS = 20_000;

/** MAX_TIMER_MS is the longest delay setTimeout keeps (a longer one fires after 1 ms); a longer keepalive wait re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** H2Connection speaks HTTP/2 on one connected socket (plaintext h2c or TLS after ALPN "h2"), as server or client. */
export class H2Connection {
  readonly socket: Socket;
  readonly #options: H2ConnectionOptions;
  /** client: this end opens the streams (odd ids); the other end is a server */
  readonly #client: boolean;
  /** what the other end is, for messages */
  readonly #other: string;
  #nextStreamId = 1;
  readonly #decoder = new HpackDecoder();
  /** open streams by id: an IdTable, not a Map, so that streams never outlive their requests in the collector's eyes (../../util/id-table.ts) */
  readonly #streams = new IdTable<H2Stream>();
  /** streams with an answer waiting for window: for the connection's (only these are walked when it grows) or their own */
  readonly #connBlocked = new Set<H2Stream>();
  readonly #streamBlocked = new Set<H2Stream>();
  /** streams closed before they were answered whose owner has not released them */
  #busyAfterClose = 0;
  readonly #maxConcurrent: number;
  #prefaceSeen = false;
  #settingsSeen = false;
  /** closes the connection if the preface and first SETTINGS have not arrived in time */
  #prefaceTimer: NodeJS.Timeout | undefined;
  /** keepalive: when the other end last sent a byte, the PING in flight (when it was sent), the timer */
  #lastHeardAt = performance.now();
  #keepalivePingAt: number | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #leftover: Buffer | undefined;
  /** the header block being collected from HEADERS + CONTINUATION */
  #headerStream = 0;
  #headerFlags = 0;
  #headerParts: Buffer[] = [];
  #headerBytes = 0;
  #headerFrames = 0;
  #lastStreamId = 0;
  // peer's settings and our send windows
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = 16_384;
  #sendWindow = DEFAULT_WINDOW;
  // our receive window for the connection
  #recvWindow = DEFAULT_WINDOW;
  #recvUnacked = 0;
  // output: everything queued in one turn leaves in one write
  #out: Buffer[] = [];
  #outBytes = 0;
  #flushQueued = false;
  /** dead: a connection error was sent or the socket closed; nothing more is read or written */
  #dead = false;
  /** goingAway: GOAWAY sent (or received): no new streams; the socket closes once the open ones are done */
  #goingAway = false;
  readonly #closed: Promise<void>;

  constructor(socket: Socket, options: H2ConnectionOptions) {
    this.socket = socket;
    this.#options = options;
    this.#client = options.role === 'client';
    this.#other = this.#client ? 'server' : 'client';
    // a client sends the preface; it never receives one
    this.#prefaceSeen = this.#client;
    this.#maxConcurrent = options.maxConcurrentStreams ?? MAX_CONCURRENT;
    this.#closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.#lastHeardAt = performance.now();
      this.#keepalivePingAt = undefined;
      try {
        this.#onBytes(chunk);
      } catch (err) {
        // a bug of ours, not the peer's: the connection cannot be trusted to be in step any more
        this.#connectionError(H2Error.INTERNAL_ERROR, err as Error);
      }
    });
    socket.on('error', (err) => this.#options.onError?.(err));
    if (options.onWritable) socket.on('drain', () => this.#options.onWritable?.());
    socket.on('close', () => this.#onSocketClosed());
    const prefaceMs = options.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS;
    this.#prefaceTimer = setTimeout(() => {
      // timers run before a turn's socket reads: bytes that arrived during a stalled loop are read first
      setImmediate(() => {
        if (this.#dead || this.#settingsSeen) return;
        this.#options.onError?.(new Error(`HTTP/2: the ${this.#other} sent no ${this.#client ? '' : 'connection preface and '}SETTINGS within ${prefaceMs} ms; connection closed`));
        this.destroy();
      });
    }, prefaceMs);
    this.#prefaceTimer.unref();
    if (options.keepalive) this.#armKeepalive(options.keepalive.intervalMs);
    // (a client's preface,) our SETTINGS, then the connection window raised to CONN_RECV_WINDOW
    if (this.#client) this.#queue(PREFACE);
    const settings = Buffer.alloc(9 + 4 * 6);
    writeFrameHeader(settings, 4 * 6, SETTINGS, 0, 0);
    let o = 9;
    for (const [id, value] of [
      [SETTINGS_ENABLE_PUSH, 0],
      [SETTINGS_MAX_CONCURRENT_STREAMS, this.#maxConcurrent],
      [SETTINGS_INITIAL_WINDOW_SIZE, STREAM_RECV_WINDOW],
      [SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
    ]) {
      settings.writeUInt16BE(id, o);
      settings.writeUInt32BE(value, o + 2);
      o += 6;
    }
    this.#queue(settings);
    this.#sendWindowUpdate(0, CONN_RECV_WINDOW - DEFAULT_WINDOW);
    this.#recvWindow = CONN_RECV_WINDOW;
  }

  /** close sends GOAWAY, lets the open streams finish, then closes the socket; it resolves when the socket closed. */
  close(): Promise<void> {
    if (!this.#dead && !this.#goingAway) {
      this.#goingAway = true;
      this.#queueGoaway(H2Error.NO_ERROR);
      this.#closeIfIdle();
    }
    return this.#closed;
  }

  /** destroy closes the socket now; open streams are closed (their owners hear onClose). */
  destroy(): void {
    this.#dead = true;
    this.socket.destroy();
  }

  /** canRequest: request() would open a stream (a client connection neither closing, closed nor out of stream ids). */
  get canRequest(): boolean {
    return this.#client && !this.#dead && !this.#goingAway && this.#nextStreamId <= MAX_WINDOW;
  }

  /** request (client) opens a stream with the request's header block; undefined once the connection is closing or closed. */
  request(headers: Buffer): H2Stream | undefined {
    if (!this.#client) throw new Error('HTTP/2: request() on a server connection');
    if (!this.canRequest) return undefined;
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    this.#lastStreamId = id;
    const stream = new H2Stream(this, id, Object.create(null) as RequestHeaders, this.#peerInitialWindow);
    this.#streams.set(id, stream);
    this.#queueHeaders(id, headers, false);
    return stream;
  }

  /** writableLength is what this connection has queued or the socket still holds unwritten. */
  get writableLength(): number {
    return this.#outBytes + this.socket.writableLength;
  }

  respond(stream: H2Stream, headers: Buffer, body: Buffer | undefined, trailers: Buffer | undefined): void {
    if (body === undefined && trailers === undefined) {
      if (stream.closed || stream.responded || this.#dead) {
        this.release(stream);
        return;
      }
      // a trailers-only response
      stream.responded = true;
      stream.localEnded = true;
      this.#queueHeaders(stream.id, headers, true);
      this.#localEnd(stream);
      return;
    }
    if (this.#respondInOneWrite(stream, headers, body, trailers)) return;
    if (!this.startResponse(stream, headers)) return;
    if (body !== undefined) this.write(stream, body);
    this.end(stream, trailers);
  }

  /**
   * respondInOneWrite is respond() for the common answer, a fresh stream whose
   * body fits the windows and every block one frame: the same frames (HEADERS,
   * DATA, trailing HEADERS or an empty END_STREAM DATA) written into one
   * buffer instead of one each. False (nothing done) when any of it does not hold.
   */
  #respondInOneWrite(stream: H2Stream, headers: Buffer, body: Buffer | undefined, trailers: Buffer | undefined): boolean {
    const max = this.#peerMaxFrame;
    const bodyLength = body?.length ?? 0;
    if (stream.closed || stream.responded || stream.localEnded || this.#dead || stream.pendingBody !== undefined) return false;
    if (headers.length > max || (trailers !== undefined && trailers.length > max)) return false;
    if (bodyLength > Math.min(stream.sendWindow, this.#sendWindow, max)) return false;
    if (this.#connBlocked.has(stream) || this.#streamBlocked.has(stream)) return false;
    const trailing = trailers !== undefined && trailers.length > 0 ? trailers : undefined;
    const frame = Buffer.allocUnsafe(9 + headers.length + (bodyLength > 0 ? 9 + bodyLength : 0) + 9 + (trailing?.length ?? 0));
    let at = writeFrameAt(frame, 0, HEADERS, END_HEADERS, stream.id, headers);
    if (body !== undefined && bodyLength > 0) at = writeFrameAt(frame, at, DATA, 0, stream.id, body);
    if (trailing !== undefined) writeFrameAt(frame, at, HEADERS, END_HEADERS | END_STREAM, stream.id, trailing);
    else writeFrameAt(frame, at, DATA, END_STREAM, stream.id, EMPTY);
    stream.responded = true;
    stream.localEnded = true;
    stream.sendWindow -= bodyLength;
    this.#sendWindow -= bodyLength;
    this.#queue(frame);
    this.#localEnd(stream);
    return true;
  }

  startResponse(stream: H2Stream, headers: Buffer): boolean {
    if (stream.closed || stream.responded || this.#dead) {
      this.release(stream);
      return false;
    }
    stream.responded = true;
    this.#queueHeaders(stream.id, headers, false);
    return true;
  }

  write(stream: H2Stream, data: Buffer): void {
    if (stream.closed || stream.localEnded || this.#dead || data.length === 0) return;
    if (stream.pendingBody !== undefined) {
      // behind DATA that waits for window: keep the order
      stream.pendingBody = Buffer.concat([stream.pendingBody, data]);
      return;
    }
    stream.pendingBody = data;
    this.#sendPending(stream);
  }

  end(stream: H2Stream, trailers: Buffer | undefined): void {
    if (stream.closed || stream.localEnded || this.#dead) return;
    stream.localEnded = true;
    stream.pendingTrailers = trailers ?? EMPTY;
    this.#sendPending(stream);
  }

  resetStream(stream: H2Stream, code: number): void {
    this.#resetStream(stream, code);
  }

  release(stream: H2Stream): void {
    stream.responded = true;
    if (stream.busyAfterClose) {
      stream.busyAfterClose = false;
      this.#busyAfterClose--;
    }
  }

  #resetStream(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    this.#queueRst(stream.id, code);
    this.#closeStream(stream);
  }

  // ---- reading ----

  #onBytes(chunk: Buffer): void {
    if (this.#dead) return;
    const buf = this.#leftover ? Buffer.concat([this.#leftover, chunk]) : chunk;
    this.#leftover = undefined;
    let p = 0;
    if (!this.#prefaceSeen) {
      const n = Math.min(buf.length, PREFACE.length);
      if (buf.compare(PREFACE, 0, n, 0, n) !== 0) {
        // not HTTP/2 with prior knowledge (an HTTP/1 request, garbage): nothing sensible to answer
        this.#options.onError?.(new Error('HTTP/2: the client did not send the connection preface'));
        this.destroy();
        return;
      }
      if (buf.length < PREFACE.length) {
        this.#leftover = buf;
        return;
      }
      this.#prefaceSeen = true;
      p = PREFACE.length;
    }
    while (buf.length - p >= 9) {
      const length = (buf[p] << 16) | (buf[p + 1] << 8) | buf[p + 2];
      if (length > MAX_FRAME) {
        this.#connectionError(H2Error.FRAME_SIZE_ERROR, new Error(`HTTP/2: a frame of ${length} bytes, over the ${MAX_FRAME} allowed`));
        return;
      }
      if (buf.length - p - 9 < length) break;
      const type = buf[p + 3];
      const flags = buf[p + 4];
      const id = buf.readUInt32BE(p + 5) & 0x7fffffff;
      const payload = buf.subarray(p + 9, p + 9 + length);
      p += 9 + length;
      this.#onFrame(type, flags, id, payload);
      if (this.#dead) return;
    }
    if (p < buf.length) this.#leftover = p === 0 ? buf : buf.subarray(p);
  }

  #onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (!this.#settingsSeen) {
      if (type !== SETTINGS || (flags & ACK) !== 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: the first frame was not SETTINGS'));
      this.#settingsSeen = true;
      clearTimeout(this.#prefaceTimer);
    }
    if (this.#headerStream !== 0 && (type !== CONTINUATION || id !== this.#headerStream)) {
      return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: a header block interrupted before END_HEADERS'));
    }
    switch (type) {
      case DATA:
        return this.#onData(flags, id, payload);
      case HEADERS:
        return this.#onHeaders(flags, id, payload);
      case CONTINUATION:
        if (this.#headerStream === 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: CONTINUATION without HEADERS'));
        return this.#addHeaderPart(payload, flags);
      case PRIORITY:
        if (id === 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: PRIORITY on stream 0'));
        // a stream error, but RST_STREAM may not be sent on an idle or closed stream: only an open one is reset
        if (payload.length !== 5 && this.#streams.has(id)) return this.#streamError(id, H2Error.FRAME_SIZE_ERROR);
        return;
      case RST_STREAM: {
        if (id === 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: RST_STREAM on stream 0'));
        if (payload.length !== 4) return this.#connectionError(H2Error.FRAME_SIZE_ERROR, new Error('HTTP/2: RST_STREAM of the wrong size'));
        if (id > this.#lastStreamId) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: RST_STREAM on an idle stream'));
        const stream = this.#streams.get(id);
        if (stream) this.#closeStream(stream);
        return;
      }
      case SETTINGS:
        return this.#onSettings(flags, id, payload);
      case PUSH_PROMISE:
        // a client never may; a server may not either, as our SETTINGS disable push
        return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error(`HTTP/2: PUSH_PROMISE from a ${this.#other}`));
      case PING:
        if (id !== 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: PING on a stream'));
        if (payload.length !== 8) return this.#connectionError(H2Error.FRAME_SIZE_ERROR, new Error('HTTP/2: PING of the wrong size'));
        if ((flags & ACK) === 0) this.#queue(encodeFrame(PING, ACK, 0, payload));
        return;
      case GOAWAY:
        if (id !== 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: GOAWAY on a stream'));
        // the other end takes or opens no more streams; finish the open ones, then close
        this.#goingAway = true;
        this.#closeIfIdle();
        return;
      case WINDOW_UPDATE:
        return this.#onWindowUpdate(id, payload);
      default:
        // unknown frame types are ignored (RFC 9113, 4.1)
        return;
    }
  }

  #onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: DATA on stream 0'));
    // flow control counts the whole payload, padding included
    this.#recvWindow -= payload.length;
    if (this.#recvWindow < 0) return this.#connectionError(H2Error.FLOW_CONTROL_ERROR, new Error('HTTP/2: DATA beyond the connection window'));
    this.#recvUnacked += payload.length;
    if (this.#recvUnacked >= CONN_RECV_WINDOW / 2) {
      this.#sendWindowUpdate(0, this.#recvUnacked);
      this.#recvWindow += this.#recvUnacked;
      this.#recvUnacked = 0;
    }
    const data = unpad(payload, flags);
    if (data === undefined) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: DATA padding longer than the frame'));
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: DATA on an idle stream'));
      return; // a stream we closed (answered early or reset): its late DATA is dropped
    }
    if (stream.remoteEnded) return this.#streamError(id, H2Error.STREAM_CLOSED);
    stream.recvWindow -= payload.length;
    if (stream.recvWindow < 0) return this.#streamError(id, H2Error.FLOW_CONTROL_ERROR);
    if (data.length > 0) stream.onData?.(data);
    if (stream.closed) return;
    if ((flags & END_STREAM) !== 0) {
      this.#remoteEnd(stream);
      return;
    }
    stream.recvUnacked += payload.length;
    if (stream.recvUnacked >= STREAM_RECV_WINDOW / 2) {
      this.#sendWindowUpdate(id, stream.recvUnacked);
      stream.recvWindow += stream.recvUnacked;
      stream.recvUnacked = 0;
    }
  }

  #onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || id % 2 === 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error(`HTTP/2: HEADERS on stream ${id}`));
    let block = unpad(payload, flags);
    if (block === undefined) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: HEADERS padding longer than the frame'));
    if ((flags & PRIORITY_FLAG) !== 0) {
      if (block.length < 5) return this.#connectionError(H2Error.FRAME_SIZE_ERROR, new Error('HTTP/2: HEADERS too short for its priority'));
      block = block.subarray(5);
    }
    this.#headerStream = id;
    this.#headerFlags = flags;
    this.#headerParts = [];
    this.#headerBytes = 0;
    this.#headerFrames = 0;
    this.#addHeaderPart(block, flags);
  }

  #addHeaderPart(part: Buffer, flags: number): void {
    this.#headerBytes += part.length;
    if (this.#headerBytes > MAX_HEADER_BLOCK || this.#headerFrames++ > MAX_CONTINUATIONS) {
      return this.#connectionError(H2Error.ENHANCE_YOUR_CALM, new Error(`HTTP/2: a header block over ${MAX_HEADER_BLOCK} bytes or ${MAX_CONTINUATIONS} CONTINUATION frames`));
    }
    if ((flags & END_HEADERS) === 0) {
      // a copy: a view would keep the whole socket chunk alive while the block is collected
      this.#headerParts.push(Buffer.from(part));
      return;
    }
    this.#headerParts.push(part);
    const id = this.#headerStream;
    const block = this.#headerParts.length === 1 ? this.#headerParts[0] : Buffer.concat(this.#headerParts);
    const endStream = (this.#headerFlags & END_STREAM) !== 0;
    this.#headerStream = 0;
    this.#headerParts = [];
    let fields: HeaderField[];
    try {
      fields = this.#decoder.decode(block, MAX_HEADER_LIST, MAX_HEADER_FIELDS);
    } catch (err) {
      if (err instanceof HeaderListTooLarge) return this.#connectionError(H2Error.ENHANCE_YOUR_CALM, err);
      if (err instanceof HpackError) return this.#connectionError(H2Error.COMPRESSION_ERROR, err);
      throw err;
    }
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      if (this.#client && !existing.gotHeaders) {
        // the response's headers (with END_STREAM: a trailers-only response, the headers are the trailers)
        existing.gotHeaders = true;
        existing.headers = headerMap(fields);
        if (endStream) existing.trailers = existing.headers;
        existing.onHeaders?.();
        if (endStream && !existing.closed) this.#remoteEnd(existing);
        return;
      }
      // trailers: they must end the stream
      if (!endStream || existing.remoteEnded) return this.#streamError(id, H2Error.PROTOCOL_ERROR);
      if (this.#client) existing.trailers = headerMap(fields);
      this.#remoteEnd(existing);
      return;
    }
    if (this.#client) {
      // a server opens no streams: only late headers of a stream we closed are dropped
      if (id > this.#lastStreamId) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error(`HTTP/2: HEADERS from the server on idle stream ${id}`));
      return;
    }
    if (id <= this.#lastStreamId) {
      // a stream we closed already (answered early, or reset): its late trailers are decoded (above) and
      // dropped; a new request on an id already used is a protocol error (RFC 9113, 5.1.1), never left unanswered
      if (fields.some(([name]) => name.startsWith(':'))) {
        return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error(`HTTP/2: a request on stream ${id}, not above the last stream ${this.#lastStreamId}`));
      }
      return;
    }
    this.#lastStreamId = id;
    if (this.#goingAway || this.#streams.size + this.#busyAfterClose >= this.#maxConcurrent) {
      this.#queueRst(id, H2Error.REFUSED_STREAM);
      return;
    }
    const stream = new H2Stream(this, id, headerMap(fields), this.#peerInitialWindow);
    this.#streams.set(id, stream);
    this.#options.onStream?.(stream);
    if (endStream && !stream.closed) this.#remoteEnd(stream);
  }

  #onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: SETTINGS on a stream'));
    if ((flags & ACK) !== 0) {
      if (payload.length !== 0) return this.#connectionError(H2Error.FRAME_SIZE_ERROR, new Error('HTTP/2: a SETTINGS ACK with a payload'));
      return;
    }
    if (payload.length % 6 !== 0) return this.#connectionError(H2Error.FRAME_SIZE_ERROR, new Error('HTTP/2: SETTINGS of the wrong size'));
    if (payload.length / 6 > MAX_SETTINGS_ENTRIES) {
      return this.#connectionError(H2Error.ENHANCE_YOUR_CALM, new Error(`HTTP/2: SETTINGS with over ${MAX_SETTINGS_ENTRIES} entries`));
    }
    let initialWindow: number | undefined;
    for (let o = 0; o < payload.length; o += 6) {
      const key = payload.readUInt16BE(o);
      const value = payload.readUInt32BE(o + 2);
      switch (key) {
        case SETTINGS_ENABLE_PUSH:
          if (value > 1) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: ENABLE_PUSH neither 0 nor 1'));
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW) return this.#connectionError(H2Error.FLOW_CONTROL_ERROR, new Error('HTTP/2: INITIAL_WINDOW_SIZE over 2^31-1'));
          initialWindow = value; // the last one in the frame is what holds
          break;
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < 16_384 || value > 16_777_215) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: MAX_FRAME_SIZE out of range'));
          this.#peerMaxFrame = value;
          break;
        case SETTINGS_HEADER_TABLE_SIZE:
          // our encoder never indexes, so the size of the peer's decoding table does not matter
          break;
        default:
          // MAX_CONCURRENT_STREAMS (a server opens none; a channel of ours opens one), MAX_HEADER_LIST_SIZE (advisory), unknown ones
          break;
      }
    }
    this.#queue(encodeFrame(SETTINGS, ACK, 0));
    if (initialWindow !== undefined && initialWindow !== this.#peerInitialWindow) {
      const delta = initialWindow - this.#peerInitialWindow;
      this.#peerInitialWindow = initialWindow;
      for (const st of this.#streams.valuesNow()) {
        st.sendWindow += delta;
        if (st.sendWindow > MAX_WINDOW) return this.#connectionError(H2Error.FLOW_CONTROL_ERROR, new Error('HTTP/2: a stream window over 2^31-1'));
      }
      // a larger window may let answers waiting for their own stream's window go on
      if (delta > 0) for (const st of [...this.#streamBlocked]) if (st.sendWindow > 0) this.#sendPending(st);
    }
  }

  #onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) return this.#connectionError(H2Error.FRAME_SIZE_ERROR, new Error('HTTP/2: WINDOW_UPDATE of the wrong size'));
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: a WINDOW_UPDATE of 0'));
      this.#sendWindow += increment;
      if (this.#sendWindow > MAX_WINDOW) return this.#connectionError(H2Error.FLOW_CONTROL_ERROR, new Error('HTTP/2: the connection window over 2^31-1'));
      for (const st of [...this.#connBlocked]) {
        if (this.#sendWindow <= 0) break;
        this.#sendPending(st);
      }
      return;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) return this.#connectionError(H2Error.PROTOCOL_ERROR, new Error('HTTP/2: WINDOW_UPDATE on an idle stream'));
      return;
    }
    if (increment === 0) return this.#streamError(id, H2Error.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) return this.#streamError(id, H2Error.FLOW_CONTROL_ERROR);
    if (this.#streamBlocked.has(stream)) this.#sendPending(stream);
  }

  // ---- stream life ----

  #remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    stream.onEnd?.();
    if (!this.#client || stream.closed) return;
    // a client's stream ends with the response: what we had left to send is of no use any more
    if (!stream.localEnded) {
      stream.localEnded = true;
      this.#queue(encodeFrame(DATA, END_STREAM, stream.id));
    }
    this.#closeStream(stream);
  }

  /**
   * localEnd: our END_STREAM is queued. A server's stream is then closed (one
   * the client is still sending on is stopped with RST_STREAM NO_ERROR); a
   * client's waits for the response's end.
   */
  #localEnd(stream: H2Stream): void {
    if (this.#client) {
      if (stream.remoteEnded) this.#closeStream(stream);
      return;
    }
    if (!stream.remoteEnded) this.#queueRst(stream.id, H2Error.NO_ERROR);
    this.#closeStream(stream);
  }

  #closeStream(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.pendingBody = undefined;
    stream.pendingTrailers = undefined;
    this.#connBlocked.delete(stream);
    this.#streamBlocked.delete(stream);
    if (!stream.responded && !this.#client) {
      stream.busyAfterClose = true;
      this.#busyAfterClose++;
    }
    this.#streams.delete(stream.id);
    stream.onClose?.();
    this.#closeIfIdle();
  }

  #streamError(id: number, code: number): void {
    const stream = this.#streams.get(id);
    if (stream) this.#resetStream(stream, code);
    else this.#queueRst(id, code);
  }

  #connectionError(code: number, err: Error): void {
    if (this.#dead) return;
    this.#options.onError?.(err);
    this.#queueGoaway(code);
    this.#endSocket();
    this.#closeAllStreams();
  }

  /**
   * #armKeepalive checks the connection in `ms`: silent for the interval, it
   * gets a PING; silent for the timeout after that PING, it is closed.
   */
  #armKeepalive(ms: number): void {
    this.#keepaliveTimer = setTimeout(() => this.#checkKeepalive(false), Math.min(Math.max(1, ms), MAX_TIMER_MS));
    this.#keepaliveTimer.unref();
  }

  /**
   * #checkKeepalive runs when the keepalive timer fires. A PING unanswered
   * for the timeout is judged once more after this turn's socket reads
   * (`afterReads`): timers run before them, and after a stalled loop the
   * answer may be waiting unread.
   */
  #checkKeepalive(afterReads: boolean): void {
    const k = this.#options.keepalive!;
    if (this.#dead) return;
    const now = performance.now();
    if (this.#keepalivePingAt !== undefined) {
      const waited = now - this.#keepalivePingAt;
      if (waited < k.timeoutMs) return this.#armKeepalive(k.timeoutMs - waited);
      if (!afterReads) {
        setImmediate(() => this.#checkKeepalive(true));
        return;
      }
      this.#options.onError?.(new Error(`HTTP/2: the ${this.#other} answered no keepalive PING within ${k.timeoutMs} ms; connection closed`));
      this.destroy();
      return;
    }
    const silent = now - this.#lastHeardAt;
    if (silent < k.intervalMs) return this.#armKeepalive(k.intervalMs - silent);
    this.#keepalivePingAt = now;
    this.#queue(encodeFrame(PING, 0, 0, KEEPALIVE_PING));
    this.#armKeepalive(k.timeoutMs);
  }

  #onSocketClosed(): void {
    clearTimeout(this.#prefaceTimer);
    clearTimeout(this.#keepaliveTimer);
    this.#dead = true;
    this.#out = [];
    this.#closeAllStreams();
  }

  #closeAllStreams(): void {
    for (const s of this.#streams.valuesNow()) this.#closeStream(s);
  }

  #closeIfIdle(): void {
    if (this.#goingAway && !this.#dead && this.#streams.size === 0) this.#endSocket();
  }

  /** endSocket writes what is queued, then ends the socket (destroyed once written); nothing more is read or written. */
  #endSocket(): void {
    this.#flush();
    this.#dead = true;
    this.socket.destroySoon();
  }

  // ---- writing ----

  /**
   * sendPending sends as much of a stream's DATA as the windows allow, then,
   * once end() was called, its trailers (END_STREAM); blocked DATA waits in the
   * set of the window it waits for.
   */
  #sendPending(stream: H2Stream): void {
    const wasBlocked = this.#connBlocked.has(stream) || this.#streamBlocked.has(stream);
    let body = stream.pendingBody;
    while (body !== undefined) {
      const n = Math.min(body.length, stream.sendWindow, this.#sendWindow, this.#peerMaxFrame);
      if (n <= 0) {
        stream.pendingBody = body;
        if (stream.sendWindow <= 0) {
          this.#connBlocked.delete(stream);
          this.#streamBlocked.add(stream);
        } else {
          this.#streamBlocked.delete(stream);
          this.#connBlocked.add(stream);
        }
        return;
      }
      this.#queue(encodeFrame(DATA, 0, stream.id, n === body.length ? body : body.subarray(0, n)));
      stream.sendWindow -= n;
      this.#sendWindow -= n;
      body = n === body.length ? undefined : body.subarray(n);
    }
    stream.pendingBody = undefined;
    this.#connBlocked.delete(stream);
    this.#streamBlocked.delete(stream);
    if (!stream.localEnded) {
      if (wasBlocked) stream.onDrain?.();
      return;
    }
    const trailers = stream.pendingTrailers;
    stream.pendingTrailers = undefined;
    if (trailers !== undefined && trailers.length > 0) {
      this.#queueHeaders(stream.id, trailers, true);
    } else {
      // no trailers: END_STREAM on an empty DATA frame
      this.#queue(encodeFrame(DATA, END_STREAM, stream.id));
    }
    this.#localEnd(stream);
  }

  /** queueHeaders writes a header block as HEADERS (+ CONTINUATION when it is over the peer's frame size). */
  #queueHeaders(id: number, block: Buffer, endStream: boolean): void {
    const max = this.#peerMaxFrame;
    let o = 0;
    do {
      const part = o === 0 && block.length <= max ? block : block.subarray(o, o + max);
      const last = o + max >= block.length;
      const type = o === 0 ? HEADERS : CONTINUATION;
      const flags = (last ? END_HEADERS : 0) | (o === 0 && endStream ? END_STREAM : 0);
      this.#queue(encodeFrame(type, flags, id, part));
      o += max;
    } while (o < block.length);
  }

  #queueRst(id: number, code: number): void {
    this.#queueWord(RST_STREAM, id, code);
  }

  #queueGoaway(code: number): void {
    const frame = Buffer.allocUnsafe(9 + 8);
    writeFrameHeader(frame, 8, GOAWAY, 0, 0);
    frame.writeUInt32BE(this.#lastStreamId, 9);
    frame.writeUInt32BE(code, 13);
    this.#queue(frame);
  }

  #sendWindowUpdate(id: number, increment: number): void {
    this.#queueWord(WINDOW_UPDATE, id, increment);
  }

  /** queueWord queues a frame whose payload is one 32-bit word (RST_STREAM, WINDOW_UPDATE). */
  #queueWord(type: number, id: number, word: number): void {
    const frame = Buffer.allocUnsafe(9 + 4);
    writeFrameHeader(frame, 4, type, 0, id);
    frame.writeUInt32BE(word, 9);
    this.#queue(frame);
  }

  #queue(frame: Buffer): void {
    if (this.#dead) return;
    this.#out.push(frame);
    this.#outBytes += frame.length;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(flushConnection, this);
    }
  }

  /** flush writes what was queued (called once per turn, and before the socket is ended). */
  flushNow(): void {
    this.#flush();
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#out.length === 0) return;
    const out = this.#out.length === 1 ? this.#out[0] : Buffer.concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    if (this.#dead || this.socket.destroyed || !this.socket.writable) return;
    const bound = this.#options.maxWriteBacklog ?? MAX_WRITE_BACKLOG;
    if (this.socket.writableLength > bound) {
      // a client that does not read what it asks for (PING or reset floods, a stalled reader): flow
      // control bounds DATA, not control frames, so the backlog itself is the bound
      this.#options.onError?.(new Error(`HTTP/2: the ${this.#other} left over ${bound} bytes unread; connection closed`));
      this.destroy();
      return;
    }
    if (this.socket.write(out)) this.#options.onWritable?.();
  }
}

const EMPTY = Buffer.alloc(0);
/** the opaque data of our keepalive PINGs (any 8 bytes do; the answer is not checked) */
const KEEPALIVE_PING = Buffer.alloc(8);

function flushConnection(conn: H2Connection): void {
  conn.flushNow();
}

/** writeFrameHeader fills the 9-byte frame header at `at` in `buf` (its start by default). */
function writeFrameHeader(buf: Buffer, length: number, type: number, flags: number, id: number, at = 0): void {
  buf[at] = length >>> 16;
  buf[at + 1] = (length >>> 8) & 0xff;
  buf[at + 2] = length & 0xff;
  buf[at + 3] = type;
  buf[at + 4] = flags;
  buf.writeUInt32BE(id, at + 5);
}

/** encodeFrame is one frame: the 9-byte header, then a copy of `payload`. */
function encodeFrame(type: number, flags: number, id: number, payload: Buffer = EMPTY): Buffer {
  const frame = Buffer.allocUnsafe(9 + payload.length);
  writeFrameAt(frame, 0, type, flags, id, payload);
  return frame;
}

/** writeFrameAt writes one frame (header, then a copy of `payload`) into `buf` at `at`; it returns where the frame ends. */
function writeFrameAt(buf: Buffer, at: number, type: number, flags: number, id: number, payload: Buffer): number {
  writeFrameHeader(buf, payload.length, type, flags, id, at);
  payload.copy(buf, at + 9);
  return at + 9 + payload.length;
}

/**
 * HeaderBag makes the objects headers are kept in: nothing inherited (its
 * prototype's prototype is null, so a field named "constructor" or
 * "__proto__" is just a field), yet an ordinary object with fast properties,
 * where Object.create(null) makes a dictionary-mode object: ~900 bytes per
 * request on a busy leader (docs/benchmarks.md, item 29).
 */
const HeaderBag = function HeaderBag() {} as unknown as new () => RequestHeaders;
HeaderBag.prototype = Object.create(null);

/** headerMap turns decoded fields into headers by name; a repeated name gives an array. */
function headerMap(fields: HeaderField[]): RequestHeaders {
  const headers = new HeaderBag();
  for (const [name, value] of fields) {
    const prior = headers[name];
    if (prior === undefined) headers[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else headers[name] = [prior, value];
  }
  return headers;
}

/** unpad strips a PADDED frame's pad length byte and padding; undefined if the padding does not fit. */
function unpad(payload: Buffer, flags: number): Buffer | undefined {
  if ((flags & PADDED) === 0) return payload;
  if (payload.length < 1) return undefined;
  const pad = payload[0];
  if (pad >= payload.length) return undefined;
  return payload.subarray(1, payload.length - pad);
}
