// How the operator reaches one member's admin API: its pod IP on the client
// port, plaintext for a plaintext group, else TLS with the operator's client
// certificate of that group (Secret <group>-operator-tls: tls.crt, tls.key,
// ca.crt) and the member's stable host name as the name its certificate must
// carry. Must never fall back to plaintext for a TLS member.
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import type { ReplicaGroup } from '../api/index.ts';
import { ANNOTATION_TLS, CA_CERT, CLIENT_PORT, TLS_CERT, TLS_KEY, memberHost, operatorTlsSecretName, secretText } from '../reconcile/index.ts';
import type { AdminTarget } from './replica-admin.ts';

/** adminTarget is the admin API of `pod`; it throws (with why) when the pod cannot be called yet. */
export function adminTarget(group: ReplicaGroup, pod: V1Pod, secrets: V1Secret[], clusterDomain: string): AdminTarget {
  const name = pod.metadata?.name ?? '';
  const ip = pod.status?.podIP;
  if (!ip) throw new Error(`pod ${name} has no IP to reach its admin API`);
  const address = `${ip}:${CLIENT_PORT}`;
  if (pod.metadata?.annotations?.[ANNOTATION_TLS] !== 'true') return { address };
  const secretName = operatorTlsSecretName(group.metadata.name!);
  const secret = secrets.find((s) => s.metadata?.name === secretName);
  const caPem = secretText(secret, CA_CERT);
  const certPem = secretText(secret, TLS_CERT);
  const keyPem = secretText(secret, TLS_KEY);
  if (!caPem || !certPem || !keyPem) throw new Error(`no operator client certificate yet (Secret ${secretName} with ${TLS_CERT}, ${TLS_KEY} and ${CA_CERT}) to call the admin API of ${name} over TLS`);
  const namespace = group.metadata.namespace ?? 'default';
  return { address, tls: { caPem, certPem, keyPem, serverName: memberHost(group.metadata.name!, namespace, name, clusterDomain) } };
}
