// Subject names and subject alternative names: validation of what the caller
// asks for (DNS names, IP addresses, URIs) and their DER forms. Shared by
// issuing and parsing so both agree on one spelling of every name.
// It must never accept a name it would encode differently from how it reads it
// back (so a rotation check never loops on a name that cannot round-trip).
import net from 'node:net';
import { DerError, implicitPrimitive, oid, sequence, set, utf8String } from './der.ts';
import { OID } from './oids.ts';

/** DistinguishedName holds the attributes we issue; parsing also reports every attribute it saw. */
export interface DistinguishedName {
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
}

/** SubjectAltNames are the identities a certificate is valid for. */
export interface SubjectAltNames {
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
}

/** encodeName builds a Name: one RDN per attribute, O, OU, CN in that order. */
export function encodeName(n: DistinguishedName): Buffer {
  const rdns: Buffer[] = [];
  const add = (type: string, value: string | undefined) => {
    if (value === undefined) return;
    if (value.length === 0 || value.length > 64) throw new DerError(`name attribute ${type} must be 1 to 64 characters, got ${value.length}`);
    rdns.push(set(sequence(oid(type), utf8String(value))));
  };
  add(OID.organization, n.organization);
  add(OID.organizationalUnit, n.organizationalUnit);
  add(OID.commonName, n.commonName);
  return sequence(...rdns);
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** normalizeDnsName lower-cases and checks a DNS name (an optional leading "*." wildcard label is allowed). */
export function normalizeDnsName(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.length === 0 || n.length > 253) throw new DerError(`DNS name ${JSON.stringify(name)} must be 1 to 253 characters`);
  const labels = n.split('.');
  labels.forEach((l, i) => {
    if (i === 0 && l === '*' && labels.length > 1) return;
    if (!LABEL.test(l)) throw new DerError(`DNS name ${JSON.stringify(name)}: label ${JSON.stringify(l)} is not a valid host name label`);
  });
  return n;
}

/** ipBytes returns the 4 or 16 octets of an IP address literal. */
export function ipBytes(ip: string): Buffer {
  const v = net.isIP(ip);
  if (v === 4) return Buffer.from(ip.split('.').map(Number));
  if (v === 6) {
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const parse = (s: string) => (s === '' ? [] : s.split(':'));
    let groups = parse(head);
    let tailGroups = tail === undefined ? [] : parse(tail);
    const expandV4 = (gs: string[]) => {
      const last = gs[gs.length - 1];
      if (last !== undefined && last.includes('.')) {
        const b = last.split('.').map(Number);
        return [...gs.slice(0, -1), ((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16)];
      }
      return gs;
    };
    if (tail === undefined) groups = expandV4(groups);
    else tailGroups = expandV4(tailGroups);
    const fill = tail === undefined ? [] : Array(8 - groups.length - tailGroups.length).fill('0');
    const all = [...groups, ...fill, ...tailGroups];
    if (all.length !== 8) throw new DerError(`invalid IPv6 address ${JSON.stringify(ip)}`);
    const out = Buffer.alloc(16);
    all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
    return out;
  }
  throw new DerError(`${JSON.stringify(ip)} is not an IP address`);
}

/** ipString renders SAN octets as an address: dotted IPv4, compressed lower-case IPv6. */
export function ipString(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
    // The URL parser applies the RFC 5952 compression rules for us.
    return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
  }
  throw new DerError(`an IP address SAN must be 4 or 16 octets, got ${b.length}`);
}

/** normalizeIp returns the canonical spelling of an IP literal (the one parsing reports). */
export function normalizeIp(ip: string): string {
  return ipString(ipBytes(ip));
}

/** normalizeUri checks a URI SAN: ASCII, with a scheme, no spaces. */
export function normalizeUri(uri: string): string {
  if (!/^[\x21-\x7e]+$/.test(uri)) throw new DerError(`URI ${JSON.stringify(uri)} must be printable ASCII without spaces`);
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri)) throw new DerError(`URI ${JSON.stringify(uri)} must start with a scheme such as https: or spiffe:`);
  return uri;
}

/** encodeSubjectAltNames builds the GeneralNames value of the subjectAltName extension. */
export function encodeSubjectAltNames(s: SubjectAltNames): Buffer {
  const names: Buffer[] = [];
  for (const d of s.dnsNames ?? []) names.push(implicitPrimitive(2, Buffer.from(normalizeDnsName(d), 'latin1')));
  for (const ip of s.ipAddresses ?? []) names.push(implicitPrimitive(7, ipBytes(ip)));
  for (const u of s.uris ?? []) names.push(implicitPrimitive(6, Buffer.from(normalizeUri(u), 'latin1')));
  return sequence(...names);
}

/** normalizeSubjectAltNames returns the names as parsing will report them, duplicates removed. */
export function normalizeSubjectAltNames(s: SubjectAltNames): Required<SubjectAltNames> {
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    dnsNames: uniq((s.dnsNames ?? []).map(normalizeDnsName)),
    ipAddresses: uniq((s.ipAddresses ?? []).map(normalizeIp)),
    uris: uniq((s.uris ?? []).map(normalizeUri)),
  };
}
