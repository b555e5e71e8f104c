// Calls to a member's admin API (proto/admin.proto) at <pod IP>:2379. The
// operator reaches replicas only through this and the etcd client API.
// A connection that failed is dropped, so the next call dials afresh: grpc-js
// would otherwise answer later calls with the stale error while it backs off
// its reconnects, and a member that just started listening would look
// Unreachable for seconds. Must never retry on its own: the planner decides
// what to do next.
import * as grpc from '@grpc/grpc-js';
import { clientConstructor, loadProtos } from '../../proto/grpc.ts';
import type { AdminStatus, ChangeMembershipRequest, TransferLeadershipRequest } from '../reconcile/index.ts';

type Client = grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;

let ctor: grpc.ServiceClientConstructor | undefined;

export class ReplicaAdmin {
  private readonly clients = new Map<string, { client: Client; lastUsed: number }>();

  private client(address: string): Client {
    const hit = this.clients.get(address);
    if (hit) {
      hit.lastUsed = Date.now();
      return hit.client;
    }
    ctor ??= clientConstructor(loadProtos('admin.proto'), 'replicant.admin.v1.Admin');
    const client = new ctor(address, grpc.credentials.createInsecure(), {
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    }) as unknown as Client;
    this.clients.set(address, { client, lastUsed: Date.now() });
    return client;
  }

  private call<T>(address: string, method: string, req: unknown, timeoutMs: number): Promise<T> {
    const client = this.client(address);
    return new Promise<T>((resolve, reject) =>
      client[method](req, { deadline: Date.now() + timeoutMs }, (e, r) => {
        if (!e) return resolve(r as T);
        // UNAVAILABLE: the connection itself failed (calls still running on it fail too).
        // Never on a deadline: a slow answer must not cut a long ChangeMembership on the same channel.
        if (e.code === grpc.status.UNAVAILABLE) this.drop(address, client);
        reject(e);
      }),
    );
  }

  /** drop forgets a client whose connection failed (if it is still the cached one). */
  private drop(address: string, client: Client): void {
    if (this.clients.get(address)?.client !== client) return;
    this.clients.delete(address);
    client.close();
  }

  status(address: string, timeoutMs = 1500): Promise<AdminStatus> {
    return this.call<AdminStatus>(address, 'Status', {}, timeoutMs);
  }

  changeMembership(address: string, req: ChangeMembershipRequest, timeoutMs = 120_000): Promise<unknown> {
    return this.call(address, 'ChangeMembership', req, timeoutMs);
  }

  transferLeadership(address: string, req: TransferLeadershipRequest, timeoutMs = 15_000): Promise<unknown> {
    return this.call(address, 'TransferLeadership', req, timeoutMs);
  }

  /** prune closes clients unused for a while (pods come and go). */
  prune(idleMs = 120_000): void {
    const now = Date.now();
    for (const [addr, c] of this.clients) {
      if (now - c.lastUsed > idleMs) {
        c.client.close();
        this.clients.delete(addr);
      }
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }
}
