// How this member reaches other members' peer ports for its own calls (raft
// links, snapshot uploads, checkpoint collection, relaying admin and Cluster
// calls to the leader, and finding itself when joining): the address to dial
// (after test-only dial overrides) and the channel credentials. With peer TLS
// it presents this member's peer certificate and accepts a server only if its
// certificate names the member (or peer URL) it meant to reach.
// It must never dial a TLS group in plaintext or accept a server certificate
// that names another member.
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../raft/index.ts';
import { bareHost } from '../grpc/host.ts';
import { EKU_SERVER_AUTH, allowsUsage, channelCredentials, describe, identifiesPeerUrls, identityOf, tlsChannelOptions, type MemberDirectory, type TlsFiles } from './tls/index.ts';

export interface Dial {
  /** host:port to connect to */
  target: string;
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
}

/** Expect names who must answer: a member (checked against its current peer URLs) or a peer URL. */
export type Expect = { memberId: NodeId; peerUrl?: string } | { peerUrl: string };

export interface PeerDialerOptions {
  /** peer TLS files; absent: plaintext */
  tls?: TlsFiles;
  /** test-only dial overrides (peer URL → URL to dial instead) */
  overrides: Map<string, string>;
  members: () => MemberDirectory;
}

export class PeerDialer {
  readonly #o: PeerDialerOptions;

  constructor(o: PeerDialerOptions) {
    this.#o = o;
  }

  get secure(): boolean {
    return this.#o.tls !== undefined;
  }

  /** target is the host:port to connect to for `peerUrl`. */
  target(peerUrl: string): string {
    return new URL(this.#o.overrides.get(peerUrl) ?? peerUrl).host;
  }

  /** credentials for a connection that must reach `expect`; plaintext without peer TLS. */
  credentials(expect: Expect, host?: string): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
    const files = this.#o.tls;
    if (!files) return { credentials: grpc.credentials.createInsecure(), options: {} };
    return { credentials: channelCredentials(files, (cert) => this.#check(expect, cert)), options: host ? tlsChannelOptions(host) : {} };
  }

  /**
   * tlsOptions are the TLS settings of a connection to `host` that must reach
   * `expect` (for our own peer links and uploads): this member's current peer
   * certificate, the trusted CA, and the identity check; undefined without
   * peer TLS.
   */
  tlsOptions(expect: Expect, host: string): tls.ConnectionOptions | undefined {
    const files = this.#o.tls;
    if (!files) return undefined;
    const m = files.material;
    const h = bareHost(host);
    return {
      ca: m.ca,
      cert: m.cert,
      key: m.key,
      minVersion: 'TLSv1.2',
      // an IP literal is not a valid TLS server name (RFC 6066); identity is checked by #check, not by the name
      ...(net.isIP(h) ? {} : { servername: h }),
      checkServerIdentity: (_h, cert) => {
        const reason = this.#check(expect, cert);
        return reason === undefined ? undefined : new Error(reason);
      },
    };
  }

  /** #check accepts a server certificate that names `expect`; returns the reason otherwise. */
  #check(expect: Expect, cert: Parameters<typeof identityOf>[0]): string | undefined {
    const id = identityOf(cert);
    if (!allowsUsage(id, EKU_SERVER_AUTH)) return `peer server certificate (${describe(id)}) is not for TLS servers (its extended key usage lacks serverAuth)`;
    let urls: string[];
    let who: string;
    if ('memberId' in expect) {
      const m = this.#o.members().get(expect.memberId);
      urls = m?.peerURLs.length ? m.peerURLs : expect.peerUrl ? [expect.peerUrl] : [];
      who = `member ${expect.memberId.toString(16)}`;
    } else {
      urls = [expect.peerUrl];
      who = expect.peerUrl;
    }
    if (identifiesPeerUrls(id, urls)) return undefined;
    return `peer server certificate (${describe(id)}) does not name ${who} (peer URLs ${urls.join(', ') || 'unknown'})`;
  }

  /**
   * explain makes one plain TLS handshake with the peer at `target`
   * (host:port) using this member's current peer certificate, and reports how
   * it fails: gRPC only says "failed to connect", which tells an operator
   * nothing about an unknown CA, an expired or refused certificate, or a
   * certificate naming the wrong member. Undefined when the handshake works
   * or the port cannot be reached at all.
   */
  explain(expect: Expect, target: string, timeoutMs = 3000): Promise<string | undefined> {
    const files = this.#o.tls;
    if (!files) return Promise.resolve(undefined);
    const colon = target.lastIndexOf(':');
    const host = bareHost(target.slice(0, colon));
    const port = Number(target.slice(colon + 1));
    return new Promise((resolve) => {
      let done = false;
      const finish = (why: string | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(why);
      };
      const socket = tls.connect({ ...this.tlsOptions(expect, host), host, port, ALPNProtocols: ['h2'] });
      const prefix = `TLS handshake with peer ${target}`;
      let connected = false;
      socket.on('connect', () => (connected = true));
      socket.on('error', (e: NodeJS.ErrnoException) => {
        // Not reaching the port at all is a network matter, not TLS: nothing to add to gRPC's own message.
        if (!connected) return finish(undefined);
        const hint = /unknown ca|certificate required|bad certificate|certificate unknown/i.test(e.message)
          ? ' (the peer does not accept this member\'s --peer-cert-file: is it signed by the peer\'s --peer-trusted-ca-file?)'
          : /self.signed|unable to (get|verify)/i.test(e.message)
            ? ' (the peer\'s certificate is not signed by this member\'s --peer-trusted-ca-file)'
            : '';
        finish(`${prefix} failed: ${e.message}${hint}`);
      });
      // TLS 1.3 clients finish first; a server that refuses our certificate says so right after (an alert, or it hangs up).
      socket.on('secureConnect', () => setTimeout(() => finish(undefined), 500));
      socket.on('data', () => undefined);
      socket.on('end', () => finish(`${prefix} failed: the peer hung up right after it, so it most likely refused this member's certificate (is --peer-cert-file signed by a CA in the peer's --peer-trusted-ca-file, and does it name this member's peer URL host?)`));
      const timer = setTimeout(() => finish(connected ? `${prefix}: no answer within ${timeoutMs} ms` : undefined), timeoutMs);
    });
  }

  /** dial is target + credentials for a call to `peerUrl` that must reach `expect`. */
  dial(peerUrl: string, expect: Expect = { peerUrl }): Dial {
    const target = this.target(peerUrl);
    const host = target.slice(0, target.lastIndexOf(':'));
    return { target, ...this.credentials(expect, host) };
  }
}
