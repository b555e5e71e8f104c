// Rotation decisions from what a certificate says: when it should be renewed,
// whether it still names everything it must, and whether it was signed by the
// CA we trust now. Pure functions of (certificate facts, wanted state, clock).
// It must never read the clock itself: callers pass `now`.
import { normalizeSubjectAltNames, type SubjectAltNames } from './names.ts';
import { verifyIssuedBy, type CertificateInfo } from './parse.ts';

export interface RenewalPolicy {
  /** renew once this fraction of the lifetime has passed (default 2/3, as cert-manager) */
  renewAtFraction?: number;
  /** or: renew this long before notAfter (takes precedence when set) */
  renewBeforeMs?: number;
}

/** renewalTime is when a certificate should be replaced. */
export function renewalTime(info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>, policy: RenewalPolicy = {}): Date {
  const start = info.notBefore.getTime();
  const end = info.notAfter.getTime();
  if (policy.renewBeforeMs !== undefined) {
    if (!(policy.renewBeforeMs >= 0)) throw new Error(`renewBeforeMs must be >= 0, got ${policy.renewBeforeMs}`);
    return new Date(Math.max(start, end - policy.renewBeforeMs));
  }
  const f = policy.renewAtFraction ?? 2 / 3;
  if (!(f > 0 && f <= 1)) throw new Error(`renewAtFraction must be in (0, 1], got ${f}`);
  return new Date(start + (end - start) * f);
}

/** RotationReason says why a certificate must be reissued; undefined means it is fine. */
export type RotationReason = 'expiring' | 'expired' | 'not-yet-valid' | 'names-changed' | 'issuer-changed';

export interface WantedCertificate extends SubjectAltNames {
  commonName?: string;
  /** the CA certificate (PEM) that must have signed it */
  issuerPem?: string;
}

/**
 * rotationReason decides whether `info` must be replaced at `now`: expired or
 * past its renewal time, not valid yet, missing or extra names, or not signed
 * by the wanted issuer.
 */
export function rotationReason(info: CertificateInfo, want: WantedCertificate, now: Date, policy: RenewalPolicy = {}): RotationReason | undefined {
  const t = now.getTime();
  if (t >= info.notAfter.getTime()) return 'expired';
  if (t < info.notBefore.getTime()) return 'not-yet-valid';
  if (want.issuerPem !== undefined && !verifyIssuedBy(info.der, want.issuerPem)) return 'issuer-changed';
  if (!namesMatch(info, want)) return 'names-changed';
  if (t >= renewalTime(info, policy).getTime()) return 'expiring';
  return undefined;
}

/** namesMatch is true when the certificate names exactly the wanted CN (if given) and SANs. */
export function namesMatch(info: CertificateInfo, want: WantedCertificate): boolean {
  if (want.commonName !== undefined && info.subject.commonName !== want.commonName) return false;
  const w = normalizeSubjectAltNames(want);
  const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
  return (
    same(info.dnsNames.map((d) => d.toLowerCase()), w.dnsNames) &&
    same(info.ipAddresses, w.ipAddresses) &&
    same(info.uris, w.uris)
  );
}
