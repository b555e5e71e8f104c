// reportLeaderDown: a follower told that its leader's process is gone drops its
// lease for that leader and campaigns within a few ticks, while a report that
// names anyone else is ignored, a leader not reported down keeps its lease on
// every member, and hearing from the leader again restores normal timing.
// Scripted on the simulator's harness: every message is delivered explicitly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from './types.ts';
import type { Raft } from './raft.ts';
import { Group } from '../../test/sim/harness.ts';

/** sentSince lists the messages sent after the first `mark` (a length of g.sent taken earlier). */
function sentSince(g: Group, mark: number): Message[] {
  return g.sent.slice(mark);
}

/**
 * ticksUntil ticks `ids` until `cond` holds and returns the ticks taken. Each
 * member ticks on its own, with every message delivered in between, as the
 * members' clocks tick at different phases in a real group.
 */
function ticksUntil(g: Group, ids: number[], max: number, cond: () => boolean, drop?: (m: Message) => boolean): number {
  for (let t = 1; t <= max; t++) {
    for (const id of ids) {
      g.tick([id], 1, drop);
      if (cond()) return t;
    }
  }
  return Infinity;
}

/**
 * campaignTogether cuts the leader `dead` off, tells both `survivors` it is
 * down and makes them campaign in the same tick, before either hears the
 * other; then delivers everything. Returns the survivors' raft state.
 */
function campaignTogether(g: Group, dead: number, survivors: [number, number]): [Raft, Raft] {
  g.isolate(dead);
  const rs = survivors.map((id) => {
    assert.equal(g.member(id).raw.reportLeaderDown(dead), true);
    const r = g.member(id).raw.raft;
    r.randomizedElectionTimeout = r.electionElapsed + 1;
    return r;
  }) as [Raft, Raft];
  for (const id of survivors) g.member(id).raw.tick();
  for (const r of rs) assert.equal(r.state, 'preCandidate');
  g.stabilize();
  return rs;
}

test('a report naming anyone but our leader, or reaching a non-follower, is ignored', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  const f = g.member(2).raw;
  const timeout = f.raft.randomizedElectionTimeout;
  assert.equal(f.reportLeaderDown(3), false, 'a follower of 1 ignores a report about 3');
  assert.equal(f.reportLeaderDown(2), false, 'a member is never told it is down itself');
  assert.equal(f.reportLeaderDown(0), false);
  assert.equal(f.raft.leadReportedDown, false);
  assert.equal(f.raft.randomizedElectionTimeout, timeout, 'the timeout is untouched');
  assert.equal(g.member(1).raw.reportLeaderDown(1), false, 'the leader ignores a report about itself');
  assert.equal(g.member(1).raw.raft.state, 'leader');
  // Its lease for 1 still stands: a campaign by 3 gets no answer from 2.
  const mark = g.sent.length;
  g.member(3).raw.campaign();
  g.stabilize();
  assert.equal(sentSince(g, mark).filter((m) => m.type === 'preVoteResp' && m.from === 2).length, 0, '2 answered a pre-vote inside its lease');
  assert.equal(g.leaderId(), 1);
  assert.equal(g.member(1).raw.raft.term, 2);
  // A member without a leader (here a pre-candidate) has no leader to be told about.
  assert.equal(g.member(3).raw.raft.state, 'preCandidate');
  assert.equal(g.member(3).raw.reportLeaderDown(1), false);
});

test('a follower told its leader is down campaigns within three ticks, and the group elects a new leader long before an election timeout', () => {
  for (const first of [2, 3]) {
    const second = first === 2 ? 3 : 2;
    const g = new Group([1, 2, 3]);
    g.elect(1);
    g.propose(1, 'before');
    g.stabilize();
    const term = g.member(1).raw.raft.term;
    const mark = g.sent.length;
    g.isolate(1); // its process is gone
    assert.equal(g.member(first).raw.reportLeaderDown(1), true);
    assert.equal(g.member(first).raw.raft.leadReportedDown, true);
    assert.equal(g.member(first).raw.reportLeaderDown(1), false, 'a repeated report keeps the moment chosen first');
    const preVoteSent = () => sentSince(g, mark).some((m) => m.type === 'preVote' && m.from === first);
    const took = ticksUntil(g, [2, 3], 3, preVoteSent);
    assert.ok(took <= 3, `member ${first} campaigned after ${took} ticks (election timeout ${g.electionTick})`);
    // The other survivor has not been told yet: it is still in its lease and drops the pre-vote.
    assert.equal(g.leaderId(), 1);
    assert.equal(sentSince(g, mark).filter((m) => m.type === 'preVoteResp' && m.from === second).length, 0);
    // Once it is told too, the candidate's re-sent request is answered within a heartbeat.
    assert.equal(g.member(second).raw.reportLeaderDown(1), true);
    const elected = ticksUntil(g, [2, 3], 4, () => g.leaderId() !== undefined && g.leaderId() !== 1);
    assert.ok(elected <= 4, `no new leader ${elected} ticks after both survivors were told`);
    const leader = g.leaderId()!;
    assert.equal(g.member(leader).raw.raft.term, term + 1, 'one campaign round, no split vote');
    g.propose(leader, 'after');
    g.stabilize();
    assert.deepEqual(g.appliedTexts(first), ['before', 'after']);
    assert.deepEqual(g.appliedTexts(second), ['before', 'after']);
  }
});

test('a live leader that is wrongly reported down keeps its lease on the others and stays leader', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  const term = g.member(1).raw.raft.term;
  const mark = g.sent.length;
  // 2's link to 1 misbehaves (1's heartbeats do not reach 2), and 2 is told 1 is down.
  const cut12 = (m: Message) => m.from === 1 && m.to === 2;
  assert.equal(g.member(2).raw.reportLeaderDown(1), true);
  const took = ticksUntil(g, [1, 2, 3], 3, () => g.member(2).raw.raft.state === 'preCandidate', cut12);
  assert.ok(took <= 3, `2 campaigned after ${took} ticks`);
  // Its pre-votes are dropped by 1 (leader) and by 3 (in its lease for 1, which nobody reported down to it).
  assert.ok(sentSince(g, mark).some((m) => m.type === 'preVote' && m.from === 2 && m.to === 3));
  assert.equal(sentSince(g, mark).filter((m) => (m.type === 'preVoteResp' || m.type === 'voteResp') && m.to === 2).length, 0);
  // The failed hastened campaign does not repeat at the short delay: the next one is a normal timeout away.
  const r2 = g.member(2).raw.raft;
  assert.ok(r2.randomizedElectionTimeout >= g.electionTick && r2.randomizedElectionTimeout < 2 * g.electionTick, `timeout ${r2.randomizedElectionTimeout}`);
  // 2 keeps asking (re-sent every heartbeat); for the rest of an election timeout nobody answers.
  g.tick([1, 2, 3], g.electionTick - 1, cut12);
  assert.equal(g.leaderId(), 1);
  assert.equal(g.member(1).raw.raft.term, term, 'the leader kept its term');
  assert.equal(g.member(3).raw.raft.lead, 1);
  // The link heals: 2 hears from 1 and follows it again.
  g.tickAll(1);
  assert.equal(r2.state, 'follower');
  assert.equal(r2.lead, 1);
  assert.equal(g.member(1).raw.raft.term, term);
});

test('hearing from the leader after a report restores the lease and a normal randomised timeout', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  const r2 = g.member(2).raw.raft;
  assert.equal(g.member(2).raw.reportLeaderDown(1), true);
  assert.ok(r2.randomizedElectionTimeout - r2.electionElapsed <= 3, `campaign due in ${r2.randomizedElectionTimeout - r2.electionElapsed} ticks`);
  // A heartbeat from 1 arrives before 2's short delay runs out: 1 was alive after all.
  g.member(1).raw.tick();
  g.stabilize();
  assert.equal(r2.leadReportedDown, false);
  assert.equal(r2.electionElapsed, 0);
  assert.ok(r2.randomizedElectionTimeout >= g.electionTick && r2.randomizedElectionTimeout < 2 * g.electionTick, `timeout ${r2.randomizedElectionTimeout}`);
  // Back in its lease: 3's campaign gets no answer from 2, and 2 does not campaign early.
  const mark = g.sent.length;
  g.member(3).raw.campaign();
  g.stabilize();
  assert.equal(sentSince(g, mark).filter((m) => m.type === 'preVoteResp' && m.from === 2).length, 0);
  g.tick([2], g.electionTick - 1, (m) => m.from === 1);
  assert.equal(r2.state, 'follower', 'no campaign before a full election timeout');
  assert.equal(g.leaderId(), 1);
});

test('two survivors whose hastened campaigns start in the same tick do not split the vote: the lower id goes on', () => {
  const g = new Group([1, 2, 3]);
  g.elect(3);
  const term = g.member(3).raw.raft.term;
  const [r1, r2] = campaignTogether(g, 3, [1, 2]);
  assert.equal(g.leaderId(), 1, 'the lower id won');
  assert.equal(r1.term, term + 1, 'one campaign round, no split vote');
  assert.equal(r2.lead, 1);
});

test('two hastened survivors: the one with the more complete log goes on, whatever its id', () => {
  const g = new Group([1, 2, 3]);
  g.elect(3);
  const term = g.member(3).raw.raft.term;
  // 2 gets an entry that 1 never sees.
  g.propose(3, 'only-on-2');
  g.stabilize((m) => m.to === 1 || m.from === 1);
  assert.ok(g.member(2).raw.raft.raftLog.lastIndex() > g.member(1).raw.raft.raftLog.lastIndex(), 'the higher id holds the longer log');
  const [, r2] = campaignTogether(g, 3, [1, 2]);
  assert.equal(g.leaderId(), 2, 'the more complete log won');
  assert.equal(r2.term, term + 1, 'one campaign round, no split vote and no mutual refusal');
});

test('two survivors told at the same moment elect one leader in one round', () => {
  for (const order of [[2, 3], [3, 2]]) {
    const g = new Group([1, 2, 3]);
    g.elect(1);
    const term = g.member(1).raw.raft.term;
    g.isolate(1);
    for (const id of order) assert.equal(g.member(id).raw.reportLeaderDown(1), true);
    const took = ticksUntil(g, order, 4, () => g.leaderId() !== undefined && g.leaderId() !== 1);
    assert.ok(took <= 4, `no new leader within 4 ticks (order ${order})`);
    assert.equal(g.member(g.leaderId()!).raw.raft.term, term + 1, 'one campaign round, no split vote');
  }
});
