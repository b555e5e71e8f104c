// A small promise-based etcd v3 client over our own .proto files (grpc-js):
// the load generator and checker client for e2e, chaos and benchmark runs,
// the same code against replicant and etcd. Must never retry on its own: the
// caller decides what a failure means (the history must record it).
import * as grpc from '@grpc/grpc-js';
import { clientConstructor, loadProtos } from '../../proto/grpc.ts';

let root: ReturnType<typeof loadProtos> | undefined;
const ctors = new Map<string, grpc.ServiceClientConstructor>();

function ctor(service: string): grpc.ServiceClientConstructor {
  root ??= loadProtos('etcd/rpc.proto');
  let c = ctors.get(service);
  if (!c) {
    c = clientConstructor(root, `etcdserverpb.${service}`);
    ctors.set(service, c);
  }
  return c;
}

type Callable = grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void>;

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

const enc = (s: string) => Buffer.from(s);
const dec = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString() : '');

function kv(x: any): KeyValue {
  return { key: dec(x.key), value: dec(x.value), createRevision: x.createRevision, modRevision: x.modRevision, version: x.version };
}

export class EtcdClient {
  readonly endpoint: string;
  private readonly kvc: Callable;
  private readonly cluster: Callable;
  private readonly maint: Callable;
  timeoutMs: number;

  /** credentials default to plaintext; pass TLS credentials (grpc.credentials.createSsl) for https:// members. */
  constructor(endpoint: string, timeoutMs = 10_000, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
    this.endpoint = endpoint;
    this.timeoutMs = timeoutMs;
    this.kvc = new (ctor('KV'))(endpoint, credentials, options) as unknown as Callable;
    this.cluster = new (ctor('Cluster'))(endpoint, credentials, options) as unknown as Callable;
    this.maint = new (ctor('Maintenance'))(endpoint, credentials, options) as unknown as Callable;
  }

  private call<T>(c: Callable, method: string, req: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      c[method](req, { deadline: Date.now() + this.timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T))),
    );
  }

  async put(key: string, value: string | Uint8Array): Promise<{ revision: number }> {
    const r: any = await this.call(this.kvc, 'Put', { key: enc(key), value: typeof value === 'string' ? enc(value) : value });
    return { revision: r.header.revision };
  }

  async get(key: string, opts: { serializable?: boolean } = {}): Promise<KeyValue | undefined> {
    const r: any = await this.call(this.kvc, 'Range', { key: enc(key), serializable: !!opts.serializable });
    return r.kvs.length ? kv(r.kvs[0]) : undefined;
  }

  async range(key: string, rangeEnd: string, opts: { serializable?: boolean; limit?: number } = {}): Promise<KeyValue[]> {
    const r: any = await this.call(this.kvc, 'Range', { key: enc(key), rangeEnd: enc(rangeEnd), serializable: !!opts.serializable, limit: opts.limit ?? 0 });
    return r.kvs.map(kv);
  }

  async del(key: string): Promise<number> {
    const r: any = await this.call(this.kvc, 'DeleteRange', { key: enc(key) });
    return r.deleted;
  }

  /** cas sets key to `to` only if its value is `from` (undefined: the key must not exist); true if it did. */
  async cas(key: string, from: string | undefined, to: string): Promise<boolean> {
    const compare =
      from === undefined
        ? { result: 0 /* EQUAL */, target: 0 /* VERSION */, key: enc(key), version: 0 }
        : { result: 0 /* EQUAL */, target: 3 /* VALUE */, key: enc(key), value: enc(from) };
    const r: any = await this.call(this.kvc, 'Txn', { compare: [compare], success: [{ requestPut: { key: enc(key), value: enc(to) } }], failure: [] });
    return r.succeeded;
  }

  async memberList(): Promise<{ id: number; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }[]> {
    const r: any = await this.call(this.cluster, 'MemberList', {});
    return r.members.map((m: any) => ({ id: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner }));
  }

  async memberRemove(id: number): Promise<void> {
    await this.call(this.cluster, 'MemberRemove', { ID: id });
  }

  async status(): Promise<{ leader: number; raftTerm: number; raftIndex: number; memberId: number }> {
    const r: any = await this.call(this.maint, 'Status', {});
    return { leader: r.leader, raftTerm: r.raftTerm, raftIndex: r.raftIndex, memberId: r.header.memberId };
  }

  async hashKV(): Promise<number> {
    const r: any = await this.call(this.maint, 'HashKV', { revision: 0 });
    return r.hash;
  }

  close(): void {
    this.kvc.close();
    this.cluster.close();
    this.maint.close();
  }
}
