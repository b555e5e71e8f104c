// The public surface of the etcd-compatible client API handlers
// (replica/server/etcdapi). The server registers them on its gRPC server
// over a ClientBackend it implements on raft.
export { registerEtcdApi, clusterRelayService, SERVED } from './register.ts';
export type { EtcdApiOptions, ServiceHost } from './register.ts';
export type { ClientBackend, ClusterHeader, Member, MemberStatus } from './backend.ts';
export { EtcdError, ApiError, toServiceError } from './errors.ts';
export type { EtcdErrorReason } from './errors.ts';
export { DEFAULT_LIMITS, GRPC_OVERHEAD_BYTES, limitsWithDefaults, maxReceiveBytes } from './limits.ts';
export type { EtcdApiLimits } from './limits.ts';
export { checkPeerURLs } from './cluster-service.ts';
export { ETCD_PROTO_ROOT } from './wire.ts';
