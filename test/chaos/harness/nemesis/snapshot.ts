// The snapshot nemesis: kills a follower, waits until the leader has taken a
// snapshot and compacted its log past everything that follower holds (the
// members run with a small --snapshot-count), then restarts it, so it can
// only catch up through InstallSnapshot. Healing reports whether it did
// (replicant_snapshots_total{kind="installed"} on the restarted member).
// It must never kill the leader or more than one member.
import type { ChaosSlot } from '../cluster.ts';
import { findLeader } from './leader.ts';
import { pickOne } from './pick.ts';
import type { ActiveFault, Nemesis, NemesisContext } from './types.ts';

const COMPACTION_WAIT_MS = 15_000;
const INSTALL_WAIT_MS = 15_000;

/** installedSnapshots reads the member's count of snapshots installed from a leader since it started. */
export async function installedSnapshots(slot: ChaosSlot): Promise<number | undefined> {
  try {
    const res = await fetch(`${slot.process.metricsUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    let n = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('replicant_snapshots_total{') && line.includes('kind="installed"')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return n;
  } catch {
    return undefined;
  }
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export const snapshotNemesis: Nemesis = {
  name: 'snapshot',
  async inject(ctx: NemesisContext): Promise<ActiveFault | undefined> {
    const cluster = ctx.cluster;
    const leader = await findLeader(ctx);
    if (!leader) return undefined;
    const followers = cluster.members().filter((m) => m !== leader && cluster.reachable(m));
    if (followers.length === 0) return undefined;
    const victim = pickOne(ctx.rng, followers);
    const held = await cluster.status(victim).catch(() => undefined);
    if (!held) return undefined;
    await cluster.kill(victim);
    // Wait until the leader's log starts after what the victim holds.
    const compacted = await waitUntil(async () => {
      const l = await cluster.leader();
      return !!l && l.status.snapshotIndex - ctx.snapshotCatchupEntries > held.lastIndex;
    }, COMPACTION_WAIT_MS);
    return {
      description: `kill -9 ${victim.name} at index ${held.lastIndex}; ${compacted ? 'leader compacted past it' : 'leader did not compact past it in time'}`,
      async heal() {
        if (victim.state !== 'member' || cluster.running(victim)) return 'not restarted';
        await cluster.restart(victim);
        const installed = await waitUntil(async () => ((await installedSnapshots(victim)) ?? 0) > 0, INSTALL_WAIT_MS);
        return installed ? `restarted ${victim.name}; it installed a snapshot` : `restarted ${victim.name}; no snapshot installed within ${INSTALL_WAIT_MS / 1000} s`;
      },
    };
  },
};
