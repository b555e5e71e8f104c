// Who a TLS peer's certificate says it is, in the two senses the replica
// checks: an admin identity (subject CN, URI SAN or DNS SAN equal to one of
// --admin-allowed-identities) and a member identity (a SAN naming the host
// of one of the member's peer URLs, or a URI SAN equal to the peer URL).
// Works on the certificate object Node's TLS hands out after it verified the
// chain. It must never match wildcards or partial names: a certificate
// identifies exactly the names it lists.
import type { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { bareHost } from '../../grpc/host.ts';

/** CertIdentity is the parsed identity of one certificate. */
export interface CertIdentity {
  commonNames: string[];
  dnsNames: string[];
  /** canonical spelling (see canonicalHost) */
  ipAddresses: string[];
  uris: string[];
  /** extended key usage OIDs; undefined when the certificate has no such extension (any usage) */
  extKeyUsage?: string[];
  fingerprint: string;
}

export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** CertLike is the part of tls.PeerCertificate we read (tests build it by hand). */
export type CertLike = Pick<PeerCertificate, 'subject' | 'subjectaltname' | 'fingerprint256'> & { ext_key_usage?: string[] };

/**
 * splitAltNames splits Node's subjectaltname text ("DNS:a, IP Address:1.2.3.4,
 * URI:x") into entries. Node writes a value containing a separator or quote
 * as a JSON string ("DNS:\"a,b\""), so quoted runs are decoded, not split.
 */
export function splitAltNames(text: string): string[] {
  const out: string[] = [];
  let token = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
      if (!m) throw new Error('malformed subjectaltname: unterminated quoted value');
      token += JSON.parse(m[0]) as string;
      i += m[0].length;
    } else if (c === ',') {
      out.push(token);
      token = '';
      i += text[i + 1] === ' ' ? 2 : 1;
    } else {
      token += c;
      i++;
    }
  }
  if (token !== '' || out.length > 0) out.push(token);
  return out;
}

/** canonicalHost lower-cases a DNS name and writes IP literals one way (IPv6 compressed, no brackets). */
export function canonicalHost(host: string): string {
  const h = bareHost(host.trim().toLowerCase());
  if (h.includes(':')) {
    try {
      return bareHost(new URL(`http://[${h}]/`).hostname);
    } catch {
      return h;
    }
  }
  return h.replace(/\.$/, '');
}

/** identityOf parses a certificate's names; a malformed SAN text yields no SANs (so nothing matches). */
export function identityOf(cert: CertLike): CertIdentity {
  const cn = cert.subject?.CN as string | string[] | undefined;
  const id: CertIdentity = {
    commonNames: cn === undefined ? [] : Array.isArray(cn) ? cn : [cn],
    dnsNames: [],
    ipAddresses: [],
    uris: [],
    extKeyUsage: cert.ext_key_usage,
    fingerprint: cert.fingerprint256 ?? '',
  };
  let entries: string[] = [];
  try {
    entries = splitAltNames(cert.subjectaltname ?? '');
  } catch {
    entries = [];
  }
  for (const e of entries) {
    const colon = e.indexOf(':');
    if (colon < 0) continue;
    const kind = e.slice(0, colon);
    const value = e.slice(colon + 1);
    if (kind === 'DNS') id.dnsNames.push(value.toLowerCase().replace(/\.$/, ''));
    else if (kind === 'IP Address') id.ipAddresses.push(canonicalHost(value));
    else if (kind === 'URI') id.uris.push(value);
  }
  return id;
}

/** identityOfX509 reads the same identity from a parsed certificate (this member's own files). */
export function identityOfX509(x: X509Certificate): CertIdentity {
  const cns = x.subject
    .split('\n')
    .filter((l) => l.startsWith('CN='))
    .map((l) => l.slice(3));
  const eku = x.keyUsage as string[] | undefined;
  return identityOf({
    subject: { CN: cns.length > 1 ? cns : cns[0] } as unknown as PeerCertificate['subject'],
    subjectaltname: x.subjectAltName ?? '',
    fingerprint256: x.fingerprint256,
    ext_key_usage: eku && eku.length ? eku : undefined,
  });
}

/** namesHost is true when the certificate lists `host` exactly (DNS or IP SAN; never a wildcard, never the CN). */
export function namesHost(id: CertIdentity, host: string): boolean {
  const h = canonicalHost(host);
  return id.dnsNames.includes(h) || id.ipAddresses.includes(h);
}

/** peerUrlKey is the form of a peer URL compared with URI SANs: scheme://host:port, lower-case host. */
export function peerUrlKey(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host.toLowerCase()}`;
  } catch {
    return undefined;
  }
}

/** identifiesPeerUrls is true when the certificate names one of `peerURLs`: its host as a SAN, or the URL itself as a URI SAN. */
export function identifiesPeerUrls(id: CertIdentity, peerURLs: readonly string[]): boolean {
  for (const url of peerURLs) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      continue;
    }
    if (namesHost(id, u.hostname)) return true;
    const key = peerUrlKey(url);
    if (key !== undefined && id.uris.some((s) => peerUrlKey(s) === key)) return true;
  }
  return false;
}

/** adminIdentity returns the first allowed identity the certificate carries (CN, URI SAN or DNS SAN), if any. */
export function adminIdentity(id: CertIdentity, allowed: readonly string[]): string | undefined {
  for (const a of allowed) {
    if (id.commonNames.includes(a) || id.uris.includes(a) || id.dnsNames.includes(a.toLowerCase())) return a;
  }
  return undefined;
}

/** allowsUsage: a certificate without an extendedKeyUsage extension may be used for anything. */
export function allowsUsage(id: CertIdentity, eku: string): boolean {
  return id.extKeyUsage === undefined || id.extKeyUsage.includes(eku);
}

/** describe renders the names of a certificate for error messages. */
export function describe(id: CertIdentity): string {
  const parts = [
    ...id.commonNames.map((c) => `CN=${c}`),
    ...id.dnsNames.map((d) => `DNS:${d}`),
    ...id.ipAddresses.map((i) => `IP:${i}`),
    ...id.uris.map((u) => `URI:${u}`),
  ];
  return parts.length ? parts.join(', ') : '(no names)';
}
