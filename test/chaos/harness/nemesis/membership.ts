// The membership nemesis: changes the group through the admin API
// (ChangeMembership: learners first, then one joint-consensus change) while
// clients keep going. Above the founding size it removes a random voter
// (possibly the leader); below it, it adds one; at the founding size it
// replaces a random voter by a new member (add + remove in one change) or adds
// one. A leftover learner is removed first. Requests are retried with the
// same request id (the API is idempotent by it) until they succeed or a
// deadline passes; then the harness reconciles with the real configuration:
// removed members are killed, joiners that never got in are abandoned.
// It must never change membership by any other means than the admin API.
import * as grpc from '@grpc/grpc-js';
import type { ChaosSlot } from '../cluster.ts';
import { pickOne } from './pick.ts';
import type { ActiveFault, Nemesis, NemesisContext } from './types.ts';

const ATTEMPT_MS = 25_000;
const DEADLINE_MS = 45_000;
/** a new member's process may take seconds to boot on a loaded machine before it can catch up */
const CATCH_UP_STALL_MS = 15_000;

interface Change {
  add: ChaosSlot[];
  remove: ChaosSlot[];
}

function describe(c: Change): string {
  const add = c.add.map((s) => s.name).join(' ');
  const remove = c.remove.map((s) => s.name).join(' ');
  if (add && remove) return `replace ${remove} by ${add}`;
  return add ? `add ${add}` : `remove ${remove}`;
}

/** changeMembership sends one request, retrying it (same id) on any member until it succeeds or the deadline passes. */
async function changeMembership(ctx: NemesisContext, c: Change): Promise<string> {
  const requestId = ctx.nextRequestId();
  const req = {
    requestId,
    add: c.add.map((s) => ({ name: s.name, peerUrls: [s.process.peerUrl] })),
    remove: c.remove.map((s) => s.id),
    catchUpTimeoutMs: CATCH_UP_STALL_MS,
  };
  const started = Date.now();
  let attempts = 0;
  let last = '';
  while (Date.now() - started < DEADLINE_MS) {
    attempts++;
    const via = (await ctx.cluster.leader())?.slot ?? pickOne(ctx.rng, ctx.cluster.members().filter((m) => ctx.cluster.reachable(m)));
    try {
      await ctx.cluster.admin(via, 'ChangeMembership', req, ATTEMPT_MS);
      return `ok after ${attempts} attempt(s), ${((Date.now() - started) / 1000).toFixed(1)} s`;
    } catch (e) {
      const err = e as grpc.ServiceError;
      last = `${grpc.status[err.code] ?? 'error'}: ${err.details ?? err.message}`;
      ctx.log(`membership ${requestId} attempt ${attempts} via ${via.name}: ${last}`);
      if (err.code === grpc.status.INVALID_ARGUMENT || err.code === grpc.status.NOT_FOUND) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return `gave up after ${attempts} attempt(s): ${last}`;
}

export const membershipNemesis: Nemesis = {
  name: 'membership',
  async inject(ctx): Promise<ActiveFault | undefined> {
    const cluster = ctx.cluster;
    const st = await cluster.reconcile();
    if (!st) return undefined;
    const voters = st.configuration.voters.map((id) => cluster.bySlotId(id)).filter((s) => s !== undefined);
    const learners = st.configuration.learners.map((id) => cluster.bySlotId(id)).filter((s) => s !== undefined);
    let change: Change;
    if (learners.length > 0) change = { add: [], remove: learners };
    else if (voters.length > ctx.baseSize) change = { add: [], remove: [pickOne(ctx.rng, voters)] };
    else {
      const fresh = cluster.spare();
      if (!fresh) {
        ctx.log('membership: no spare address left; nothing to do');
        return undefined;
      }
      const replace = voters.length === ctx.baseSize && ctx.rng() < 0.5;
      change = { add: [fresh], remove: replace ? [pickOne(ctx.rng, voters)] : [] };
      fresh.state = 'joining';
      cluster.launch(fresh);
    }
    const description = describe(change);
    const result = await changeMembership(ctx, change);
    const after = await cluster.reconcile();
    const config = after ? `voters [${after.configuration.voters.map((id) => cluster.bySlotId(id)?.name ?? id.toString(16)).join(' ')}]` : 'no leader to confirm';
    return {
      description: `${description}: ${result}; ${config}`,
      async heal() {
        await cluster.reconcile();
      },
    };
  },
};
