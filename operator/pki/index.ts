// The public surface of operator/pki: a small, pure certificate library on
// node:crypto for the operator's per-group CA. It creates a CA, issues server,
// client and peer certificates, reads certificates back (expiry, names,
// usages) and decides when to rotate them. It must never touch Kubernetes,
// files or the network: callers store the PEM strings wherever they like.
export { createCertificateAuthority, issueCertificate, loadIssuer, generateKey, privateKeyFromPem } from './issue.ts';
export type { CertificateBundle, Issuer, Profile, CaRequest, CertificateRequest, Validity } from './issue.ts';
export { parseCertificate, parseCertificates, verifyIssuedBy, publicKeyOf, certificateDer, CertificateError } from './parse.ts';
export type { CertificateInfo, ParsedName, NameAttribute } from './parse.ts';
export { renewalTime, rotationReason, namesMatch } from './rotation.ts';
export type { RenewalPolicy, RotationReason, WantedCertificate } from './rotation.ts';
export { encodePem, decodePem, decodeOnePem, PemError } from './pem.ts';
export type { PemBlock } from './pem.ts';
export { normalizeDnsName, normalizeIp, normalizeUri } from './names.ts';
export type { DistinguishedName, SubjectAltNames } from './names.ts';
export { OID } from './oids.ts';
export type { KeyUsage, ExtendedKeyUsage } from './oids.ts';
