// registerEtcdApi puts the etcd v3 client API on a gRPC server (the client
// port's GrpcServer, or a grpc-js Server): KV, Maintenance and Cluster
// are served over a ClientBackend; Watch, Lease and Auth are declared so their
// methods answer UNIMPLEMENTED (the servers' answer for a declared method
// without a handler), as do unserved methods of the three services. It must
// never create or start the server: the caller owns it (and must bound its
// receive size with maxReceiveBytes(limits)).
import type * as grpc from '@grpc/grpc-js';
import type { ClientBackend } from './backend.ts';
import { clusterHandlers } from './cluster-service.ts';
import { kvHandlers } from './kv-service.ts';
import { limitsWithDefaults } from './limits.ts';
import type { EtcdApiLimits } from './limits.ts';
import { maintenanceHandlers } from './maintenance-service.ts';
import { etcdService } from './wire.ts';
import type { ErrorSink } from './wire.ts';

export interface EtcdApiOptions {
  limits?: Partial<EtcdApiLimits>;
  /** onError hears about failures that are not client errors (bugs, backend faults), for logging. */
  onError?: ErrorSink;
}

/** SERVED lists the methods replicant serves, by service. */
export const SERVED = {
  KV: ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'],
  Maintenance: ['Status', 'HashKV', 'Alarm'],
  Cluster: ['MemberList', 'MemberAdd', 'MemberRemove', 'MemberPromote'],
} as const;

/** ServiceHost is what registerEtcdApi needs of a server: grpc-js's addService. */
export interface ServiceHost {
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void;
}

export function registerEtcdApi(server: ServiceHost, backend: ClientBackend, options: EtcdApiOptions = {}): void {
  const limits = limitsWithDefaults(options.limits);
  server.addService(etcdService('KV'), kvHandlers(backend, limits, options.onError) as grpc.UntypedServiceImplementation);
  server.addService(etcdService('Maintenance'), maintenanceHandlers(backend, options.onError));
  server.addService(etcdService('Cluster'), clusterHandlers(backend, options.onError));
  for (const declaredOnly of ['Watch', 'Lease', 'Auth']) server.addService(etcdService(declaredOnly), {});
}

/** clusterRelayService is registerClusterRelay's service, for hosts that collect services before creating the server. */
export function clusterRelayService(backend: ClientBackend, onError?: ErrorSink): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  return { definition: etcdService('Cluster'), implementation: clusterHandlers(backend, onError) as grpc.UntypedServiceImplementation };
}
