// A small, deterministic model of one ReplicaGroup's world for scenario tests:
// the Kubernetes objects the planner creates (pods run at once, volumes keep
// data, emptyDirs lose it), nodes, and a raft group that follows the admin API
// (ChangeMembership: learners -> catch-up -> joint -> leave joint; elections
// when a leader dies; TransferLeadership). Faults are knobs per member. It
// applies each Plan (status first, then the action) and checks invariants on
// every pass. Test tooling: must never be imported by the planner.
import assert from 'node:assert/strict';
import type { V1NetworkPolicy, V1Node, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1Secret, V1Service } from '@kubernetes/client-node';
import { caSecret, certificateSecret } from '../../kube/certificate-secrets.ts';
import { createCertificateAuthority, type Issuer } from '../../pki/index.ts';
import type { CertManagerCertificate } from '../cert-manager.ts';
import { issuedSecret } from './fake-issuer.ts';
import type { ReplicaGroup, ReplicaGroupSpec } from '../../api/index.ts';
import type { Action, GroupEvent, Plan } from '../actions.ts';
import { isDestructive } from '../actions.ts';
import type { AdminStatus } from '../admin.ts';
import { ANNOTATION_CLUSTER_STATE, LABEL_MEMBER, memberOfPeerUrl, pvcName } from '../names.ts';
import type { ActionFailure, MemberProbe, Observed } from '../observed.ts';
import type { PlannerOptions } from '../options.ts';
import { plan } from '../planner.ts';

export const T0 = Date.parse('2025-03-01T12:00:00Z');

export interface Faults {
  /** the container crash-loops: not running as a member at all. */
  crashLoop?: boolean;
  /** the admin API does not answer (the member still takes part in raft). */
  unreachable?: boolean;
  /** the member never catches up (a wedged learner). */
  neverCatchUp?: boolean;
  /** its state digest differs from everyone else's. */
  divergent?: boolean;
}

interface Data {
  id: number;
  applied: number;
}

export interface PassRecord {
  pass: number;
  at: number;
  step: string;
  action?: Action;
  events: GroupEvent[];
  phase?: string;
  /** operation is the in-flight operation's phase and message after the pass. */
  operation?: string;
}

export class World {
  now = T0;
  group: ReplicaGroup;
  pods = new Map<string, V1Pod>();
  pvcs = new Map<string, V1PersistentVolumeClaim>();
  services = new Map<string, V1Service>();
  pdbs = new Map<string, V1PodDisruptionBudget>();
  /** secrets hold real certificates, made by the wiring's own code (operator/kube/certificate-secrets.ts). */
  secrets = new Map<string, V1Secret>();
  networkPolicies = new Map<string, V1NetworkPolicy>();
  /** certificates are cert-manager Certificates the planner made (spec.tls.certManager). */
  certificates = new Map<string, CertManagerCertificate>();
  /**
   * certManager is a fake cert-manager with a CA issuer: before every pass it writes the Secret of each
   * Certificate that has none or whose spec changed (issues: false holds it back; withCaCrt: false
   * leaves ca.crt out; installed: false answers the list as if the CRD were missing).
   */
  certManager = { installed: true, issues: true, withCaCrt: true, ca: undefined as Issuer | undefined, issued: new Map<string, string>(), issueCount: 0 };
  private secretSeq = 0;
  private certificateSeq = 0;
  nodes = new Map<string, string>([['n1', 'True'], ['n2', 'True'], ['n3', 'True']]);
  nodeSince = new Map<string, number>();
  /** data per member name: in the PVC when there is one, else in the pod's emptyDir. */
  data = new Map<string, Data>();
  faults = new Map<string, Faults>();
  /** raft truth */
  voters: number[] = [];
  outgoing: number[] = [];
  learners: number[] = [];
  leader = 0;
  term = 0;
  commit = 0;
  table = new Map<number, string>();
  removedIds = new Set<number>();
  private nextId = 0x101;
  private nodeRobin = 0;
  private readySince = new Map<string, { ready: boolean; since: number }>();
  private podSeq = 0;
  failures: ActionFailure[] = [];
  /** interrupt makes the next ChangeMembership stop mid-way, as if the operator died there. */
  interrupt?: 'afterLearnerAdd' | 'afterEnterJoint';
  /**
   * startup makes new pods slow, as on a loaded node: the container runs but its startup probe
   * passes only after startedAfterMs, and the pod is Ready no earlier than readyAfterMs (from creation).
   */
  startup?: { startedAfterMs: number; readyAfterMs: number };
  /** refuseTransfers makes TransferLeadership fail. */
  refuseTransfers = false;
  outcomes = new Map<string, string | undefined>();
  history: PassRecord[] = [];
  options: Partial<PlannerOptions>;

  constructor(spec: ReplicaGroupSpec, options: Partial<PlannerOptions> = {}) {
    this.group = {
      apiVersion: 'replicant.dev/v1alpha1',
      kind: 'ReplicaGroup',
      metadata: { name: 'g', namespace: 'ns', uid: 'uid-1', generation: 1, finalizers: [], creationTimestamp: new Date(T0).toISOString() },
      spec,
    };
    this.options = options;
  }

  // ---- knobs ----

  setSpec(spec: ReplicaGroupSpec): void {
    this.group.spec = spec;
    this.group.metadata.generation = (this.group.metadata.generation ?? 0) + 1;
  }

  fault(name: string, f: Faults): void {
    this.faults.set(name, { ...this.faults.get(name), ...f });
  }

  heal(name: string): void {
    this.faults.delete(name);
  }

  setNode(name: string, ready: 'True' | 'False' | 'Unknown'): void {
    this.nodes.set(name, ready);
    this.nodeSince.set(name, this.now);
    // A node that is back lets the deletions it held finish.
    if (ready === 'True') {
      for (const [pod, p] of this.pods) if (p.metadata?.deletionTimestamp && p.spec?.nodeName === name) this.deletePod(pod);
    }
  }

  /** deletePVCFromOutside deletes a claim as a user would (it waits for its pod, like pvc-protection). */
  deletePVCFromOutside(name: string): void {
    this.deletePVC(name);
  }

  /** killPod deletes a pod from outside (like kubectl delete or an eviction). */
  killPod(name: string): void {
    this.deletePod(name);
  }

  idOf(name: string): number | undefined {
    return this.data.get(name)?.id;
  }

  nameOf(id: number): string {
    return this.table.get(id) ?? `?${id}`;
  }

  config(): string {
    const names = (ids: number[]) => ids.map((i) => this.nameOf(i)).sort().join(' ');
    return `(${names(this.voters)})${this.outgoing.length ? `&&(${names(this.outgoing)})` : ''}${this.learners.length ? ` learners(${names(this.learners)})` : ''}`;
  }

  leaderName(): string | undefined {
    return this.leader ? this.nameOf(this.leader) : undefined;
  }

  // ---- model ----

  private podOf(name: string): V1Pod | undefined {
    const p = this.pods.get(name);
    return p && !p.metadata?.deletionTimestamp ? p : undefined;
  }

  /** alive: the member's process runs and takes part in raft. */
  alive(name: string): boolean {
    const pod = this.podOf(name);
    if (!pod || this.faults.get(name)?.crashLoop) return false;
    return this.nodes.get(pod.spec!.nodeName!) === 'True';
  }

  private aliveId(id: number): boolean {
    return this.table.has(id) && this.alive(this.nameOf(id)) && this.data.get(this.nameOf(id))?.id === id;
  }

  private inConfig(id: number): boolean {
    return this.voters.includes(id) || this.outgoing.includes(id) || this.learners.includes(id);
  }

  private quorumAlive(voters: number[] = this.voters, outgoing: number[] = this.outgoing): boolean {
    const ok = (h: number[]) => h.length === 0 || h.filter((id) => this.aliveId(id)).length >= Math.floor(h.length / 2) + 1;
    return voters.length > 0 && ok(voters) && ok(outgoing);
  }

  private caughtUp(name: string): boolean {
    return this.alive(name) && !this.faults.get(name)?.neverCatchUp;
  }

  /** elect keeps a live leader or elects the lowest live voter when a quorum is alive. */
  private elect(): void {
    if (this.leader && this.aliveId(this.leader) && (this.voters.includes(this.leader) || this.outgoing.includes(this.leader)) && this.quorumAlive()) return;
    this.leader = 0;
    if (!this.quorumAlive()) return;
    const candidates = this.voters.filter((id) => this.aliveId(id)).sort((a, b) => a - b);
    if (candidates.length) {
      this.leader = candidates[0];
      this.term++;
    }
  }

  /** form bootstraps raft once a majority of the founding pods run. */
  private form(): void {
    if (this.voters.length > 0) return;
    const founding = [...this.pods.values()].filter((p) => p.metadata?.annotations?.[ANNOTATION_CLUSTER_STATE] === 'new');
    if (founding.length === 0) return;
    const arg = founding[0].spec!.containers[0].args!.find((a) => a.startsWith('--initial-cluster='))!;
    const names = arg.slice('--initial-cluster='.length).split(',').map((p) => p.split('=')[0]);
    for (const n of names) {
      if (!this.data.has(n) && this.pods.has(n)) {
        const id = 0x10 + names.indexOf(n);
        this.data.set(n, { id, applied: 0 });
      }
    }
    const ids = names.map((n, i) => 0x10 + i);
    for (const [i, n] of names.entries()) this.table.set(ids[i], n);
    if (names.filter((n) => this.alive(n)).length >= Math.floor(names.length / 2) + 1) {
      this.voters = ids;
      this.elect();
    } else {
      for (const id of ids) this.table.delete(id);
    }
  }

  /** tick advances time: the leader commits entries, live caught-up members apply them. */
  tick(ms: number): void {
    this.now += ms;
    // pvc-protection: a claim being deleted goes once no pod uses it.
    for (const [name, pvc] of [...this.pvcs]) {
      const member = name.replace(/^data-/, '');
      if (pvc.metadata?.deletionTimestamp && !this.pods.has(member)) {
        this.pvcs.delete(name);
        this.data.delete(member);
      }
    }
    this.form();
    this.elect();
    if (this.leader) this.commit += Math.max(1, Math.round(ms / 100));
    for (const [name, d] of this.data) {
      if (this.inConfig(d.id) && this.caughtUp(name) && this.leader) d.applied = this.commit;
    }
  }

  // ---- observation ----

  private readiness(name: string): boolean {
    const d = this.data.get(name);
    return !!d && this.alive(name) && this.inConfig(d.id) && this.leader !== 0 && this.caughtUp(name);
  }

  private observePod(pod: V1Pod): V1Pod {
    const name = pod.metadata!.name!;
    const f = this.faults.get(name) ?? {};
    const age = this.now - millisOf(pod.metadata?.creationTimestamp);
    const started = !this.startup || age >= this.startup.startedAfterMs;
    const ready = this.readiness(name) && (!this.startup || age >= this.startup.readyAfterMs);
    const prev = this.readySince.get(name);
    // A new pod is not Ready from its start (as the kubelet reports it).
    if (!prev) this.readySince.set(name, { ready, since: ready ? this.now : millisOf(pod.metadata?.creationTimestamp) });
    else if (prev.ready !== ready) this.readySince.set(name, { ready, since: this.now });
    const since = this.readySince.get(name)!.since;
    return {
      ...pod,
      status: {
        phase: 'Running',
        podIP: `127.0.1.${10 + Number(pod.metadata!.uid!.split('-')[1])}`,
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date(since) }],
        containerStatuses: [
          {
            name: 'replica',
            image: pod.spec!.containers[0].image!,
            imageID: '',
            ready,
            restartCount: f.crashLoop ? 4 : 0,
            state: f.crashLoop
              ? { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } }
              : { running: this.startup ? { startedAt: pod.metadata?.creationTimestamp } : {} },
            ...(this.startup && !f.crashLoop ? { started } : {}),
          },
        ],
      },
    };
  }

  private statusOf(name: string): AdminStatus {
    const d = this.data.get(name);
    const id = d && this.table.get(d.id) === name ? d.id : 0;
    const member = id !== 0 && this.inConfig(id);
    const isLeader = member && id === this.leader;
    return {
      memberId: id,
      name,
      clusterId: 1,
      term: this.term,
      leader: member ? this.leader : 0,
      role: isLeader ? 'leader' : 'follower',
      commitIndex: member ? this.commit : 0,
      appliedIndex: d?.applied ?? 0,
      lastIndex: member ? this.commit : 0,
      configuration: member
        ? { voters: [...this.voters], votersOutgoing: [...this.outgoing], learners: [...this.learners], learnersNext: [], joint: this.outgoing.length > 0 }
        : { voters: [], votersOutgoing: [], learners: [], learnersNext: [], joint: false },
      members: member
        ? [...this.table].filter(([i]) => this.inConfig(i)).map(([i, n]) => ({
            id: i,
            name: this.alive(n) ? n : '',
            peerUrls: [`http://${n}.g-peer.ns.svc.cluster.local:2380`],
            clientUrls: [],
            isLearner: this.learners.includes(i),
          }))
        : [],
      progress: isLeader
        ? [...this.voters, ...this.outgoing, ...this.learners].map((i) => ({
            id: i,
            match: this.data.get(this.nameOf(i))?.applied ?? 0,
            next: this.commit + 1,
            state: 'replicate',
            recentActive: this.aliveId(i),
            isLearner: this.learners.includes(i),
          }))
        : [],
      checkpoints: d && d.applied >= 100 ? [{ index: 100, revision: 1, digest: this.faults.get(name)?.divergent ? 'bad' : 'good' }] : [],
    };
  }

  observe(): Observed {
    const probes: Record<string, MemberProbe> = {};
    for (const [name] of this.pods) {
      if (!this.alive(name)) continue;
      probes[name] = this.faults.get(name)?.unreachable ? { error: 'connect ECONNREFUSED' } : { status: this.statusOf(name) };
    }
    return {
      now: this.now,
      group: structuredClone(this.group),
      pods: [...this.pods.values()].map((p) => this.observePod(p)),
      pvcs: [...this.pvcs.values()].map((p) => structuredClone(p)),
      services: [...this.services.values()],
      pdbs: [...this.pdbs.values()],
      secrets: [...this.secrets.values()].map((x) => structuredClone(x)),
      networkPolicies: [...this.networkPolicies.values()].map((x) => structuredClone(x)),
      ...(this.group.spec.tls?.certManager
        ? this.certManager.installed
          ? { certificates: [...this.certificates.values()].map((x) => structuredClone(x)) }
          : { certificatesError: 'the certificates.cert-manager.io API is not served: cert-manager is not installed' }
        : {}),
      nodes: [...this.nodes].map(([name, ready]) => ({
        metadata: { name },
        status: { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: new Date(this.nodeSince.get(name) ?? T0 - 86_400_000) }] },
      })) as V1Node[],
      probes,
      failures: [...this.failures],
    };
  }

  // ---- actions ----

  private fail(action: Action, message: string): void {
    this.failures.push({ key: action.key, message, at: this.now });
  }

  private deletePod(name: string): void {
    const pod = this.pods.get(name);
    if (!pod) return;
    // On a node that is away the pod only gets a deletionTimestamp: nobody is there to stop it.
    if (this.nodes.get(pod.spec?.nodeName ?? '') !== 'True' && !pod.metadata?.deletionTimestamp) {
      pod.metadata = { ...pod.metadata, deletionTimestamp: new Date(this.now) };
      return;
    }
    if (this.nodes.get(pod.spec?.nodeName ?? '') !== 'True') return;
    this.pods.delete(name);
    this.readySince.delete(name);
    if (!this.pvcs.has(pvcName(name))) this.data.delete(name);
  }

  /** deletePVC removes a claim, or marks it deleted while a pod (even a terminating one) still uses it. */
  private deletePVC(name: string): void {
    const pvc = this.pvcs.get(name);
    if (!pvc) return;
    const member = name.replace(/^data-/, '');
    if (this.pods.has(member)) {
      pvc.metadata = { ...pvc.metadata, deletionTimestamp: pvc.metadata?.deletionTimestamp ?? new Date(this.now) };
      return;
    }
    this.pvcs.delete(name);
    this.data.delete(member);
  }

  /** putSecret stores a Secret as the API server would (uid kept on update, a new resourceVersion). */
  putSecret(secret: V1Secret, uid?: string): void {
    const seq = ++this.secretSeq;
    this.secrets.set(secret.metadata!.name!, { ...secret, metadata: { ...secret.metadata, uid: uid ?? `secret-${seq}`, resourceVersion: String(seq) } });
  }

  apply(action: Action): void {
    switch (action.kind) {
      case 'AddFinalizer':
        this.group.metadata.finalizers = [...(this.group.metadata.finalizers ?? []), action.finalizer];
        return;
      case 'RemoveFinalizer':
        this.group.metadata.finalizers = (this.group.metadata.finalizers ?? []).filter((f) => f !== action.finalizer);
        return;
      case 'CreateService':
      case 'UpdateService': {
        // The API server gives a non-headless Service a cluster IP (and keeps it on updates).
        const svc = structuredClone(action.service);
        const ip = this.services.get(svc.metadata!.name!)?.spec?.clusterIP ?? (svc.spec?.clusterIP === 'None' ? 'None' : '10.96.0.17');
        this.services.set(svc.metadata!.name!, { ...svc, spec: { ...svc.spec, clusterIP: ip } });
        return;
      }
      case 'CreateNetworkPolicy':
      case 'UpdateNetworkPolicy':
        this.networkPolicies.set(action.policy.metadata!.name!, structuredClone(action.policy));
        return;
      case 'CreatePodDisruptionBudget':
      case 'UpdatePodDisruptionBudget':
        this.pdbs.set(action.pdb.metadata!.name!, structuredClone(action.pdb));
        return;
      case 'CreatePVC': {
        const name = action.pvc.metadata!.name!;
        if (!this.pvcs.has(name)) this.pvcs.set(name, { ...structuredClone(action.pvc), metadata: { ...action.pvc.metadata, uid: `pvc-${name}` } });
        return;
      }
      case 'CreatePod': {
        const name = action.pod.metadata!.name!;
        if (this.pods.has(name)) return;
        for (const v of action.pod.spec?.volumes ?? []) {
          if (v.secret) assert.ok(this.secrets.has(v.secret.secretName!), `pod ${name} created before its Secret ${v.secret.secretName}`);
        }
        const nodes = [...this.nodes.keys()].filter((n) => this.nodes.get(n) === 'True');
        const nodeName = nodes[this.nodeRobin++ % nodes.length];
        const uid = `pod-${++this.podSeq}`;
        this.pods.set(name, { ...structuredClone(action.pod), metadata: { ...structuredClone(action.pod.metadata), uid, creationTimestamp: new Date(this.now) }, spec: { ...structuredClone(action.pod.spec!), nodeName } });
        // A member finds its id by its peer URL in the member table (founding members derive the same one).
        if (!this.data.has(name)) {
          const id = [...this.table].find(([i, n]) => n === name && !this.removedIds.has(i))?.[0];
          if (id !== undefined) this.data.set(name, { id, applied: 0 });
        }
        return;
      }
      case 'DeletePod': {
        const pod = this.pods.get(action.name);
        if (pod && (!action.uid || pod.metadata?.uid === action.uid)) this.deletePod(action.name);
        return;
      }
      case 'DeletePVC':
        this.deletePVC(action.name);
        return;
      case 'RetainPVC': {
        const pvc = this.pvcs.get(action.name);
        if (pvc) pvc.metadata!.labels = { ...pvc.metadata!.labels, ...action.labels };
        return;
      }
      case 'CreateCertificateAuthority': {
        const name = action.metadata.name!;
        if (!this.secrets.has(name)) this.putSecret(caSecret(action, new Date(this.now)));
        return;
      }
      case 'IssueCertificate': {
        const name = action.metadata.name!;
        const ca = this.secrets.get(action.caSecret);
        if (!ca) return this.fail(action, `secret ${action.caSecret} not found`);
        const existing = this.secrets.get(name);
        if (existing && existing.metadata?.resourceVersion !== action.resourceVersion) {
          if (action.resourceVersion) return this.fail(action, 'conflict');
          return; // created by someone else meanwhile: AlreadyExists is done
        }
        if (!existing && action.resourceVersion) return this.fail(action, 'not found');
        this.putSecret(certificateSecret(action, ca, new Date(this.now)), existing?.metadata?.uid);
        return;
      }
      case 'DeleteSecret': {
        const s = this.secrets.get(action.name);
        if (s && (!action.uid || s.metadata?.uid === action.uid)) this.secrets.delete(action.name);
        return;
      }
      case 'CreateCertificate': {
        const name = action.certificate.metadata!.name!;
        if (!this.certManager.installed) return this.fail(action, 'the server could not find the requested resource');
        if (!this.certificates.has(name)) {
          const seq = ++this.certificateSeq;
          this.certificates.set(name, { ...structuredClone(action.certificate), metadata: { ...structuredClone(action.certificate.metadata), uid: `certificate-${seq}`, resourceVersion: `c${seq}` } });
        }
        return;
      }
      case 'UpdateCertificate': {
        const name = action.certificate.metadata!.name!;
        const c = this.certificates.get(name);
        if (!c) return this.fail(action, 'not found');
        if (action.resourceVersion && c.metadata?.resourceVersion !== action.resourceVersion) return this.fail(action, 'conflict');
        const seq = ++this.certificateSeq;
        this.certificates.set(name, { ...c, metadata: { ...c.metadata, resourceVersion: `c${seq}` }, spec: structuredClone(action.certificate.spec) });
        return;
      }
      case 'DeleteCertificate': {
        const c = this.certificates.get(action.name);
        if (c && (!action.uid || c.metadata?.uid === action.uid)) this.certificates.delete(action.name);
        return;
      }
      case 'AdoptSecret': {
        const s = this.secrets.get(action.name);
        if (!s) return;
        if (action.resourceVersion && s.metadata?.resourceVersion !== action.resourceVersion) return this.fail(action, 'conflict');
        this.putSecret({ ...s, metadata: { ...s.metadata, ownerReferences: structuredClone(action.ownerReferences) } }, s.metadata?.uid);
        return;
      }
      case 'TransferLeadership': {
        const target = action.request.target;
        if (this.refuseTransfers || this.nameOf(this.leader) !== action.member || !this.aliveId(target) || !this.voters.includes(target)) {
          return this.fail(action, 'transfer refused');
        }
        this.leader = target;
        this.term++;
        return;
      }
      case 'ChangeMembership':
        return this.changeMembership(action);
    }
  }

  private changeMembership(action: Extract<Action, { kind: 'ChangeMembership' }>): void {
    const r = action.request;
    if (this.outcomes.has(r.requestId)) {
      const o = this.outcomes.get(r.requestId);
      if (o) this.fail(action, o);
      return;
    }
    const finish = (failure?: string) => {
      this.outcomes.set(r.requestId, failure);
      if (failure) this.fail(action, failure);
    };
    if (this.nameOf(this.leader) !== action.member) return this.fail(action, `not the leader (leader is ${this.leaderName()})`);
    if (!this.quorumAlive()) return finish('no quorum');
    const empty = r.add.length === 0 && r.promote.length === 0 && r.remove.length === 0;
    if (this.outgoing.length > 0) {
      if (!empty) return finish('a joint configuration is pending');
      this.leaveJoint();
      return finish();
    }
    if (empty) return finish();
    for (const a of r.add) {
      const name = memberOfPeerUrl(a.peerUrls[0])!;
      assert.equal(name, a.name);
      const id = this.nextId++;
      this.table.set(id, name);
      this.learners.push(id);
      if (this.pods.has(name) && !this.data.has(name)) this.data.set(name, { id, applied: 0 });
    }
    if (this.interrupt === 'afterLearnerAdd') {
      this.interrupt = undefined;
      return; // the operator died while the replica waited for catch-up; no outcome reaches it
    }
    const added = r.add.map((a) => [...this.table].find(([i, n]) => n === a.name && this.learners.includes(i))![0]);
    const promote = [...added, ...r.promote];
    for (const id of promote) {
      if (!this.learners.includes(id)) return finish(`${id} is not a learner`);
      if (!this.caughtUp(this.nameOf(id))) return finish(`learner ${this.nameOf(id)} made no progress within the catch-up timeout`);
      this.data.get(this.nameOf(id))!.applied = this.commit;
    }
    const removeVoters = r.remove.filter((id) => this.voters.includes(id));
    const removeLearners = r.remove.filter((id) => this.learners.includes(id));
    if (promote.length === 0 && removeVoters.length === 0) {
      // Only learners leave: a simple change.
      this.learners = this.learners.filter((id) => !removeLearners.includes(id));
      for (const id of removeLearners) this.forget(id);
      return finish();
    }
    const next = [...this.voters.filter((id) => !removeVoters.includes(id)), ...promote];
    const healthyNext = next.filter((id) => this.aliveId(id)).length;
    if (healthyNext < Math.floor(next.length / 2) + 1) return finish('the change would leave fewer healthy voters than a quorum');
    this.outgoing = this.voters;
    this.voters = next;
    this.learners = this.learners.filter((id) => !promote.includes(id) && !removeLearners.includes(id));
    for (const id of removeLearners) this.forget(id);
    if (this.interrupt === 'afterEnterJoint') {
      this.interrupt = undefined;
      return;
    }
    this.leaveJoint();
    finish();
  }

  private forget(id: number): void {
    this.removedIds.add(id);
  }

  private leaveJoint(): void {
    for (const id of this.outgoing) if (!this.voters.includes(id)) this.forget(id);
    this.outgoing = [];
    if (!this.voters.includes(this.leader)) this.leader = 0;
    this.elect();
  }

  // ---- driving ----

  /** runCertManager is the fake cert-manager's turn: (re)issue the Secrets of Certificates that need it. */
  runCertManager(): void {
    const cm = this.certManager;
    if (!cm.installed || !cm.issues) return;
    for (const [name, cert] of this.certificates) {
      const spec = JSON.stringify(cert.spec);
      const secretName = cert.spec!.secretName;
      if (this.secrets.has(secretName) && cm.issued.get(name) === spec) continue;
      cm.ca ??= createCertificateAuthority({ commonName: 'test cert-manager CA', validityDays: 3650, now: new Date(T0) });
      const existing = this.secrets.get(secretName);
      const fresh = issuedSecret(cert, cm.ca, new Date(this.now), { withCaCrt: cm.withCaCrt });
      // cert-manager keeps metadata others added (owner references) when it rewrites a Secret.
      if (existing?.metadata?.ownerReferences) fresh.metadata!.ownerReferences = existing.metadata.ownerReferences;
      this.putSecret(fresh, existing?.metadata?.uid);
      cm.issued.set(name, spec);
      cm.issueCount++;
    }
  }

  /** pass runs the planner once, applies status then action, checks invariants, and records it. */
  pass(): Plan {
    this.runCertManager();
    const observed = this.observe();
    const p = plan(observed, this.options);
    this.checkInvariants(observed, p);
    this.group.status = structuredClone(p.status);
    if (p.action) this.apply(p.action);
    this.history.push({ pass: this.history.length, at: this.now, step: p.step, action: p.action, events: p.events, phase: p.status.phase, operation: p.status.operation ? `${p.status.operation.phase}: ${p.status.operation.message ?? ''}` : undefined });
    return p;
  }

  /** run passes (advancing time between them) until `done` holds after a pass; fails after maxPasses. */
  run(done: (p: Plan) => boolean, maxPasses = 200, stepMs = 1000): Plan {
    for (let i = 0; i < maxPasses; i++) {
      const p = this.pass();
      if (done(p)) return p;
      this.tick(Math.min(stepMs, Math.max(100, p.requeueAfterMs)));
    }
    assert.fail(`not done after ${maxPasses} passes; last steps: ${this.history.slice(-5).map((h) => `${h.step}:${h.action?.description ?? '-'}`).join(' | ')}; config ${this.config()}`);
  }

  /** settle runs until the planner reaches its steady step with nothing to do. */
  settle(maxPasses = 200): Plan {
    return this.run((p) => p.step === 'steady' && !p.action, maxPasses);
  }

  actions(): Action[] {
    return this.history.filter((h) => h.action).map((h) => h.action!);
  }

  events(): GroupEvent[] {
    return this.history.flatMap((h) => h.events);
  }

  /** invariants every plan must keep, from the world's own point of view. */
  checkInvariants(observed: Observed, p: Plan): void {
    const vetoes = p.events.filter((e) => e.reason === 'SafetyVeto');
    assert.deepEqual(vetoes, [], 'the guard had to veto an action');
    const a = p.action;
    if (!a || observed.group.metadata.deletionTimestamp) return;
    if (isDestructive(a)) {
      // Independent oracle: a majority of each half runs, is Ready and answers Status.
      const healthy = (id: number) => {
        const name = this.nameOf(id);
        return this.alive(name) && !this.faults.get(name)?.unreachable && this.readiness(name);
      };
      const halves = this.outgoing.length ? [this.voters, this.outgoing] : [this.voters];
      const quorate = this.voters.length > 0 && halves.every((h) => h.filter(healthy).length >= Math.floor(h.length / 2) + 1);
      assert.ok(quorate, `destructive action without a healthy quorum: ${a.description} (config ${this.config()})`);
    }
    if (a.kind === 'ChangeMembership') {
      assert.ok(!a.request.remove.includes(this.leader), `removes the leader: ${a.description}`);
      assert.equal(a.member, this.leaderName(), 'ChangeMembership goes to the leader');
    }
    if (a.kind === 'DeletePod' && a.reason !== 'Recover' && a.reason !== 'Restart') {
      const id = this.data.get(a.name)?.id;
      assert.ok(id === undefined || !this.inConfig(id) || this.removedIds.has(id), `deletes the pod of member ${a.name} still in ${this.config()}`);
    }
  }

  memberNames(): string[] {
    return [...this.pods.keys()].sort();
  }

  labelsOf(pod: string): Record<string, string> {
    return this.pods.get(pod)?.metadata?.labels ?? {};
  }

  memberLabel(pod: string): string | undefined {
    return this.labelsOf(pod)[LABEL_MEMBER];
  }
}

function millisOf(t: Date | string | undefined): number {
  return t === undefined ? 0 : new Date(t).getTime();
}
