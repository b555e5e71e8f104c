// The pause nemesis: SIGSTOP a random minority of the members (half the time
// the leader alone), SIGCONT when healing. A paused process keeps its
// connections open and answers nothing, like a long GC pause or a VM freeze.
// It must never pause a majority, and never leave a process stopped.
import { findLeader } from './leader.ts';
import { minority, pickSome } from './pick.ts';
import type { Nemesis } from './types.ts';

export const pauseNemesis: Nemesis = {
  name: 'pause',
  async inject(ctx) {
    const members = ctx.cluster.members().filter((m) => ctx.cluster.reachable(m));
    const total = ctx.cluster.members().length;
    const max = minority(total) - (total - members.length);
    if (max < 1) return undefined;
    let victims = ctx.rng() < 0.5 ? [await findLeader(ctx, 2000)].filter((x) => x !== undefined) : [];
    let what = 'SIGSTOP leader';
    if (victims.length === 0) {
      victims = pickSome(ctx.rng, members, max);
      what = 'SIGSTOP';
    }
    for (const v of victims) ctx.cluster.pause(v);
    return {
      description: `${what} ${victims.map((v) => v.name).join(' ')}`,
      async heal() {
        for (const v of victims) ctx.cluster.resume(v);
        return `SIGCONT ${victims.map((v) => v.name).join(' ')}`;
      },
    };
  },
};
