// How this member reaches other members' peer ports for its own calls (raft
// links, snapshot uploads, checkpoint collection, relaying admin and Cluster
// calls to the leader, and finding itself when joining): the address to dial
// (after test-only dial overrides) and the channel credentials. With peer TLS
// it presents this member's peer certificate and accepts a server only if its
// certificate names the member (or peer URL) it meant to reach.
// It must never dial a TLS group in plaintext or accept a server certificate
// that names another member.
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../raft/index.ts';
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
    const tls = this.#o.tls;
    if (!tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
    const check = (cert: Parameters<typeof identityOf>[0]): string | undefined => {
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
    };
    return { credentials: channelCredentials(tls, check), options: host ? tlsChannelOptions(host) : {} };
  }

  /** dial is target + credentials for a call to `peerUrl` that must reach `expect`. */
  dial(peerUrl: string, expect: Expect = { peerUrl }): Dial {
    const target = this.target(peerUrl);
    const host = target.slice(0, target.lastIndexOf(':'));
    return { target, ...this.credentials(expect, host) };
  }
}
