// Where cert-manager's Certificates live in the API (cert-manager.io/v1,
// namespaced, plural certificates), as the argument every CustomObjects call
// on them spreads (`...CERTIFICATES`), so the chart's RBAC test can tell them
// from ReplicaGroups. Must never hold anything but the coordinates.
import { CERT_MANAGER_GROUP, CERT_MANAGER_VERSION, CERTIFICATE_PLURAL } from '../reconcile/index.ts';

export const CERTIFICATES = { group: CERT_MANAGER_GROUP, version: CERT_MANAGER_VERSION, plural: CERTIFICATE_PLURAL } as const;
