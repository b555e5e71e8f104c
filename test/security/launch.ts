// Test tooling for test/security: found a replica group and wait for its
// leader with a deadline that survives a heavily loaded machine (TLS start-up
// costs a little more), putting the members' logs in the error when it fails.
// Must never start anything it does not register with the cluster for cleanup.
import { ReplicaCluster, waitFor, type MemberProcess } from '../e2e/replica-cluster.ts';

export async function launch(cluster: ReplicaCluster, size: number, flags: string[] = [], timeoutMs = 60_000): Promise<MemberProcess[]> {
  const ms = Array.from({ length: size }, () => cluster.define());
  const ic = cluster.initialCluster(ms);
  for (const m of ms) cluster.start(m, 'new', ic, flags);
  try {
    await cluster.waitLeader(ms, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logTail()}`);
  }
  return ms;
}

/**
 * statusOf is the member's admin Status, retried for up to `timeoutMs`: the
 * harness gives one call 2 s, which a loaded machine doing TLS handshakes can
 * exceed.
 */
export async function statusOf(cluster: ReplicaCluster, m: MemberProcess, timeoutMs = 30_000): Promise<any> {
  return waitFor(`admin Status of ${m.name}`, () => cluster.adminStatus(m), timeoutMs);
}
