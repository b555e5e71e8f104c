// ChaosCluster: a replica group of real processes for the chaos harness, with
// every directed peer link A→B through its own fault-injecting proxy. Member
// addresses ("slots") are allocated up front, spares included, so that every
// process can be started with a dial override for every peer it may ever
// meet, including members added later by the membership nemesis.
// It tracks what the harness believes (which slot is a member, running,
// paused) and reads the truth from the admin API when it matters.
// It must never bind or dial outside 127.0.0.0/8, never leave a process it
// started running (PIDs are killed on cleanup, also on failure), and never
// change membership except through the admin API.
import fs from 'node:fs';
import { ReplicaCluster, type Cleanup, type MemberProcess } from '../../e2e/replica-cluster.ts';
import { startNetwork, type Network } from '../proxy/index.ts';

/** SlotState: spare (never started), joining (started, being added), member (in the configuration), gone (removed or abandoned). */
export type SlotState = 'spare' | 'joining' | 'member' | 'gone';

export interface ChaosSlot {
  readonly name: string;
  readonly process: MemberProcess;
  state: SlotState;
  /** founding members restart with --initial-cluster-state new, the others with existing */
  founding: boolean;
  /** the member id once known */
  id: number;
  paused: boolean;
}

/** AdminStatus is the part of Admin.Status the harness reads. */
export interface AdminStatus {
  memberId: number;
  name: string;
  term: number;
  leader: number;
  role: string;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  revision: number;
  configuration: { voters: number[]; votersOutgoing: number[]; learners: number[]; learnersNext: number[]; joint: boolean };
  members: { id: number; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean }[];
  checkpoints: { index: number; revision: number; digest: string }[];
  /** the member's view of the majority vote on checkpoint digests (state ok / divergent / unresolved / unknown) */
  divergence?: { state?: string; index?: number; digest?: string; majorityDigest?: string; divergentMembers?: (number | string)[]; reason?: string };
}

export interface ChaosClusterOptions {
  /** founding members (3 or 5) */
  size: number;
  /** extra addresses for members the membership nemesis may add */
  spares: number;
  /** flags given to every replica (snapshot counts, --unsafe-local-reads, ...) */
  flags: string[];
  /** member logs are appended to `<logDir>/<name>.log` */
  logDir?: string;
}

export class ChaosCluster {
  readonly replicas: ReplicaCluster;
  readonly network: Network;
  readonly slots: readonly ChaosSlot[];
  private readonly flags: string[];
  /** restarts counts process starts after the first, per slot name */
  restarts = 0;

  private constructor(replicas: ReplicaCluster, network: Network, slots: ChaosSlot[], flags: string[]) {
    this.replicas = replicas;
    this.network = network;
    this.slots = slots;
    this.flags = flags;
  }

  /** start allocates every slot, starts the proxies and founds the group; resolves once a leader is agreed on. */
  static async start(t: Cleanup, o: ChaosClusterOptions): Promise<ChaosCluster> {
    if (o.logDir) fs.mkdirSync(o.logDir, { recursive: true });
    const replicas = new ReplicaCluster(t, { logDir: o.logDir });
    const procs = Array.from({ length: o.size + o.spares }, () => replicas.define());
    const network = await startNetwork({ members: Object.fromEntries(procs.map((p) => [p.name, `${p.ip}:2380`])) });
    t.after(() => network.stop());
    const slots: ChaosSlot[] = procs.map((p, i) => ({ name: p.name, process: p, state: i < o.size ? 'member' : 'spare', founding: i < o.size, id: 0, paused: false }));
    const cluster = new ChaosCluster(replicas, network, slots, o.flags);
    for (const s of slots.slice(0, o.size)) cluster.launch(s);
    await cluster.waitFor('a leader all founding members agree on', async () => (await cluster.agreedLeader(cluster.members())) !== undefined, 30_000);
    for (const s of cluster.members()) s.id = (await cluster.status(s)).memberId;
    return cluster;
  }

  /** members are the slots the harness believes are in the configuration. */
  members(): ChaosSlot[] {
    return this.slots.filter((s) => s.state === 'member');
  }

  slot(name: string): ChaosSlot {
    const s = this.slots.find((x) => x.name === name);
    if (!s) throw new Error(`chaos: no slot named ${name}`);
    return s;
  }

  bySlotId(id: number): ChaosSlot | undefined {
    return id === 0 ? undefined : this.slots.find((s) => s.id === id);
  }

  /** running: the slot's process is alive (it may be paused). */
  running(s: ChaosSlot): boolean {
    const p = s.process.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** reachable: running and not paused, so it can answer. */
  reachable(s: ChaosSlot): boolean {
    return this.running(s) && !s.paused;
  }

  /** spare returns an unused slot, or undefined when all have been used. */
  spare(): ChaosSlot | undefined {
    return this.slots.find((s) => s.state === 'spare');
  }

  /** initialCluster lists the given slots plus `self` as NAME=PEER_URL. */
  private initialCluster(self: ChaosSlot): string {
    const listed = new Set([...this.slots.filter((s) => s.founding), self]);
    if (!self.founding) for (const s of this.slots) if (s.state === 'member' || s.state === 'joining') listed.add(s);
    return this.replicas.initialCluster([...listed].map((s) => s.process));
  }

  /** dialOverrides makes `self` reach every other slot through its own proxy. */
  private dialOverrides(self: ChaosSlot): string {
    return this.slots
      .filter((s) => s !== self)
      .map((s) => `${s.process.peerUrl}=http://${this.network.dialAddress(self.name, s.name)}`)
      .join(',');
  }

  /** launch starts (or restarts) a slot's process. */
  launch(s: ChaosSlot): void {
    if (this.running(s)) throw new Error(`chaos: ${s.name} is already running`);
    if (s.process.proc) this.restarts++;
    s.paused = false;
    this.replicas.start(s.process, s.founding ? 'new' : 'existing', this.initialCluster(s), [
      ...this.flags,
      '--peer-dial-overrides',
      this.dialOverrides(s),
    ]);
  }

  /**
   * restart launches a slot's process again and waits (up to timeoutMs) until it
   * answers Admin.Status, so the next fault does not land while it is still
   * booting. Returns false if it did not answer in time (it keeps starting).
   */
  async restart(s: ChaosSlot, timeoutMs = 20_000): Promise<boolean> {
    this.launch(s);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.running(s)) {
      if (await this.status(s).then(() => true, () => false)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** kill sends SIGKILL (resuming a paused process first is not needed: SIGKILL ends a stopped process) and waits for the exit. */
  async kill(s: ChaosSlot): Promise<void> {
    await this.replicas.kill(s.process);
    s.paused = false;
  }

  pause(s: ChaosSlot): void {
    if (!this.running(s)) return;
    this.replicas.signal(s.process, 'SIGSTOP');
    s.paused = true;
  }

  resume(s: ChaosSlot): void {
    if (this.running(s) && s.paused) this.replicas.signal(s.process, 'SIGCONT');
    s.paused = false;
  }

  status(s: ChaosSlot): Promise<AdminStatus> {
    return this.replicas.adminStatus(s.process) as Promise<AdminStatus>;
  }

  /** started: members and joiners (a joiner may already vote, or even lead, before the harness adopts it). */
  started(): ChaosSlot[] {
    return this.slots.filter((s) => s.state === 'member' || s.state === 'joining');
  }

  /** statuses asks every reachable slot of `among` (default: members and joiners) for its status; unanswered ones are left out. */
  async statuses(among: ChaosSlot[] = this.started()): Promise<Map<ChaosSlot, AdminStatus>> {
    const out = new Map<ChaosSlot, AdminStatus>();
    await Promise.all(
      among.filter((s) => this.reachable(s)).map(async (s) => {
        try {
          out.set(s, await this.status(s));
        } catch {
          // unreachable now: left out
        }
      }),
    );
    return out;
  }

  /** leader is the member (or joiner) that reports itself leader with the highest term among the reachable ones. */
  async leader(): Promise<{ slot: ChaosSlot; status: AdminStatus } | undefined> {
    let best: { slot: ChaosSlot; status: AdminStatus } | undefined;
    for (const [slot, st] of await this.statuses()) {
      if (st.role === 'leader' && (!best || st.term > best.status.term)) best = { slot, status: st };
    }
    return best;
  }

  /** agreedLeader: every given slot answers and names the same leader, which is one of them. */
  async agreedLeader(among: ChaosSlot[]): Promise<ChaosSlot | undefined> {
    const st = await this.statuses(among);
    if (st.size !== among.length) return undefined;
    const leaders = new Set([...st.values()].map((x) => x.leader));
    if (leaders.size !== 1) return undefined;
    const id = [...leaders][0];
    return among.find((s) => st.get(s)!.memberId === id);
  }

  /** admin calls an Admin method on a slot (any member relays writes to the leader). */
  admin<T = any>(s: ChaosSlot, method: string, req: object, timeoutMs = 30_000): Promise<T> {
    return this.replicas.admin(s.process, method, req, timeoutMs) as Promise<T>;
  }

  /**
   * reconcile makes the harness's view match the leader's configuration:
   * members no longer listed are killed and marked gone, joiners that were
   * never added are killed and abandoned, joiners that were added become
   * members. Returns the leader's status it used, or undefined without a leader.
   */
  async reconcile(): Promise<AdminStatus | undefined> {
    const leader = await this.leader();
    if (!leader) return undefined;
    const st = leader.status;
    const inConfig = new Set([...st.configuration.voters, ...st.configuration.votersOutgoing, ...st.configuration.learners, ...st.configuration.learnersNext]);
    for (const s of this.slots) {
      if (s.state !== 'member' && s.state !== 'joining') continue;
      const record = st.members.find((m) => m.peerUrls.includes(s.process.peerUrl));
      if (record && inConfig.has(record.id)) {
        s.id = record.id;
        s.state = 'member';
      } else {
        await this.kill(s);
        s.state = 'gone';
      }
    }
    return st;
  }

  async waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await probe().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`chaos: timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  /** logTail renders the end of every started member's log. */
  logTail(lines = 20): string {
    return this.slots
      .filter((s) => s.process.proc)
      .map((s) => `--- ${s.name} (${s.state}${this.running(s) ? '' : ', not running'})\n${s.process.log.slice(-lines).join('\n')}`)
      .join('\n');
  }
}
