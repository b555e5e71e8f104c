// Test tooling: the certificates of a TLS replica group, made with
// operator/pki — one group CA, per member a server certificate (client port)
// and a peer certificate (peer port) naming the member's loopback address, a
// client certificate for the operator (CN replicant-operator) and any other
// client certificates a test asks for. Files are written atomically (temp
// file + rename) so a running member never reads half a certificate.
// Must never write outside the cluster's temp dir.
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, issueCertificate, type CertificateBundle, type Profile } from '../../operator/pki/index.ts';

export interface TlsOptions {
  /** serve the client port over TLS (default true) */
  client?: boolean;
  /** mutual TLS on the peer port (default true) */
  peer?: boolean;
  /** --client-cert-auth (default false) */
  clientCertAuth?: boolean;
  /** extra --admin-allowed-identities (default: the replica's default, replicant-operator) */
  adminIdentities?: string[];
}

export interface MemberTlsFiles {
  serverCert: string;
  serverKey: string;
  peerCert: string;
  peerKey: string;
}

/** writeAtomic replaces `file` in one rename. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** writeTlsSet writes a leaf certificate, its key and the CA that signed it into `dir` as tls.crt, tls.key and ca.crt. */
export function writeTlsSet(dir: string, leaf: CertificateBundle, ca: { certificatePem: string }): { certFile: string; keyFile: string; caFile: string } {
  const files = { certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key'), caFile: path.join(dir, 'ca.crt') };
  writeAtomic(files.certFile, leaf.certificatePem);
  writeAtomic(files.keyFile, leaf.privateKeyPem);
  writeAtomic(files.caFile, ca.certificatePem);
  return files;
}

export class ClusterTls {
  readonly dir: string;
  readonly options: Required<Omit<TlsOptions, 'adminIdentities'>> & { adminIdentities?: string[] };
  /** the CA members trust (both ports); a rotation may replace it */
  ca: CertificateBundle;
  /** the CA file members are started with (may hold several CAs during a CA rotation) */
  readonly caFile: string;
  operator: CertificateBundle;

  constructor(dir: string, options: TlsOptions = {}) {
    this.dir = dir;
    this.options = { client: options.client ?? true, peer: options.peer ?? true, clientCertAuth: options.clientCertAuth ?? false, adminIdentities: options.adminIdentities };
    fs.mkdirSync(dir, { recursive: true });
    this.ca = createCertificateAuthority({ commonName: 'replicant test group CA', organization: 'replicant' });
    this.caFile = path.join(dir, 'ca.pem');
    writeAtomic(this.caFile, this.ca.certificatePem);
    this.operator = this.issue('client', 'replicant-operator');
  }

  /** issue makes a certificate signed by the current group CA. */
  issue(profile: Profile, commonName: string, sans: { ipAddresses?: string[]; dnsNames?: string[]; uris?: string[] } = {}, ca = this.ca): CertificateBundle {
    return issueCertificate(ca, { profile, commonName, ...sans });
  }

  /** writeMember issues (or re-issues) a member's server and peer certificates for `ip` and writes them. */
  writeMember(name: string, ip: string, ca = this.ca): MemberTlsFiles {
    const d = path.join(this.dir, name);
    fs.mkdirSync(d, { recursive: true });
    const files = this.memberFiles(name);
    const server = this.issue('server', name, { ipAddresses: [ip] }, ca);
    const peer = this.issue('peer', name, { ipAddresses: [ip] }, ca);
    // Key first, then certificate: a reader in between sees a mismatch and keeps the old pair.
    writeAtomic(files.serverKey, server.privateKeyPem);
    writeAtomic(files.serverCert, server.certificatePem);
    writeAtomic(files.peerKey, peer.privateKeyPem);
    writeAtomic(files.peerCert, peer.certificatePem);
    return files;
  }

  memberFiles(name: string): MemberTlsFiles {
    const d = path.join(this.dir, name);
    return {
      serverCert: path.join(d, 'server.pem'),
      serverKey: path.join(d, 'server-key.pem'),
      peerCert: path.join(d, 'peer.pem'),
      peerKey: path.join(d, 'peer-key.pem'),
    };
  }

  /** flags are the TLS flags of member `name`. */
  flags(name: string): string[] {
    const f = this.memberFiles(name);
    const out: string[] = [];
    if (this.options.client) out.push('--cert-file', f.serverCert, '--key-file', f.serverKey, '--trusted-ca-file', this.caFile);
    if (this.options.client && this.options.clientCertAuth) out.push('--client-cert-auth');
    if (this.options.peer) out.push('--peer-cert-file', f.peerCert, '--peer-key-file', f.peerKey, '--peer-trusted-ca-file', this.caFile, '--peer-client-cert-auth');
    if (this.options.adminIdentities) out.push('--admin-allowed-identities', this.options.adminIdentities.join(','));
    return out;
  }

  /**
   * dial gives gRPC client credentials presenting the operator's certificate,
   * another one, or none, and checking the server's chain against the CA file
   * and its certificate against `ip` (the member's address). The TLS server
   * name sent is a placeholder, since an IP address is not a valid one.
   */
  dial(ip: string, who: 'operator' | 'anonymous' | CertificateBundle = 'operator', caPem = fs.readFileSync(this.caFile, 'utf8')): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
    const ca = Buffer.from(caPem);
    const verify = { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(ip, cert) };
    const options = { 'grpc.ssl_target_name_override': 'replicant.invalid' };
    if (who === 'anonymous') return { credentials: grpc.credentials.createSsl(ca, null, null, verify), options };
    const c = who === 'operator' ? this.operator : who;
    return { credentials: grpc.credentials.createSsl(ca, Buffer.from(c.privateKeyPem), Buffer.from(c.certificatePem), verify), options };
  }

  /** writeClient writes a client certificate and key to files (for etcdctl) and returns their paths. */
  writeClient(name: string, c: CertificateBundle): { cert: string; key: string } {
    const cert = path.join(this.dir, `${name}.pem`);
    const key = path.join(this.dir, `${name}-key.pem`);
    writeAtomic(key, c.privateKeyPem);
    writeAtomic(cert, c.certificatePem);
    return { cert, key };
  }
}
