// Issues X.509 v3 certificates with node:crypto: a self-signed CA and the
// server, client and peer certificates it signs (ECDSA P-256, SHA-256), with
// subject alternative names, key usages, extended key usages and validity.
// It must never issue a certificate that outlives its CA, sign with a key that
// does not belong to the issuing certificate, or sign with a non-CA certificate.
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import {
  DerError,
  bitString,
  boolean,
  explicit,
  implicitPrimitive,
  integer,
  namedBitString,
  octetString,
  oid,
  readElement,
  readBitString,
  sequence,
  time,
} from './der.ts';
import { encodeName, encodeSubjectAltNames, normalizeSubjectAltNames, type DistinguishedName, type SubjectAltNames } from './names.ts';
import { EKU_OIDS, KEY_USAGE_BITS, OID, type ExtendedKeyUsage, type KeyUsage } from './oids.ts';
import { decodeOnePem, encodePem } from './pem.ts';
import { CertificateError, certificateDer, parseCertificate, type CertificateInfo } from './parse.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** CertificateBundle is an issued certificate, its private key, and what it says. */
export interface CertificateBundle {
  certificatePem: string;
  /** PKCS#8 PEM */
  privateKeyPem: string;
  info: CertificateInfo;
}

/** Issuer is a CA certificate and its key, as stored in a Secret (PEM). */
export interface Issuer {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * Profile picks usages: 'server' (TLS server), 'client' (TLS client), 'peer'
 * (both: member-to-member links dial and serve).
 */
export type Profile = 'server' | 'client' | 'peer';

export interface Validity {
  /** the clock to issue at (default now) */
  now?: Date;
  /** lifetime in days from `now` (defaults: CA 3650, others 90) */
  validityDays?: number;
  /** how far notBefore lies before `now`, for clock skew between machines (default 5 minutes) */
  backdateMs?: number;
}

export interface CaRequest extends Validity {
  commonName: string;
  organization?: string;
}

export interface CertificateRequest extends Validity, SubjectAltNames {
  profile: Profile;
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  /** an existing public key to certify (default: a fresh P-256 key pair is generated) */
  publicKey?: KeyObject;
}

/** generateKey makes an ECDSA P-256 key pair. */
export function generateKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** keyIdentifier is the SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1). */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const { element: spki } = readElement(spkiDer, 0);
  const { next } = readElement(spki.value, 0);
  const { element: bits } = readElement(spki.value, next);
  return createHash('sha1').update(readBitString(bits).bytes).digest();
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function serialNumber(): Buffer {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01; // positive and never zero, 16 octets (RFC 5280: at most 20)
  return b;
}

function validityWindow(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const now = v.now ?? new Date();
  const days = v.validityDays ?? defaultDays;
  if (!(days > 0) || !Number.isFinite(days)) throw new CertificateError(`validityDays must be a positive number, got ${days}`);
  const backdate = v.backdateMs ?? 5 * 60 * 1000;
  if (!(backdate >= 0)) throw new CertificateError(`backdateMs must be >= 0, got ${backdate}`);
  const notBefore = new Date(Math.floor((now.getTime() - backdate) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now.getTime() + days * DAY_MS) / 1000) * 1000);
  return { notBefore, notAfter };
}

interface Build {
  subject: Buffer;
  issuerName: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  signingKey: KeyObject;
  authorityKeyId?: Buffer;
  isCA: boolean;
  keyUsage: KeyUsage[];
  extendedKeyUsage: ExtendedKeyUsage[];
  sans?: SubjectAltNames;
}

function build(b: Build): Buffer {
  const spki = b.publicKey.export({ format: 'der', type: 'spki' });
  const ski = keyIdentifier(spki);
  const algorithm = sequence(oid(OID.ecdsaWithSHA256));
  const exts: Buffer[] = [
    extension(OID.basicConstraints, true, b.isCA ? sequence(boolean(true), integer(0)) : sequence()),
    extension(OID.keyUsage, true, namedBitString(b.keyUsage.map((k) => KEY_USAGE_BITS[k]))),
  ];
  if (b.extendedKeyUsage.length) exts.push(extension(OID.extKeyUsage, false, sequence(...b.extendedKeyUsage.map((u) => oid(EKU_OIDS[u])))));
  exts.push(extension(OID.subjectKeyIdentifier, false, octetString(ski)));
  if (b.authorityKeyId) exts.push(extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, b.authorityKeyId))));
  const sans = b.sans ? normalizeSubjectAltNames(b.sans) : undefined;
  if (sans && sans.dnsNames.length + sans.ipAddresses.length + sans.uris.length > 0) {
    exts.push(extension(OID.subjectAltName, false, encodeSubjectAltNames(sans)));
  }
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(serialNumber()),
    algorithm,
    b.issuerName,
    sequence(time(b.notBefore), time(b.notAfter)),
    b.subject,
    spki,
    explicit(3, sequence(...exts)),
  );
  const signature = sign('sha256', tbs, b.signingKey);
  return sequence(tbs, algorithm, bitString(signature));
}

function bundle(der: Buffer, privateKey: KeyObject | undefined): CertificateBundle {
  return {
    certificatePem: encodePem('CERTIFICATE', der),
    privateKeyPem: privateKey ? pkcs8Pem(privateKey) : '',
    info: parseCertificate(der),
  };
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DerError) throw new CertificateError(e.message);
    throw e;
  }
}

/** createCertificateAuthority makes a self-signed CA (pathLen 0: it signs leaf certificates only). */
export function createCertificateAuthority(req: CaRequest): CertificateBundle {
  return wrap(() => {
    const { privateKey, publicKey } = generateKey();
    const name = encodeName({ commonName: req.commonName, organization: req.organization });
    const { notBefore, notAfter } = validityWindow(req, 3650);
    const der = build({
      subject: name,
      issuerName: name,
      notBefore,
      notAfter,
      publicKey,
      signingKey: privateKey,
      isCA: true,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      extendedKeyUsage: [],
    });
    return bundle(der, privateKey);
  });
}

const PROFILES: Record<Profile, { keyUsage: KeyUsage[]; extendedKeyUsage: ExtendedKeyUsage[] }> = {
  server: { keyUsage: ['digitalSignature'], extendedKeyUsage: ['serverAuth'] },
  client: { keyUsage: ['digitalSignature'], extendedKeyUsage: ['clientAuth'] },
  peer: { keyUsage: ['digitalSignature'], extendedKeyUsage: ['serverAuth', 'clientAuth'] },
};

/** loadIssuer checks a CA certificate and key (PEM) belong together and may sign. */
export function loadIssuer(issuer: Issuer): { cert: X509Certificate; info: CertificateInfo; key: KeyObject } {
  const der = certificateDer(issuer.certificatePem);
  const info = parseCertificate(der);
  if (!info.isCA) throw new CertificateError(`issuer ${JSON.stringify(info.subject.commonName ?? '')} is not a CA (basicConstraints cA is not set)`);
  if (info.keyUsage.length > 0 && !info.keyUsage.includes('keyCertSign')) throw new CertificateError('issuer certificate may not sign certificates (keyUsage lacks keyCertSign)');
  let key: KeyObject;
  try {
    key = createPrivateKey(issuer.privateKeyPem);
  } catch (e) {
    throw new CertificateError(`issuer private key cannot be read: ${(e as Error).message}`);
  }
  const cert = new X509Certificate(der);
  if (!cert.checkPrivateKey(key)) throw new CertificateError('issuer private key does not belong to the issuer certificate');
  if (key.asymmetricKeyType !== 'ec') throw new CertificateError(`issuer key type ${key.asymmetricKeyType} is not supported; replicant signs with ECDSA keys`);
  return { cert, info, key };
}

/**
 * issueCertificate signs a server, client or peer certificate with `issuer`.
 * Its notAfter is clipped to the issuer's: a certificate never outlives its CA.
 */
export function issueCertificate(issuer: Issuer, req: CertificateRequest): CertificateBundle {
  return wrap(() => {
    const ca = loadIssuer(issuer);
    const profile = PROFILES[req.profile];
    if (!profile) throw new CertificateError(`unknown certificate profile ${JSON.stringify(req.profile)}; use server, client or peer`);
    let privateKey: KeyObject | undefined;
    let publicKey = req.publicKey;
    if (!publicKey) ({ privateKey, publicKey } = generateKey());
    else if (publicKey.type !== 'public') publicKey = createPublicKey(publicKey);
    let { notBefore, notAfter } = validityWindow(req, 90);
    if (notAfter > ca.info.notAfter) notAfter = ca.info.notAfter;
    if (notBefore < ca.info.notBefore) notBefore = ca.info.notBefore;
    if (notAfter <= notBefore) throw new CertificateError(`issuer ${JSON.stringify(ca.info.subject.commonName ?? '')} expired at ${ca.info.notAfter.toISOString()}; rotate the CA first`);
    const issuerSpki = ca.cert.publicKey.export({ format: 'der', type: 'spki' });
    const dn: DistinguishedName = { commonName: req.commonName, organization: req.organization, organizationalUnit: req.organizationalUnit };
    const der = build({
      subject: encodeName(dn),
      issuerName: rawSubjectName(ca.info.der),
      notBefore,
      notAfter,
      publicKey,
      signingKey: ca.key,
      authorityKeyId: ca.info.subjectKeyId ? Buffer.from(ca.info.subjectKeyId, 'hex') : keyIdentifier(issuerSpki),
      isCA: false,
      // RSA keys are also used to encipher the TLS 1.2 key exchange; EC keys only sign (RFC 5480 3).
      keyUsage: publicKey.asymmetricKeyType === 'rsa' ? [...profile.keyUsage, 'keyEncipherment'] : profile.keyUsage,
      extendedKeyUsage: profile.extendedKeyUsage,
      sans: { dnsNames: req.dnsNames, ipAddresses: req.ipAddresses, uris: req.uris },
    });
    return bundle(der, privateKey);
  });
}

/** rawSubjectName returns the issuer's subject Name exactly as encoded (issuer matching is bytewise in practice). */
function rawSubjectName(der: Buffer): Buffer {
  const { element: cert } = readElement(der, 0);
  const { element: tbs } = readElement(cert.value, 0);
  let pos = 0;
  const first = readElement(tbs.value, pos);
  pos = first.element.tag === 0xa0 ? first.next : 0; // skip [0] version
  for (let i = 0; i < 4; i++) pos = readElement(tbs.value, pos).next; // serial, signature, issuer, validity
  return readElement(tbs.value, pos).element.raw;
}

/** privateKeyFromPem reads a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1). */
export function privateKeyFromPem(pem: string): KeyObject {
  decodeOnePem(pem, pem.includes('BEGIN EC PRIVATE KEY') ? 'EC PRIVATE KEY' : pem.includes('BEGIN RSA PRIVATE KEY') ? 'RSA PRIVATE KEY' : 'PRIVATE KEY', 'private key');
  return createPrivateKey(pem);
}
