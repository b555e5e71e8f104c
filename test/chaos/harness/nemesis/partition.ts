// The partition nemesis: cuts peer links through the proxies, one topology per
// fault, chosen at random:
//   halves        random majority / minority split (both ways)
//   isolate-leader the leader cut off from everyone
//   bridge        two sides that only a middle member talks to
//   leader-mute   one-way: the leader's outgoing links cut (it still hears the others)
//   leader-deaf   one-way: every link into the leader cut (it can still send)
// Healing lets every link pass again. Client traffic is never cut: clients
// keep reaching every member, so minority members keep getting requests.
// It must never cut a link to or from the harness, only between members.
import type { ChaosSlot } from '../cluster.ts';
import { findLeader } from './leader.ts';
import { pickOne, shuffled } from './pick.ts';
import type { ActiveFault, Nemesis, NemesisContext } from './types.ts';

const PARTITION = { kind: 'partition' } as const;

type Topology = 'halves' | 'isolate-leader' | 'bridge' | 'leader-mute' | 'leader-deaf';
const TOPOLOGIES: readonly Topology[] = ['halves', 'isolate-leader', 'bridge', 'leader-mute', 'leader-deaf'];

const names = (xs: readonly ChaosSlot[]) => xs.map((x) => x.name).join(' ');

async function cut(ctx: NemesisContext, topology: Topology): Promise<string | undefined> {
  const net = ctx.cluster.network;
  const members = ctx.cluster.members();
  if (members.length < 2) return undefined;
  if (topology === 'halves') {
    const order = shuffled(ctx.rng, members);
    const small = order.slice(0, Math.floor(order.length / 2));
    const large = order.slice(small.length);
    net.partition(small.map((m) => m.name), large.map((m) => m.name));
    return `halves [${names(small)}] | [${names(large)}]`;
  }
  if (topology === 'bridge') {
    if (members.length < 3) return undefined;
    const order = shuffled(ctx.rng, members);
    const left = order.slice(0, Math.floor((order.length - 1) / 2));
    const middle = order[left.length];
    const right = order.slice(left.length + 1);
    net.bridge(left.map((m) => m.name), middle.name, right.map((m) => m.name));
    return `bridge [${names(left)}] <- ${middle.name} -> [${names(right)}]`;
  }
  const leader = await findLeader(ctx);
  if (!leader) return undefined;
  const others = members.filter((m) => m !== leader);
  if (topology === 'isolate-leader') {
    net.partition([leader.name], others.map((m) => m.name));
    return `isolate leader ${leader.name}`;
  }
  net.heal();
  for (const o of others) {
    if (topology === 'leader-mute') net.setLink(leader.name, o.name, PARTITION);
    else net.setLink(o.name, leader.name, PARTITION);
  }
  return topology === 'leader-mute' ? `one-way: leader ${leader.name} cannot send to [${names(others)}]` : `one-way: leader ${leader.name} hears nothing from [${names(others)}]`;
}

export const partitionNemesis: Nemesis = {
  name: 'partition',
  async inject(ctx): Promise<ActiveFault | undefined> {
    const description = await cut(ctx, pickOne(ctx.rng, TOPOLOGIES));
    if (!description) return undefined;
    return {
      description,
      async heal() {
        ctx.cluster.network.heal();
        return 'healed';
      },
    };
  },
};
