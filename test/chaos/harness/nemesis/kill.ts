// The crash nemeses: `kill` sends SIGKILL to a random minority of the
// members, `kill-leader` to the leader; healing restarts them from their data
// dirs (WAL replay, then catch-up from the leader).
// They must never kill a majority: the group must be able to go on.
import type { ChaosSlot } from '../cluster.ts';
import { findLeader } from './leader.ts';
import { minority, pickSome } from './pick.ts';
import type { ActiveFault, Nemesis, NemesisContext } from './types.ts';

async function crash(ctx: NemesisContext, victims: ChaosSlot[], what: string): Promise<ActiveFault> {
  for (const v of victims) await ctx.cluster.kill(v);
  return {
    description: `${what} ${victims.map((v) => v.name).join(' ')}`,
    async heal() {
      const restarted = victims.filter((v) => (v.state === 'member' || v.state === 'joining') && !ctx.cluster.running(v));
      const up = await Promise.all(restarted.map((v) => ctx.cluster.restart(v)));
      const slow = restarted.filter((_, i) => !up[i]).map((v) => v.name);
      return `restarted ${restarted.map((v) => v.name).join(' ') || 'none'}${slow.length ? ` (${slow.join(' ')} not answering yet)` : ''}`;
    },
  };
}

export const killNemesis: Nemesis = {
  name: 'kill',
  async inject(ctx) {
    const members = ctx.cluster.members();
    const alive = members.filter((m) => ctx.cluster.running(m));
    const max = minority(members.length) - (members.length - alive.length);
    if (max < 1) return undefined;
    return crash(ctx, pickSome(ctx.rng, alive, max), 'kill -9');
  },
};

export const killLeaderNemesis: Nemesis = {
  name: 'kill-leader',
  async inject(ctx) {
    const leader = await findLeader(ctx);
    if (!leader) return undefined;
    return crash(ctx, [leader], 'kill -9 leader');
  },
};
