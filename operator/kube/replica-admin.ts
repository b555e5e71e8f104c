// Calls to a member's admin API (proto/admin.proto) at <pod IP>:2379. The
// operator reaches replicas only through this and the etcd client API.
// Must never retry on its own: the planner decides what to do next.
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
    const client = new ctor(address, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 }) as unknown as Client;
    this.clients.set(address, { client, lastUsed: Date.now() });
    return client;
  }

  private call<T>(address: string, method: string, req: unknown, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.client(address)[method](req, { deadline: Date.now() + timeoutMs }, (e, r) => (e ? reject(e) : resolve(r as T))),
    );
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
