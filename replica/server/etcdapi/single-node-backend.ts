// SingleNodeBackend is a test helper: a ClientBackend without raft that
// applies every write straight to a local KvStore (through the command codec,
// as a committed log entry would be) and keeps the membership in memory. It
// proves the client API against real etcd clients before the raft server
// exists. It must never be used to serve real traffic: it replicates nothing.
// startEtcdApiServer serves it on the client port's GrpcServer on 127.0.0.1.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { KvStore, RequestIdGenerator } from '../../kv/index.ts';
import type { HashKVResult, KvCommand, KvResult, KvStoreOptions, RangeRequest, RangeResponse } from '../../kv/index.ts';
import type { ClientBackend, ClusterHeader, Member, MemberStatus } from './backend.ts';
import { EtcdError } from './errors.ts';
import { maxReceiveBytes } from './limits.ts';
import { GrpcServer } from '../../grpc/index.ts';
import type { EtcdApiLimits } from './limits.ts';
import { registerEtcdApi } from './register.ts';

export interface SingleNodeOptions {
  clusterId?: number;
  memberId?: number;
  name?: string;
  raftTerm?: number;
  version?: string;
  peerURL?: string;
  clientURL?: string;
  store?: KvStoreOptions;
}

export class SingleNodeBackend implements ClientBackend {
  readonly store: KvStore;
  readonly clusterId: number;
  readonly memberId: number;
  raftTerm: number;
  version: string;
  members: Member[];
  /** unavailable, when set, makes writes and linearizable reads fail with it (e.g. no leader). */
  unavailable: EtcdError | null = null;
  /** reads records the `serializable` flag of every read, oldest first. */
  readonly reads: boolean[] = [];
  private index = 0;
  private readonly ids: RequestIdGenerator;
  private added = 0;

  constructor(options: SingleNodeOptions = {}) {
    this.store = new KvStore(options.store);
    this.clusterId = options.clusterId ?? 0x1c0ffee;
    this.memberId = options.memberId ?? 0x2e1259d415f2a;
    this.raftTerm = options.raftTerm ?? 2;
    this.version = options.version ?? '3.4.0-replicant';
    this.members = [{
      id: this.memberId,
      name: options.name ?? 'member-0',
      peerURLs: [options.peerURL ?? 'http://127.0.0.1:2380'],
      clientURLs: [options.clientURL ?? 'http://127.0.0.1:2379'],
      isLearner: false,
    }];
    this.ids = new RequestIdGenerator(this.memberId, 0);
  }

  /** setClientURL records where the test server listens, for member list output. */
  setClientURL(url: string): void {
    this.members[0].clientURLs = [url];
  }

  nextRequestId(): number {
    return this.ids.next();
  }

  async write(_command: KvCommand, data: Uint8Array): Promise<KvResult> {
    if (this.unavailable) throw this.unavailable;
    return this.store.applyEntry(++this.index, data);
  }

  async read(request: RangeRequest, serializable: boolean): Promise<RangeResponse> {
    this.reads.push(serializable);
    if (this.unavailable && !serializable) throw this.unavailable;
    return this.store.range(request);
  }

  header(): ClusterHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, raftTerm: this.raftTerm, revision: this.store.revision };
  }

  async status(): Promise<MemberStatus> {
    const { sizeBytes } = this.store.stats();
    return {
      version: this.version,
      dbSize: sizeBytes,
      dbSizeInUse: sizeBytes,
      leader: this.unavailable ? 0 : this.memberId,
      raftIndex: this.index,
      raftTerm: this.raftTerm,
      raftAppliedIndex: this.store.appliedIndex,
      errors: [],
      isLearner: false,
    };
  }

  async hashKV(revision: number): Promise<HashKVResult> {
    return this.store.hashKV(revision);
  }

  async memberList(): Promise<Member[]> {
    return this.members.map((m) => ({ ...m }));
  }

  async memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }> {
    if (this.unavailable) throw this.unavailable;
    if (this.members.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))) throw new EtcdError('peerURLExist');
    const digest = crypto.hash('sha256', `${this.clusterId}/${peerURLs.join(',')}/${++this.added}`, 'buffer') as unknown as Buffer;
    const id = digest.readUIntBE(0, 6) + 1;
    const member: Member = { id, name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner };
    this.members.push(member);
    this.configurationChanged();
    return { member: { ...member }, members: await this.memberList() };
  }

  async memberRemove(id: number): Promise<Member[]> {
    if (this.unavailable) throw this.unavailable;
    const at = this.members.findIndex((m) => m.id === id);
    if (at < 0) throw new EtcdError('memberNotFound');
    this.members.splice(at, 1);
    this.configurationChanged();
    return this.memberList();
  }

  async memberPromote(id: number): Promise<Member[]> {
    if (this.unavailable) throw this.unavailable;
    const member = this.members.find((m) => m.id === id);
    if (!member) throw new EtcdError('memberNotFound');
    if (!member.isLearner) throw new EtcdError('memberNotLearner');
    member.isLearner = false;
    this.configurationChanged();
    return this.memberList();
  }

  /** A membership change is a log entry that is not a KV command: the store only advances. */
  private configurationChanged(): void {
    this.store.advanceTo(++this.index);
  }
}

export interface EtcdApiTestServer {
  port: number;
  endpoint: string;
  backend: SingleNodeBackend;
  server: GrpcServer;
  /** unexpected collects errors the handlers reported as not client errors; tests expect it empty. */
  unexpected: unknown[];
  stop(): void;
}

/** startEtcdApiServer serves the client API over a SingleNodeBackend on 127.0.0.1:<ephemeral port>. */
export async function startEtcdApiServer(options: SingleNodeOptions & { limits?: Partial<EtcdApiLimits> } = {}): Promise<EtcdApiTestServer> {
  const backend = new SingleNodeBackend(options);
  const server = new GrpcServer({ maxReceiveBytes: maxReceiveBytes(options.limits) });
  const unexpected: unknown[] = [];
  registerEtcdApi(server, backend, { limits: options.limits, onError: (_method, err) => unexpected.push(err) });
  const port = await server.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = `127.0.0.1:${port}`;
  backend.setClientURL(`http://${endpoint}`);
  return {
    port,
    endpoint,
    backend,
    server,
    unexpected,
    stop: () => server.forceShutdown(),
  };
}

/** startEtcdApiServerFor serves for one test: stopped after it, and the test fails if a handler reported an unexpected error. */
export async function startEtcdApiServerFor(t: { after(fn: () => void): void }, options: Parameters<typeof startEtcdApiServer>[0] = {}): Promise<EtcdApiTestServer> {
  const server = await startEtcdApiServer(options);
  t.after(() => {
    server.stop();
    assert.deepEqual(server.unexpected, [], 'handlers reported unexpected errors');
  });
  return server;
}
