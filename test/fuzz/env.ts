// The processes the network fuzz targets attack: two single-member replica
// groups on their own loopback addresses, one plaintext (so garbage reaches
// the decoders) and one with TLS on both ports (so garbage meets the
// handshake and the access rules). A Probe reads what must not change —
// store revision and hash, raft term and leader, configuration — through
// valid calls, and checks the process is alive and still serving.
// Must never leave a process running: the cluster's cleanup kills it.
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../proto/grpc.ts';
import { ReplicaCluster, type Cleanup, type MemberProcess } from '../e2e/replica-cluster.ts';
import { launch, statusOf } from '../security/launch.ts';

export interface Target {
  cluster: ReplicaCluster;
  member: MemberProcess;
  /** decimal cluster id, as peers put it in their metadata */
  clusterId: string;
  memberId: number;
  probe: Probe;
}

export interface FuzzEnv {
  plain: Target;
  tls: Target;
}

const rpc = loadProtos('etcd/rpc.proto');
const HashKVResponse = rpc.lookupType('etcdserverpb.HashKVResponse');

export class Probe {
  readonly #cluster: ReplicaCluster;
  readonly #m: MemberProcess;
  #raw: grpc.Client | undefined;

  constructor(cluster: ReplicaCluster, m: MemberProcess) {
    this.#cluster = cluster;
    this.#m = m;
  }

  #client(): grpc.Client {
    if (!this.#raw) {
      const d = this.#cluster.tls?.options.client ? this.#cluster.tls.dial(this.#m.ip) : undefined;
      this.#raw = new grpc.Client(this.#m.endpoint, d?.credentials ?? grpc.credentials.createInsecure(), d?.options ?? {});
    }
    return this.#raw;
  }

  /**
   * recheck: the state must still be `baseline` (else it throws what `changed` makes of the new
   * state), the member must serve; returns the state to compare against next.
   */
  async recheck(baseline: string, changed: (now: string) => Error): Promise<string> {
    const now = await this.state();
    if (now !== baseline) throw changed(now);
    await this.serving();
    return this.state();
  }

  /** state is everything fuzzed input must not change, as one comparable string. */
  async state(): Promise<string> {
    const hash = await new Promise<{ header: { revision: number }; hash: number; compactRevision: number }>((resolve, reject) =>
      this.#client().makeUnaryRequest(
        '/etcdserverpb.Maintenance/HashKV',
        (b: Buffer) => b,
        (b: Buffer) => HashKVResponse.decode(b) as never,
        Buffer.alloc(0),
        { deadline: Date.now() + 10_000 },
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );
    const st = await statusOf(this.#cluster, this.#m);
    const conf = st.configuration;
    return JSON.stringify({
      revision: Number(hash.header.revision),
      hash: hash.hash,
      compact: Number(hash.compactRevision),
      term: st.term,
      leader: st.leader,
      voters: conf.voters,
      learners: conf.learners,
      members: st.members.length,
    });
  }

  /** alive is true while the process runs. */
  alive(): boolean {
    const p = this.#m.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** serving writes and reads a key through a fresh valid client; throws with the member's log when it cannot. */
  async serving(): Promise<void> {
    if (!this.alive()) throw new Error(`the replica exited (code ${this.#m.proc?.exitCode}, signal ${this.#m.proc?.signalCode})\n${this.#m.log.slice(-20).join('\n')}`);
    const c = this.#cluster.client(this.#m);
    const key = `fuzz-liveness/${Date.now()}`;
    await c.put(key, 'ok');
    if ((await c.get(key))?.value !== 'ok') throw new Error('the replica no longer answers a put and get correctly');
    await c.del(key);
  }

  close(): void {
    this.#raw?.close();
  }
}

async function start(t: Cleanup, tls: boolean): Promise<Target> {
  const cluster = new ReplicaCluster(t, tls ? { tls: {} } : {});
  const [member] = await launch(cluster, 1);
  const st = await statusOf(cluster, member);
  const probe = new Probe(cluster, member);
  t.after(() => probe.close());
  return { cluster, member, clusterId: String(st.clusterId), memberId: st.memberId, probe };
}

/** startEnv launches both fuzz targets; the test's cleanup stops them. */
export async function startEnv(t: Cleanup): Promise<FuzzEnv> {
  const [plain, tls] = await Promise.all([start(t, false), start(t, true)]);
  return { plain, tls };
}
