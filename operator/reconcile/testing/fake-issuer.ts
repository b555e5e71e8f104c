// A stand-in for cert-manager's CA Issuer, for tests: turns a cert-manager.io/v1
// Certificate into the kubernetes.io/tls Secret cert-manager would write
// (tls.crt signed by a test CA with operator/pki, a fresh tls.key, ca.crt,
// secretTemplate labels, the cert-manager.io/certificate-name annotation).
// Test tooling: must never be imported by the operator.
import type { V1Secret } from '@kubernetes/client-node';
import { issueCertificate, type Issuer, type Profile } from '../../pki/index.ts';
import { ANNOTATION_CERTIFICATE_NAME, type CertManagerCertificate } from '../cert-manager.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** profileOf maps cert-manager usages to operator/pki's profiles. */
export function profileOf(usages: string[] | undefined): Profile {
  const u = usages ?? [];
  const server = u.includes('server auth');
  const client = u.includes('client auth');
  return server && client ? 'peer' : server ? 'server' : 'client';
}

/** durationDays reads a Certificate's "2160h" / "1h30m" duration (hours, minutes, seconds) in days; 90 when unset. */
function durationDays(text: string | undefined): number {
  if (!text) return 90;
  let ms = 0;
  for (const m of text.matchAll(/([0-9.]+)(h|m|s)/g)) ms += Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : 1000);
  return ms / 86_400_000;
}

/** issuedSecret is the Secret a CA issuer writes for `cert`; `withCaCrt: false` behaves like an issuer that does not write ca.crt. */
export function issuedSecret(cert: CertManagerCertificate, ca: Issuer, now: Date, options: { withCaCrt?: boolean } = {}): V1Secret {
  const spec = cert.spec!;
  const leaf = issueCertificate(ca, {
    profile: profileOf(spec.usages),
    commonName: spec.commonName ?? '',
    organization: spec.subject?.organizations?.[0],
    dnsNames: spec.dnsNames ?? [],
    ipAddresses: spec.ipAddresses ?? [],
    uris: spec.uris ?? [],
    validityDays: durationDays(spec.duration),
    now,
  });
  const data: Record<string, string> = { 'tls.crt': b64(leaf.certificatePem), 'tls.key': b64(leaf.privateKeyPem) };
  if (options.withCaCrt !== false) data['ca.crt'] = b64(ca.certificatePem);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: spec.secretName,
      namespace: cert.metadata?.namespace,
      labels: { ...spec.secretTemplate?.labels },
      annotations: {
        ...spec.secretTemplate?.annotations,
        [ANNOTATION_CERTIFICATE_NAME]: cert.metadata!.name!,
        'cert-manager.io/issuer-name': spec.issuerRef.name,
        'cert-manager.io/issuer-kind': spec.issuerRef.kind,
        'cert-manager.io/issuer-group': spec.issuerRef.group,
      },
    },
    type: 'kubernetes.io/tls',
    data,
  };
}
