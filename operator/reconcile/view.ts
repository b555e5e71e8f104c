// The group as one coherent picture, built from Observed: which configuration
// is authoritative (the leader's, else the most advanced member's, else the
// last one written to status), the id <-> name mapping of members, and per
// member its pod, volume, own Status, the leader's progress for it and its lag.
// Pure: must never judge health or decide anything.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { MemberStatus, ReplicaGroupStatus } from '../api/index.ts';
import { normalizeStatus, parseHexId, type AdminMember, type AdminPeerProgress, type AdminStatus } from './admin.ts';
import { LABEL_GROUP, LABEL_MEMBER, LABEL_RETAINED, memberOfPeerUrl, memberOfPvc, ordinalOf } from './names.ts';
import type { MemberProbe, Observed } from './observed.ts';
import type { Configuration } from './quorum.ts';

export interface MemberView {
  name: string;
  id?: number;
  ordinal?: number;
  pod?: V1Pod;
  pvc?: V1PersistentVolumeClaim;
  probe?: MemberProbe;
  /** status is the member's own answer to Status, when it answered. */
  status?: AdminStatus;
  previous?: MemberStatus;
  isVoter: boolean;
  isOutgoing: boolean;
  isLearner: boolean;
  progress?: AdminPeerProgress;
  /** lag: entries behind the leader's commit index, when known. */
  lag?: number;
}

export type ConfigSource = 'leader' | 'member' | 'status' | 'none';

export interface GroupView {
  config?: Configuration;
  configSource: ConfigSource;
  /** leaderId is the leader named by the authoritative Status (0 or undefined: none). */
  leaderId?: number;
  /** leaderStatus is the leader's own Status, when it answered. */
  leaderStatus?: AdminStatus;
  /** memberList is the replicated member table of the authoritative Status. */
  memberList: AdminMember[];
  members: Map<string, MemberView>;
  nameOf(id: number): string;
  idOf(name: string): number | undefined;
}

/** unknownMemberName names an id the operator cannot map to a pod (e.g. a member added by hand). */
export function unknownMemberName(id: number): string {
  return `unknown-${id.toString(16)}`;
}

function authoritative(statuses: AdminStatus[]): { status?: AdminStatus; source: ConfigSource } {
  const leaders = statuses.filter((s) => s.role === 'leader' && s.leader === s.memberId);
  const order = (a: AdminStatus, b: AdminStatus) => b.term - a.term || b.commitIndex - a.commitIndex || b.appliedIndex - a.appliedIndex;
  if (leaders.length > 0) return { status: [...leaders].sort(order)[0], source: 'leader' };
  const known = statuses.filter((s) => s.configuration.voters.length > 0);
  if (known.length > 0) return { status: [...known].sort(order)[0], source: 'member' };
  return { source: 'none' };
}

function configOf(s: AdminStatus): Configuration {
  const c = s.configuration;
  return {
    voters: [...c.voters],
    outgoing: c.joint ? [...c.votersOutgoing] : [],
    learners: [...new Set([...c.learners, ...c.learnersNext])],
    joint: c.joint,
  };
}

/** buildView assembles the GroupView of one pass. */
export function buildView(obs: Observed): GroupView {
  const group = obs.group.metadata.name!;
  const prev: ReplicaGroupStatus = obs.group.status ?? {};
  const statuses = new Map<string, AdminStatus>();
  for (const [pod, probe] of Object.entries(obs.probes)) {
    if ('status' in probe) statuses.set(pod, normalizeStatus(probe.status));
  }
  const auth = authoritative([...statuses.values()]);

  const nameToId = new Map<string, number>();
  const idToName = new Map<number, string>();
  const bind = (name: string | undefined, id: number | undefined) => {
    if (!name || !id || nameToId.has(name) || idToName.has(id)) return;
    nameToId.set(name, id);
    idToName.set(id, name);
  };
  for (const [pod, s] of statuses) bind(pod, s.memberId);
  const memberLists = [auth.status, ...statuses.values()].filter((s): s is AdminStatus => !!s);
  for (const s of memberLists) for (const m of s.members) bind(m.name || memberOfPeerUrl(m.peerUrls[0] ?? ''), m.id);
  for (const m of prev.members ?? []) bind(m.name, parseHexId(m.id));
  for (const m of [...(prev.operation?.add ?? []), ...(prev.operation?.remove ?? [])]) bind(m.name, parseHexId(m.id));

  let config: Configuration | undefined;
  let source: ConfigSource = auth.source;
  if (auth.status) config = configOf(auth.status);
  else if (prev.configuration && prev.configuration.voters.length > 0) {
    const ids = (names: string[]) => names.map((n) => nameToId.get(n));
    const c = prev.configuration;
    const all = [...ids(c.voters), ...ids(c.outgoing), ...ids(c.learners)];
    if (all.every((id) => id !== undefined)) {
      config = { voters: ids(c.voters) as number[], outgoing: ids(c.outgoing) as number[], learners: ids(c.learners) as number[], joint: c.joint };
      source = 'status';
    } else source = 'none';
  }
  const nameOf = (id: number) => idToName.get(id) ?? unknownMemberName(id);

  const leaderId = auth.status && auth.status.leader !== 0 ? auth.status.leader : undefined;
  const leaderStatus = leaderId !== undefined ? [...statuses.values()].find((s) => s.memberId === leaderId && s.role === 'leader') : undefined;

  const members = new Map<string, MemberView>();
  const view = (name: string): MemberView => {
    let m = members.get(name);
    if (!m) {
      m = { name, id: nameToId.get(name), ordinal: ordinalOf(group, name), isVoter: false, isOutgoing: false, isLearner: false };
      members.set(name, m);
    }
    return m;
  };
  if (config) {
    for (const id of config.voters) view(nameOf(id)).isVoter = true;
    for (const id of config.outgoing) view(nameOf(id)).isOutgoing = true;
    for (const id of config.learners) view(nameOf(id)).isLearner = true;
  }
  for (const pod of obs.pods) {
    if (pod.metadata?.labels?.[LABEL_GROUP] !== group) continue;
    const name = pod.metadata.labels[LABEL_MEMBER] ?? pod.metadata.name!;
    const m = view(name);
    // Of two pods for one member (an old one terminating), prefer the live one.
    if (!m.pod || (m.pod.metadata?.deletionTimestamp && !pod.metadata.deletionTimestamp)) m.pod = pod;
  }
  for (const pvc of obs.pvcs) {
    if (pvc.metadata?.labels?.[LABEL_RETAINED]) continue;
    // A volume being deleted is gone already: its data cannot bring a member back (and pvc-protection
    // only keeps it until the pod that uses it is gone), so nothing is recreated on it or deleted again.
    if (pvc.metadata?.deletionTimestamp) continue;
    if (pvc.metadata?.labels?.[LABEL_GROUP] !== group) continue;
    const name = pvc.metadata.labels[LABEL_MEMBER] ?? memberOfPvc(pvc.metadata.name!);
    if (name) view(name).pvc = pvc;
  }
  for (const m of [...(prev.operation?.add ?? []), ...(prev.operation?.remove ?? [])]) view(m.name);
  for (const p of prev.members ?? []) if (members.has(p.name)) members.get(p.name)!.previous = p;
  for (const m of members.values()) {
    const podName = m.pod?.metadata?.name;
    if (podName && obs.probes[podName]) m.probe = obs.probes[podName];
    if (podName && statuses.has(podName)) m.status = statuses.get(podName);
    if (m.id !== undefined && leaderStatus) m.progress = leaderStatus.progress.find((p) => p.id === m.id);
    if (leaderStatus) {
      if (m.status) m.lag = Math.max(0, leaderStatus.commitIndex - m.status.appliedIndex);
      else if (m.progress) m.lag = Math.max(0, leaderStatus.commitIndex - m.progress.match);
    }
  }
  return {
    config,
    configSource: source,
    leaderId,
    leaderStatus,
    memberList: auth.status?.members ?? [],
    members,
    nameOf,
    idOf: (name) => nameToId.get(name),
  };
}
