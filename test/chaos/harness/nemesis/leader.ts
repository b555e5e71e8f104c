// Finding the leader for the nemeses that target it. During an election there
// is none; the nemesis then waits a little, and gives up rather than guess.
// It must never report a member as leader that did not say so itself.
import type { ChaosSlot } from '../cluster.ts';
import type { NemesisContext } from './types.ts';

/** findLeader polls the members for up to `timeoutMs` for the one leading (highest term). */
export async function findLeader(ctx: NemesisContext, timeoutMs = 5000): Promise<ChaosSlot | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await ctx.cluster.leader();
    if (l) return l.slot;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}
