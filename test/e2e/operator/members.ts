// Test-side view of a group's members through their admin API (what the
// replicas themselves say, as opposed to what the operator wrote in status):
// each member's Status at its pod IP, the leader, the real raft configuration
// by member names, and fault injection. A TLS member is called as the
// operator calls it: with the group's operator certificate, checking the
// member's host name. Must never change membership: only the operator does that.
import * as grpc from '@grpc/grpc-js';
import { clientConstructor, loadProtos } from '../../../proto/grpc.ts';
import { normalizeStatus, type AdminStatus } from '../../../operator/reconcile/index.ts';
import { NAMESPACE, type OperatorEnv } from './env.ts';

type Client = grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;
let ctor: grpc.ServiceClientConstructor | undefined;

/** MemberTls is how to call one TLS member's admin API: the group CA, a client certificate, the member's host name. */
export interface MemberTls {
  ca: string;
  cert: string;
  key: string;
  serverName: string;
}

/** operatorTls is the operator's way into `member` of `group` (undefined for a plaintext member). */
export function operatorTls(env: OperatorEnv, group: string, member: string): MemberTls | undefined {
  if (env.pod(member)?.metadata?.annotations?.['replicant.dev/tls'] !== 'true') return undefined;
  const d = env.lk.api.store.get('/secrets', NAMESPACE, `${group}-operator-tls`)?.data as Record<string, string> | undefined;
  if (!d) throw new Error(`${member} speaks TLS but Secret ${group}-operator-tls does not exist yet`);
  const text = (k: string) => Buffer.from(d[k] ?? '', 'base64').toString('utf8');
  return { ca: text('ca.crt'), cert: text('tls.crt'), key: text('tls.key'), serverName: `${member}.${group}-peer.${NAMESPACE}.svc.cluster.local` };
}

function client(ip: string, tls?: MemberTls): Client {
  ctor ??= clientConstructor(loadProtos('admin.proto'), 'replicant.admin.v1.Admin');
  if (!tls) return new ctor(`${ip}:2379`, grpc.credentials.createInsecure()) as unknown as Client;
  const creds = grpc.credentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert));
  return new ctor(`${ip}:2379`, creds, { 'grpc.ssl_target_name_override': tls.serverName }) as unknown as Client;
}

/** adminCall calls one admin method on host:2379 with a deadline (over TLS when `tls` is given). */
export function adminCall<T>(ip: string, method: string, req: unknown, timeoutMs = 3000, tls?: MemberTls): Promise<T> {
  const c = client(ip, tls);
  return new Promise<T>((resolve, reject) =>
    c[method](req, { deadline: Date.now() + timeoutMs }, (e, r) => {
      c.close();
      if (e) reject(e);
      else resolve(r as T);
    }),
  );
}

/**
 * watchConfiguration polls one member's Status over a single connection, as fast as it answers,
 * until `done` holds for its configuration (or the deadline passes); it reports whether a joint
 * configuration was seen on the way. Fast enough to see the few milliseconds a joint
 * configuration usually lasts, sometimes.
 */
export async function watchConfiguration(ip: string, done: (s: AdminStatus) => boolean, timeoutMs: number, tls?: MemberTls): Promise<{ sawJoint: boolean }> {
  const c = client(ip, tls);
  const deadline = Date.now() + timeoutMs;
  let sawJoint = false;
  try {
    while (Date.now() < deadline) {
      const s = await new Promise<AdminStatus | undefined>((resolve) => c.Status({}, { deadline: Date.now() + 2000 }, (e, r) => resolve(e ? undefined : normalizeStatus(r))));
      if (s?.configuration.joint) sawJoint = true;
      if (s && done(s)) return { sawJoint };
    }
    throw new Error(`configuration not reached within ${timeoutMs} ms`);
  } finally {
    c.close();
  }
}

export type MemberStatusRaw = AdminStatus & { divergence?: { state: string; index: number; digest: string; majorityDigest: string; divergentMembers: number[] } };

export async function adminStatus(ip: string, tls?: MemberTls): Promise<MemberStatusRaw> {
  const raw = await adminCall<MemberStatusRaw>(ip, 'Status', {}, 3000, tls);
  return { ...normalizeStatus(raw), divergence: raw.divergence };
}

/** statuses asks every running, non-terminating pod of the group; members that do not answer are left out. */
export async function statuses(env: OperatorEnv, group: string): Promise<Map<string, MemberStatusRaw>> {
  const out = new Map<string, MemberStatusRaw>();
  await Promise.all(
    env.pods(group).map(async (p) => {
      const ip = p.status?.podIP;
      if (!ip || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) return;
      try {
        out.set(p.metadata!.name!, await adminStatus(ip, operatorTls(env, group, p.metadata!.name!)));
      } catch {
        // not answering
      }
    }),
  );
  return out;
}

export interface RealConfiguration {
  leader: string;
  term: number;
  voters: string[];
  outgoing: string[];
  learners: string[];
  joint: boolean;
  /** commitIndex of the leader */
  commitIndex: number;
}

/** realConfiguration is the leader's own account of the configuration, by member names (from its member table). */
export async function realConfiguration(env: OperatorEnv, group: string): Promise<RealConfiguration | undefined> {
  const all = await statuses(env, group);
  const leaders = [...all.entries()].filter(([, s]) => s.role === 'leader').sort((a, b) => b[1].term - a[1].term);
  if (leaders.length === 0) return undefined;
  const [leader, s] = leaders[0];
  const nameOf = (id: number) => s.members.find((m) => m.id === id)?.name || `?${id.toString(16)}`;
  const names = (ids: number[]) => ids.map(nameOf).sort();
  const c = s.configuration;
  return {
    leader,
    term: s.term,
    voters: names(c.voters),
    outgoing: names(c.votersOutgoing),
    learners: names([...new Set([...c.learners, ...c.learnersNext])]),
    joint: c.joint,
    commitIndex: s.commitIndex,
  };
}

/** injectFault corrupts one member on purpose (the replica must run with --enable-fault-injection). */
export function injectFault(ip: string, kind: 'corrupt-value' | 'nondeterministic-apply', key: string, tls?: MemberTls): Promise<unknown> {
  return adminCall(ip, 'InjectFault', { kind, key: Buffer.from(key) }, 3000, tls);
}
