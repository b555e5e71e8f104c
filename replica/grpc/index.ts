// The public surface of replica/grpc: our own gRPC over our own HTTP/2 code
// (h2/). The server serves the client port (etcd API and admin API) and the
// peer port (raft streams, snapshot uploads, membership and relayed calls);
// the client carries a member's raft streams and snapshot uploads to its
// peers. Nothing here knows a service.
export { GrpcServer } from './server.ts';
export { bareHost } from './host.ts';
export type { CallHooks, CallRefusal, ListenOptions, MethodInfo, GrpcServerOptions } from './server.ts';
export { UnaryCall } from './call.ts';
export type { AuthContext } from './call.ts';
export { StreamCall } from './stream-call.ts';
export type { StreamingHandler } from './stream-call.ts';
