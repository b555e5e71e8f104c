// The guard against a member rejoining after it lost its data. A member whose
// data dir is empty but whose id the group already knows as started (it
// published its client URLs) may have acknowledged entries and cast votes it no
// longer remembers; rejoining under the same id could let two such members
// outvote the one that kept the data and overwrite committed writes (the
// Raft thesis's "servers must not forget"). It must instead be replaced by a
// new member. Must never decide without an answer from a peer: with nobody
// to ask (a group being founded) the member starts as before.
import type { PeerDialer } from './peer-dial.ts';
import { membershipClient, type FindMemberAnswer } from './membership-client.ts';
import type { ReplicaConfig } from './flags.ts';
import { hexId } from './ids.ts';

/**
 * ranBefore: the answer shows this member as one that has started. A started member publishes its
 * client URLs through the log; until then it has none (its name may be known already: the admin
 * API records the name it was added with).
 */
export function ranBefore(answer: FindMemberAnswer, memberId: number): boolean {
  return answer.found && answer.members.some((m) => m.id === memberId && m.clientUrls.length > 0);
}

/** lostDataError is the one-line refusal to start. */
export function lostDataError(config: ReplicaConfig, memberId: number, answer: FindMemberAnswer, peer: string): Error {
  return new Error(
    `${config.dataDir} is empty, but member ${config.name} (${hexId(memberId)}) already ran in cluster ${hexId(answer.clusterId)} (peer ${peer} knows it): ` +
      'a member that lost its data must not rejoin under its old id (it may have acknowledged writes it no longer holds); ' +
      'replace it with a new member or restore its data dir',
  );
}

/** askPeers sends one FindMember for `peerUrl` to every other member of --initial-cluster, in parallel. */
export async function askPeers(config: ReplicaConfig, peerUrl: string, timeoutMs: number, dialer: PeerDialer): Promise<{ peer: string; answer: FindMemberAnswer }[]> {
  const urls = [...config.initialCluster].filter(([name]) => name !== config.name).flatMap(([, u]) => u);
  const answers = await Promise.all(
    urls.map(async (url) => {
      const c = membershipClient(dialer.dial(url));
      try {
        const answer = await c.findMember(peerUrl, timeoutMs);
        return answer ? { peer: c.target, answer } : undefined;
      } finally {
        c.close();
      }
    }),
  );
  return answers.filter((a): a is { peer: string; answer: FindMemberAnswer } => a !== undefined);
}
