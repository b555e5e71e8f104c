// One unary call as its handler and the server's hooks see it: the part of
// grpc-js's ServerUnaryCall our handlers use (request, metadata, getPeer,
// getAuthContext, getPath, getDeadline, cancelled, sendMetadata). It must
// never report a client certificate the TLS handshake did not verify, and
// never build what no one asks for (metadata and peer are made on first use).
import type { Socket } from 'node:net';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { RequestHeaders } from './h2/connection.ts';

/** AuthContext is what grpc-js's getAuthContext returns: the verified client certificate, on TLS. */
export interface AuthContext {
  transportSecurityType?: string;
  sslPeerCertificate?: PeerCertificate;
}

/** UnaryCall is the call object handed to a unary handler (in place of grpc-js's ServerUnaryCall). */
export class UnaryCall {
  /** request is the decoded request message (set before the handler runs). */
  request: unknown = undefined;
  /** cancelled turns true when the client reset the stream or the connection closed before the answer went out. */
  cancelled = false;
  /** responseMetadata holds what the handler passed to sendMetadata, sent with the response headers. */
  responseMetadata: grpc.Metadata | undefined;
  readonly #socket: Socket;
  readonly #headers: RequestHeaders;
  readonly #path: string;
  readonly #deadline: number;
  #metadata: grpc.Metadata | undefined;

  constructor(socket: Socket, headers: RequestHeaders, path: string, deadline: number) {
    this.#socket = socket;
    this.#headers = headers;
    this.#path = path;
    this.#deadline = deadline;
  }

  /** metadata is the request's custom headers as grpc-js Metadata. */
  get metadata(): grpc.Metadata {
    this.#metadata ??= grpc.Metadata.fromHttp2Headers(this.#headers as Parameters<typeof grpc.Metadata.fromHttp2Headers>[0]);
    return this.#metadata;
  }

  /** getPath is the method's path, e.g. "/etcdserverpb.KV/Put". */
  getPath(): string {
    return this.#path;
  }

  /** getHost is the :authority the client addressed. */
  getHost(): string {
    return String(this.#headers[':authority'] ?? '');
  }

  /** getDeadline is the client's deadline (epoch ms) from grpc-timeout, or Infinity. */
  getDeadline(): number {
    return this.#deadline;
  }

  /** getPeer is the client's address as "ip:port" (IPv6 in brackets), as grpc-js formats it. */
  getPeer(): string {
    const socket = this.#socket;
    const ip = socket.remoteAddress;
    if (!ip) return 'unknown';
    return ip.includes(':') ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
  }

  /** getAuthContext carries the client certificate only when the TLS handshake verified it. */
  getAuthContext(): AuthContext {
    const socket = this.#socket;
    if (!(socket instanceof TLSSocket) || !socket.authorized) return {};
    const cert = socket.getPeerCertificate();
    return { transportSecurityType: 'ssl', sslPeerCertificate: cert.raw ? cert : undefined };
  }

  /** sendMetadata adds headers to the response (before it is sent). */
  sendMetadata(metadata: grpc.Metadata): void {
    if (this.responseMetadata) this.responseMetadata.merge(metadata);
    else this.responseMetadata = metadata.clone();
  }
}
