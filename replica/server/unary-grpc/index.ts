// The public surface of replica/server/unary-grpc: the lean unary gRPC server
// on our own HTTP/2 code (h2/) that serves the client port (etcd API and admin API), and the
// call object its handlers and hooks see. Nothing here knows a service.
export { UnaryGrpcServer } from './server.ts';
export type { CallHooks, CallRefusal, ListenOptions, MethodInfo, UnaryGrpcServerOptions } from './server.ts';
export { UnaryCall } from './call.ts';
export type { AuthContext } from './call.ts';
