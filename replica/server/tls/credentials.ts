// TLS settings over TlsFiles: the secure-context options the client and peer
// ports' TLS listeners reload from the files (new connections get the new
// certificates; established ones stay up), with client certificates not asked
// for, requested, or required; and grpc-js channel credentials for dialing
// peers that present this member's peer certificate and check the server's
// certificate names the member we meant.
// It must never fall back to plaintext or skip chain verification.
import net from 'node:net';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { TlsFiles, TlsMaterial } from './tls-files.ts';
import { bareHost } from '../../grpc/host.ts';

/**
 * ClientCertMode: 'none' never asks for a client certificate; 'request' asks
 * and verifies one if sent (the handler sees it only when it verified),
 * letting callers without one in; 'require' refuses the handshake without a
 * valid one.
 */
export type ClientCertMode = 'none' | 'request' | 'require';

/** serverContextOptions are the secure-context options a server serving `m` in `mode` needs (the CA only when it asks for client certificates). */
export function serverContextOptions(m: TlsMaterial, mode: ClientCertMode): { cert: Buffer; key: Buffer; ca?: Buffer } {
  return { cert: m.cert, key: m.key, ...(mode !== 'none' && m.ca ? { ca: m.ca } : {}) };
}

/**
 * ServerCheck inspects the server certificate of an outgoing connection after
 * its chain verified; it returns an error message to refuse it.
 */
export type ServerCheck = (cert: PeerCertificate) => string | undefined;

/**
 * channelCredentials dials with this member's certificate from `files`,
 * verifying the server's chain against the trusted CA and its identity with
 * `check`. Reconnects pick up reloaded files.
 */
export function channelCredentials(files: TlsFiles, check: ServerCheck): grpc.ChannelCredentials {
  return grpc.experimental.createCertificateProviderChannelCredentials(files, files, {
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const reason = check(cert);
      return reason === undefined ? undefined : new Error(reason);
    },
  });
}

/**
 * tlsChannelOptions are extra channel options for a TLS dial to `host`: an IP
 * literal is not a valid TLS server name (RFC 6066), so a placeholder name is
 * sent instead; identity is checked by ServerCheck, not by the name.
 */
export function tlsChannelOptions(host: string): grpc.ChannelOptions {
  const h = bareHost(host);
  return net.isIP(h) ? { 'grpc.ssl_target_name_override': 'replicant.invalid' } : {};
}
