// Reads an X.509 certificate (DER or PEM) into the facts the operator decides
// on: who it names (subject, SANs), who issued it, when it expires, what it
// may be used for. Certificates may come from users (a CA in a Secret), so
// every field is bounds-checked and any malformation is one CertificateError.
// It must never trust a certificate it parsed: verifying signatures is
// verifyIssuedBy's job, and parsing says nothing about validity.
import { X509Certificate, type KeyObject } from 'node:crypto';
import {
  DerError,
  TAG,
  children,
  contextTag,
  expectTag,
  readBitString,
  readBoolean,
  readInteger,
  readNamedBits,
  readOid,
  readSingle,
  readString,
  readTime,
  type Element,
} from './der.ts';
import { ipString, type DistinguishedName } from './names.ts';
import { EKU_OIDS, KEY_USAGE_BITS, OID, type KeyUsage } from './oids.ts';
import { decodePem } from './pem.ts';

/** CertificateError is a certificate that cannot be read. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

export interface NameAttribute {
  oid: string;
  value: string;
}

export interface ParsedName extends DistinguishedName {
  /** every attribute, in order (a name may repeat attributes) */
  attributes: NameAttribute[];
}

/** CertificateInfo is what a certificate says about itself. */
export interface CertificateInfo extends CertificateExtensions {
  /** the serial number in lower-case hex */
  serialNumber: string;
  subject: ParsedName;
  issuer: ParsedName;
  notBefore: Date;
  notAfter: Date;
  signatureAlgorithm: string;
  publicKeyAlgorithm: string;
  /** the DER of the whole certificate */
  der: Buffer;
}

function parseName(e: Element, what: string): ParsedName {
  expectTag(e, TAG.SEQUENCE, what);
  const out: ParsedName = { attributes: [] };
  for (const rdn of children(e, what)) {
    expectTag(rdn, TAG.SET, `${what} RDN`);
    for (const atv of children(rdn, `${what} RDN`)) {
      expectTag(atv, TAG.SEQUENCE, `${what} attribute`);
      const [type, value, ...rest] = children(atv, `${what} attribute`);
      if (rest.length) throw new DerError(`${what} attribute: unexpected extra fields`);
      const o = readOid(expectTag(type, TAG.OID, `${what} attribute type`));
      const v = readString(expectTag(value, value?.tag ?? -1, `${what} attribute value`), `${what} attribute value`);
      out.attributes.push({ oid: o, value: v });
      if (o === OID.commonName) out.commonName ??= v;
      else if (o === OID.organization) out.organization ??= v;
      else if (o === OID.organizationalUnit) out.organizationalUnit ??= v;
    }
  }
  return out;
}

function parseAlgorithm(e: Element | undefined, what: string): string {
  const [o] = children(expectTag(e, TAG.SEQUENCE, what), what);
  return readOid(expectTag(o, TAG.OID, `${what} OID`));
}

/** CertificateExtensions is what the v3 extensions say (absent ones give the empty defaults). */
export interface CertificateExtensions {
  isCA: boolean;
  /** basicConstraints pathLenConstraint, when present */
  pathLength?: number;
  keyUsage: KeyUsage[];
  /** 'serverAuth', 'clientAuth', or the OID of any other usage; empty when the extension is absent */
  extendedKeyUsage: string[];
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  subjectKeyId?: string;
  authorityKeyId?: string;
}

const KEY_USAGE_NAMES = Object.fromEntries(Object.entries(KEY_USAGE_BITS).map(([k, v]) => [v, k as KeyUsage])) as Record<number, KeyUsage>;
const EKU_NAMES = Object.fromEntries(Object.entries(EKU_OIDS).map(([k, v]) => [v, k])) as Record<string, string>;

function parseExtensions(e: Element): CertificateExtensions {
  const out: CertificateExtensions = { isCA: false, keyUsage: [], extendedKeyUsage: [], dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] };
  const seen = new Set<string>();
  const [list, ...rest] = children(e, 'extensions');
  if (rest.length) throw new DerError('extensions: unexpected extra fields');
  for (const ext of children(expectTag(list, TAG.SEQUENCE, 'extensions'), 'extensions')) {
    const fields = children(expectTag(ext, TAG.SEQUENCE, 'extension'), 'extension');
    const id = readOid(expectTag(fields[0], TAG.OID, 'extension id'));
    if (seen.has(id)) throw new DerError(`extension ${id} appears twice`);
    seen.add(id);
    let i = 1;
    if (fields[i]?.tag === TAG.BOOLEAN) readBoolean(fields[i++], 'extension critical');
    const value = expectTag(fields[i], TAG.OCTET_STRING, `extension ${id} value`).value;
    if (fields.length > i + 1) throw new DerError(`extension ${id}: unexpected extra fields`);
    switch (id) {
      case OID.basicConstraints: {
        const bc = children(readSingle(value, TAG.SEQUENCE, 'basicConstraints'), 'basicConstraints');
        let j = 0;
        if (bc[j]?.tag === TAG.BOOLEAN) out.isCA = readBoolean(bc[j++], 'basicConstraints cA');
        if (bc[j]?.tag === TAG.INTEGER) {
          const n = readInteger(bc[j++], 'basicConstraints pathLen');
          if (n > 255n) throw new DerError('basicConstraints pathLen is unreasonably large');
          out.pathLength = Number(n);
        }
        if (j !== bc.length) throw new DerError('basicConstraints: unexpected fields');
        break;
      }
      case OID.keyUsage:
        out.keyUsage = readNamedBits(readSingle(value, TAG.BIT_STRING, 'keyUsage'), 'keyUsage').map((b) => KEY_USAGE_NAMES[b]).filter((x) => x !== undefined);
        break;
      case OID.extKeyUsage:
        out.extendedKeyUsage = children(readSingle(value, TAG.SEQUENCE, 'extKeyUsage'), 'extKeyUsage').map((o) => {
          const s = readOid(o, 'extKeyUsage purpose');
          return EKU_NAMES[s] ?? s;
        });
        break;
      case OID.subjectAltName:
        for (const gn of children(readSingle(value, TAG.SEQUENCE, 'subjectAltName'), 'subjectAltName')) {
          if (gn.tag === contextTag(2, false)) out.dnsNames.push(gn.value.toString('latin1'));
          else if (gn.tag === contextTag(7, false)) out.ipAddresses.push(ipString(gn.value));
          else if (gn.tag === contextTag(6, false)) out.uris.push(gn.value.toString('latin1'));
          else if (gn.tag === contextTag(1, false)) out.emailAddresses.push(gn.value.toString('latin1'));
          // other GeneralName forms (directoryName, otherName, ...) are not identities we use
        }
        break;
      case OID.subjectKeyIdentifier:
        out.subjectKeyId = readSingle(value, TAG.OCTET_STRING, 'subjectKeyIdentifier').value.toString('hex');
        break;
      case OID.authorityKeyIdentifier:
        for (const f of children(readSingle(value, TAG.SEQUENCE, 'authorityKeyIdentifier'), 'authorityKeyIdentifier')) {
          if (f.tag === contextTag(0, false)) out.authorityKeyId = f.value.toString('hex');
        }
        break;
      default:
        break;
    }
  }
  return out;
}

/** toDer accepts DER bytes or PEM text with exactly one CERTIFICATE block. */
export function certificateDer(input: string | Uint8Array): Buffer {
  const asText = typeof input === 'string' ? input : Buffer.from(input).subarray(0, 64).toString('latin1');
  if (asText.includes('-----BEGIN')) {
    let blocks;
    try {
      blocks = decodePem(input, 'CERTIFICATE');
    } catch (e) {
      throw new CertificateError((e as Error).message);
    }
    if (blocks.length !== 1) throw new CertificateError(`expected exactly one CERTIFICATE PEM block, found ${blocks.length}`);
    return blocks[0].der;
  }
  if (typeof input === 'string') throw new CertificateError('not a PEM certificate: no "-----BEGIN CERTIFICATE-----" line');
  return Buffer.from(input);
}

/** parseCertificate reads one certificate; throws CertificateError naming what is wrong. */
export function parseCertificate(input: string | Uint8Array): CertificateInfo {
  const der = certificateDer(input);
  try {
    const cert = readSingle(der, TAG.SEQUENCE, 'certificate');
    const [tbs, sigAlg, sig, ...rest] = children(cert, 'certificate');
    if (rest.length) throw new DerError('certificate: unexpected extra fields');
    const f = children(expectTag(tbs, TAG.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
    let i = 0;
    if (f[i]?.tag === contextTag(0, true)) {
      const [v] = children(f[i++], 'version');
      const version = readInteger(v, 'version');
      if (version > 2n) throw new DerError(`unsupported certificate version ${version + 1n}`);
    }
    const serial = readInteger(f[i++], 'serialNumber');
    const innerAlg = parseAlgorithm(f[i++], 'tbsCertificate signature');
    const issuer = parseName(f[i++], 'issuer');
    const validity = children(expectTag(f[i++], TAG.SEQUENCE, 'validity'), 'validity');
    if (validity.length !== 2) throw new DerError('validity: expected notBefore and notAfter');
    const notBefore = readTime(validity[0], 'notBefore');
    const notAfter = readTime(validity[1], 'notAfter');
    const subject = parseName(f[i++], 'subject');
    const spki = children(expectTag(f[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo'), 'subjectPublicKeyInfo');
    const publicKeyAlgorithm = parseAlgorithm(spki[0], 'subjectPublicKeyInfo algorithm');
    readBitString(expectTag(spki[1], TAG.BIT_STRING, 'subjectPublicKey'));
    // issuerUniqueID [1] and subjectUniqueID [2] are skipped.
    while (f[i] && (f[i].tag === contextTag(1, false) || f[i].tag === contextTag(2, false) || f[i].tag === contextTag(1, true) || f[i].tag === contextTag(2, true))) i++;
    let ext: CertificateExtensions = { isCA: false, keyUsage: [], extendedKeyUsage: [], dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] };
    if (f[i]?.tag === contextTag(3, true)) ext = parseExtensions(f[i++]);
    if (i !== f.length) throw new DerError('tbsCertificate: unexpected trailing fields');
    const outerAlg = parseAlgorithm(sigAlg, 'signatureAlgorithm');
    if (outerAlg !== innerAlg) throw new DerError(`signature algorithm mismatch: ${outerAlg} outside, ${innerAlg} inside`);
    readBitString(expectTag(sig, TAG.BIT_STRING, 'signature'));
    return {
      serialNumber: serial.toString(16),
      subject,
      issuer,
      notBefore,
      notAfter,
      ...ext,
      signatureAlgorithm: outerAlg,
      publicKeyAlgorithm,
      der,
    };
  } catch (e) {
    if (e instanceof DerError) throw new CertificateError(`malformed certificate: ${e.message}`);
    throw e;
  }
}

/** parseCertificates reads every CERTIFICATE block of a PEM bundle (a CA file may hold several). */
export function parseCertificates(pem: string | Uint8Array): CertificateInfo[] {
  let blocks;
  try {
    blocks = decodePem(pem, 'CERTIFICATE');
  } catch (e) {
    throw new CertificateError((e as Error).message);
  }
  if (blocks.length === 0) throw new CertificateError('no "-----BEGIN CERTIFICATE-----" block found');
  return blocks.map((b) => parseCertificate(b.der));
}

/**
 * verifyIssuedBy checks that `cert` carries a valid signature by `issuer`'s key
 * and names it as issuer. It does not check validity dates or usages.
 */
export function verifyIssuedBy(cert: string | Uint8Array, issuer: string | Uint8Array | KeyObject): boolean {
  try {
    const a = new X509Certificate(certificateDer(cert));
    if (typeof issuer === 'string' || issuer instanceof Uint8Array) {
      const b = new X509Certificate(certificateDer(issuer));
      return a.checkIssued(b) && a.verify(b.publicKey);
    }
    return a.verify(issuer);
  } catch {
    return false;
  }
}

/** publicKeyOf returns a certificate's public key. */
export function publicKeyOf(cert: string | Uint8Array): KeyObject {
  try {
    return new X509Certificate(certificateDer(cert)).publicKey;
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError(`cannot read the certificate's public key: ${(e as Error).message}`);
  }
}

