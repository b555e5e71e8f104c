// Calls to a member's admin API (proto/admin.proto) at <pod IP>:2379. The
// operator reaches replicas only through this and the etcd client API. With
// TLS it presents the operator's client certificate and checks the member's
// certificate against the group's CA and the member's own host name (the pod
// IP is in no certificate).
// A connection that failed is dropped, so the next call dials afresh: grpc-js
// would otherwise answer later calls with the stale error while it backs off
// its reconnects, and a member that just started listening would look
// Unreachable for seconds. Must never retry on its own: the planner decides
// what to do next.
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { clientConstructor, loadProtos } from '../../proto/grpc.ts';
import type { AdminStatus, ChangeMembershipRequest, TransferLeadershipRequest } from '../reconcile/index.ts';

type Client = grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;

let ctor: grpc.ServiceClientConstructor | undefined;

/** AdminTls is what the operator needs to call a TLS member: the group's CA, its client certificate and key, the member's host name. */
export interface AdminTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** serverName: the name the member's certificate must carry (its stable DNS name). */
  serverName: string;
}

/** AdminTarget is one member's admin API: `host:port`, with TLS when the member speaks it. */
export interface AdminTarget {
  address: string;
  tls?: AdminTls;
}

function targetOf(t: string | AdminTarget): AdminTarget {
  return typeof t === 'string' ? { address: t } : t;
}

/** cacheKey: a new certificate, CA or name is a new channel (the old one keeps the old credentials). */
function cacheKey(t: AdminTarget): string {
  if (!t.tls) return t.address;
  const h = createHash('sha256').update(t.tls.caPem).update('\0').update(t.tls.certPem).update('\0').update(t.tls.serverName).digest('hex').slice(0, 16);
  return `${t.address}|${h}`;
}

export class ReplicaAdmin {
  private readonly clients = new Map<string, { client: Client; lastUsed: number }>();

  private client(target: AdminTarget): { key: string; client: Client } {
    const key = cacheKey(target);
    const hit = this.clients.get(key);
    if (hit) {
      hit.lastUsed = Date.now();
      return { key, client: hit.client };
    }
    ctor ??= clientConstructor(loadProtos('admin.proto'), 'replicant.admin.v1.Admin');
    const options: grpc.ChannelOptions = {
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    };
    let credentials = grpc.credentials.createInsecure();
    if (target.tls) {
      const t = target.tls;
      credentials = grpc.credentials.createSsl(Buffer.from(t.caPem), Buffer.from(t.keyPem), Buffer.from(t.certPem));
      // TLS server name and identity check: the member's host name, while dialing its pod IP.
      options['grpc.ssl_target_name_override'] = t.serverName;
      options['grpc.default_authority'] = t.serverName;
    }
    const client = new ctor(target.address, credentials, options) as unknown as Client;
    this.clients.set(key, { client, lastUsed: Date.now() });
    return { key, client };
  }

  private call<T>(to: string | AdminTarget, method: string, req: unknown, timeoutMs: number): Promise<T> {
    const { key: address, client } = this.client(targetOf(to));
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

  status(target: string | AdminTarget, timeoutMs = 1500): Promise<AdminStatus> {
    return this.call<AdminStatus>(target, 'Status', {}, timeoutMs);
  }

  changeMembership(target: string | AdminTarget, req: ChangeMembershipRequest, timeoutMs = 120_000): Promise<unknown> {
    return this.call(target, 'ChangeMembership', req, timeoutMs);
  }

  transferLeadership(target: string | AdminTarget, req: TransferLeadershipRequest, timeoutMs = 15_000): Promise<unknown> {
    return this.call(target, 'TransferLeadership', req, timeoutMs);
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
