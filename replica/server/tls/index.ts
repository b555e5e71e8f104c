// The public surface of replica/server/tls: loading and reloading the TLS
// files, grpc-js credentials over them, certificate identities, and the
// access rules of the client and peer ports. The server wires these; nothing
// here opens a port or reads the member table except through its arguments.
export { TlsFiles, TlsConfigError, readMaterial } from './tls-files.ts';
export type { TlsFilePaths, TlsMaterial, TlsFilesOptions } from './tls-files.ts';
export { channelCredentials, serverContextOptions, tlsChannelOptions } from './credentials.ts';
export type { ClientCertMode, ServerCheck } from './credentials.ts';
export {
  identityOf,
  identityOfX509,
  identifiesPeerUrls,
  adminIdentity,
  namesHost,
  canonicalHost,
  splitAltNames,
  allowsUsage,
  describe,
  EKU_CLIENT_AUTH,
  EKU_SERVER_AUTH,
} from './cert-identity.ts';
export type { CertIdentity, CertLike } from './cert-identity.ts';
export { clientAccessCheck, decideClientCall, isAdminPath, verifiedIdentity, MEMBERSHIP_CHANGE_PATHS } from './client-access.ts';
export type { ClientAccessPolicy, Refusal } from './client-access.ts';
export { peerAccessCheck, decidePeerCall, certificateOwner, claimedMember } from './peer-access.ts';
export type { MemberDirectory } from './peer-access.ts';
