// Scripted scenarios in the style of etcd's interaction tests: each one walks
// a small group through a membership or read-path situation step by step and
// asserts what every member sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfChangeRejectedError, ProposalDroppedError, type Message } from '../../replica/raft/index.ts';
import { Group } from './harness.ts';

test('replace the leader in one joint change', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.propose(1, 'before');
  g.stabilize();
  g.addEmpty(4);
  g.proposeConfChange(1, { changes: [{ type: 'removeNode', nodeId: 1 }, { type: 'addNode', nodeId: 4 }] });
  g.stabilize();
  // Joint, then auto-left: every member ends in C_new.
  for (const id of [1, 2, 3, 4]) assert.equal(g.config(id), 'voters=(2 3 4)', `member ${id}`);
  // The old leader stepped down once C_new committed and handed over at once.
  assert.equal(g.member(1).raw.raft.state, 'follower');
  const leader = g.leaderId();
  assert.ok(leader !== undefined && [2, 3, 4].includes(leader), `new leader ${leader}`);
  assert.ok(g.sent.some((m) => m.type === 'timeoutNow' && m.from === 1), 'the removed leader sent TimeoutNow');
  g.propose(leader!, 'after');
  g.stabilize();
  for (const id of [2, 3, 4]) assert.deepEqual(g.appliedTexts(id).slice(-2), ['before', 'after'], `member ${id}`);
  // The removed member can no longer campaign.
  g.member(1).raw.campaign();
  assert.equal(g.member(1).raw.raft.state, 'follower');
});

test('a removed leader keeps leading until C_new commits, then steps down', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.proposeConfChange(1, { changes: [{ type: 'removeNode', nodeId: 1 }] });
  // Followers receive the change but their acknowledgements are lost: not committed.
  g.stabilize((m) => m.type === 'appResp' && m.to === 1);
  assert.equal(g.member(1).raw.raft.state, 'leader');
  assert.equal(g.config(1), 'voters=(1 2 3)');
  // Still leading, it refuses new entries after its own removal...
  assert.throws(() => g.propose(1, 'late'), ProposalDroppedError);
  // ...and keeps replicating: once acknowledgements arrive, C_new commits and it steps down.
  g.member(1).raw.tick();
  g.stabilize();
  assert.equal(g.config(1), 'voters=(2 3)');
  assert.equal(g.member(1).raw.raft.state, 'follower');
  assert.ok(g.leaderId() === 2 || g.leaderId() === 3);
});

test('a leader in C_old only stays leader through the joint phase and steps down after leaving it', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.addEmpty(4);
  g.proposeConfChange(1, {
    transition: 'jointExplicit',
    changes: [{ type: 'removeNode', nodeId: 1 }, { type: 'addNode', nodeId: 4 }],
  });
  g.stabilize();
  assert.equal(g.config(1), 'voters=(2 3 4)&&(1 2 3)');
  assert.equal(g.member(1).raw.raft.state, 'leader');
  g.propose(1, 'while joint');
  g.stabilize();
  assert.deepEqual(g.appliedTexts(4), ['while joint']);
  g.proposeConfChange(1, { changes: [] });
  g.stabilize();
  assert.equal(g.config(2), 'voters=(2 3 4)');
  assert.equal(g.member(1).raw.raft.state, 'follower');
  assert.notEqual(g.leaderId(), 1);
});

test('a learner catches up, never votes, then is promoted', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  for (let i = 0; i < 5; i++) g.propose(1, `w${i}`);
  g.stabilize();
  g.addEmpty(4);
  g.proposeConfChange(1, { changes: [{ type: 'addLearner', nodeId: 4 }] });
  g.stabilize();
  assert.equal(g.config(1), 'voters=(1 2 3) learners=(4)');
  assert.deepEqual(g.appliedTexts(4), ['w0', 'w1', 'w2', 'w3', 'w4']);
  const progress = g.member(1).raw.status().progress!.get(4)!;
  assert.equal(progress.isLearner, true);
  assert.equal(progress.match, g.member(1).raw.raft.raftLog.lastIndex());
  // A learner cannot campaign, and is never asked for a vote.
  g.member(4).raw.campaign();
  assert.equal(g.member(4).raw.raft.state, 'follower');
  g.proposeConfChange(1, { changes: [{ type: 'addNode', nodeId: 4 }] });
  g.stabilize();
  assert.equal(g.config(4), 'voters=(1 2 3 4)');
  // Now it votes: with 1 and 2 gone, 3 and 4 are not a majority of four...
  g.isolate(1);
  g.isolate(2);
  g.member(3).raw.campaign();
  g.stabilize();
  assert.notEqual(g.member(3).raw.raft.state, 'leader');
  // ...and with 2 back they are.
  g.heal();
  g.isolate(1);
  g.tickAll(3 * g.electionTick);
  assert.ok([2, 3, 4].includes(g.leaderId()!));
});

test('a removed member that keeps campaigning does not disrupt the group', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  // 3 never hears of its removal.
  g.isolate(3);
  g.proposeConfChange(1, { changes: [{ type: 'removeNode', nodeId: 3 }] });
  g.stabilize();
  assert.equal(g.config(1), 'voters=(1 2)');
  const term = g.member(1).raw.raft.term;
  g.heal();
  // 3 times out again and again and campaigns; the group ignores it.
  for (let i = 0; i < 10 * g.electionTick; i++) {
    g.member(3).raw.tick();
    g.tickAll(1);
  }
  assert.ok(g.sent.some((m) => m.from === 3 && m.type === 'preVote'), '3 did campaign');
  assert.equal(g.leaderId(), 1);
  assert.equal(g.member(1).raw.raft.term, term, 'the leader kept its term');
  g.propose(1, 'still working');
  g.stabilize();
  assert.deepEqual(g.appliedTexts(2), ['still working']);
});

test('a second change while joint or pending is rejected with an error, never dropped silently', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.addEmpty(4);
  g.proposeConfChange(1, { transition: 'jointExplicit', changes: [{ type: 'addNode', nodeId: 4 }] });
  // Pending (not yet applied): rejected.
  assert.throws(
    () => g.proposeConfChange(1, { changes: [{ type: 'removeNode', nodeId: 2 }] }),
    (e: unknown) => e instanceof ConfChangeRejectedError && /pending/.test((e as Error).message),
  );
  g.stabilize();
  assert.equal(g.config(1), 'voters=(1 2 3 4)&&(1 2 3)');
  // Joint: only leaving is allowed.
  assert.throws(
    () => g.proposeConfChange(1, { changes: [{ type: 'removeNode', nodeId: 2 }] }),
    (e: unknown) => e instanceof ConfChangeRejectedError && /leave the joint/.test((e as Error).message),
  );
  // Leaving outside a joint configuration is refused too, once left.
  g.proposeConfChange(1, { changes: [] });
  g.stabilize();
  assert.equal(g.config(1), 'voters=(1 2 3 4)');
  assert.throws(() => g.proposeConfChange(1, { changes: [] }), ConfChangeRejectedError);
  // Invalid changes are refused at proposal time: removing every voter.
  assert.throws(
    () =>
      g.proposeConfChange(1, {
        changes: [1, 2, 3, 4].map((id) => ({ type: 'removeNode' as const, nodeId: id })),
      }),
    (e: unknown) => e instanceof ConfChangeRejectedError && /removed all voters/.test((e as Error).message),
  );
  // Followers refuse to forward configuration changes.
  assert.throws(() => g.proposeConfChange(2, { changes: [{ type: 'removeNode', nodeId: 3 }] }), ProposalDroppedError);
});

test('a new leader accepts no configuration change before committing an entry of its term', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.member(1).raw.transferLeadership(2);
  // Let the transfer and the votes through, not the first append of the new term.
  g.stabilize((m: Message) => m.term > 1 && (m.type === 'app' || m.type === 'appResp'));
  assert.equal(g.leaderId(), 2);
  assert.throws(() => g.proposeConfChange(2, { changes: [{ type: 'removeNode', nodeId: 3 }] }), ConfChangeRejectedError);
  g.member(2).raw.tick();
  g.stabilize();
  g.proposeConfChange(2, { changes: [{ type: 'removeNode', nodeId: 3 }] });
  g.stabilize();
  assert.equal(g.config(1), 'voters=(1 2)');
});

test('ReadIndex on a deposed leader never answers with stale data', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.propose(1, 'a');
  g.stabilize();
  // 1 is cut off and does not know it yet; 2 and 3 elect a new leader and commit more.
  g.isolate(1);
  g.tick([2, 3], 3 * g.electionTick);
  assert.equal(g.member(1).raw.raft.state, 'leader');
  const newLeader = g.leaderId();
  assert.ok(newLeader === 2 || newLeader === 3);
  g.propose(newLeader!, 'b');
  g.stabilize();
  const committed = g.member(newLeader!).raw.raft.raftLog.committed;
  // A client reads through the old leader: no answer may come while it is cut off.
  const old = g.member(1);
  old.raw.readIndex(new TextEncoder().encode('read-1'));
  g.process(1);
  g.tick([1], 2 * g.electionTick);
  assert.equal(old.readStates.length, 0);
  // CheckQuorum made it step down on its own meanwhile.
  assert.notEqual(old.raw.raft.state, 'leader');
  // Healing deposes it; a read through the new leader sees the latest write.
  g.heal();
  g.tickAll(2);
  assert.notEqual(old.raw.raft.state, 'leader');
  assert.equal(old.readStates.length, 0);
  const nl = g.member(newLeader!);
  nl.raw.readIndex(new TextEncoder().encode('read-2'));
  g.stabilize();
  assert.equal(nl.readStates.length, 1);
  assert.ok(nl.readStates[0].index >= committed);
  // A follower's read goes through the leader and is answered to the follower.
  old.raw.readIndex(new TextEncoder().encode('read-3'));
  g.stabilize();
  assert.equal(old.readStates.length, 1);
  assert.ok(old.readStates[0].index >= committed);
});

test('a lagging follower catches up through a snapshot, then follows the log again', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.isolate(3);
  for (let i = 0; i < 20; i++) g.propose(1, `w${i}`);
  g.stabilize();
  // The leader snapshots and compacts past what 3 has.
  const leader = g.member(1);
  const applied = leader.raw.raft.raftLog.applied;
  leader.storage.createSnapshot(applied, leader.confState, new Uint8Array([1]));
  leader.storage.compact(applied);
  g.heal();
  g.tickAll(2);
  assert.ok(g.sent.some((m) => m.type === 'snap' && m.to === 3), 'a snapshot was sent');
  const follower = g.member(3);
  assert.equal(follower.storage.snapshot().metadata.index, applied);
  g.propose(1, 'after snapshot');
  g.stabilize();
  assert.deepEqual(g.appliedTexts(3), ['after snapshot']);
  assert.equal(follower.raw.raft.raftLog.committed, leader.raw.raft.raftLog.committed);
});

test('leadership transfer hands over to a caught-up voter, and a transfer to a dead member is abandoned', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.member(1).raw.transferLeadership(3);
  g.stabilize();
  assert.equal(g.leaderId(), 3);
  g.isolate(2);
  g.member(3).raw.transferLeadership(2);
  g.stabilize();
  assert.equal(g.member(3).raw.raft.leadTransferee, 2);
  // Proposals are refused while transferring...
  assert.throws(() => g.propose(3, 'x'), ProposalDroppedError);
  // ...until the transfer is abandoned after an election timeout.
  g.tickAll(g.electionTick + 1);
  assert.equal(g.leaderId(), 3);
  assert.equal(g.member(3).raw.raft.leadTransferee, 0);
  g.propose(3, 'y');
  g.stabilize();
  assert.deepEqual(g.appliedTexts(1), ['y']);
});

test('a member restarted from its storage rejoins with its log and its vote', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  for (let i = 0; i < 3; i++) g.propose(1, `w${i}`);
  g.stabilize();
  const before = g.member(2).storage.getHardState();
  const m = g.restart(2);
  assert.equal(m.raw.raft.term, before.term);
  assert.equal(m.raw.raft.vote, before.vote);
  g.propose(1, 'w3');
  g.stabilize();
  // After a restart the member re-applies its committed log.
  assert.deepEqual(g.appliedTexts(2), ['w0', 'w1', 'w2', 'w3']);
});

test('an old-term entry replicated to a majority is not committed by counting (Raft Figure 8)', () => {
  const g = new Group([1, 2, 3, 4, 5], { maxSizePerMsg: 1 });
  g.elect(1);
  // (a) leader 1 (term 2) replicates 'a' to 2 only.
  g.propose(1, 'a');
  g.stabilize((m) => m.from === 1 && m.type === 'app' && m.to !== 2);
  const k = g.member(1).raw.raft.raftLog.lastIndex();
  assert.equal(g.member(2).raw.raft.raftLog.lastIndex(), k);
  // (b) 1 and 2 are cut off; one of 3, 4, 5 wins term 3 and appends at k alone.
  g.isolate(1);
  g.isolate(2);
  g.tick([3, 4, 5], 3 * g.electionTick, (m) => m.type === 'app');
  const x = g.leaderId()!;
  assert.ok([3, 4, 5].includes(x));
  assert.equal(g.member(x).raw.raft.raftLog.lastIndex(), k);
  assert.equal(g.member(x).raw.raft.raftLog.term(k), 3);
  const [y, z] = [3, 4, 5].filter((id) => id !== x);
  // (c) x goes away; 1 wins term 4 and copies its term-2 entry at k to y, but not its own new entry.
  g.heal();
  g.isolate(x);
  // Appends of the new term are dropped wherever they would be accepted.
  const wouldAccept = (m: Message) => g.member(m.to).raw.raft.raftLog.matchTerm(m.index, m.logTerm);
  g.tick([1, 2, y, z], 3 * g.electionTick, (m) => m.from === 1 && m.type === 'app' && m.entries.some((e) => e.term > 2) && wouldAccept(m));
  assert.equal(g.leaderId(), 1);
  assert.ok(g.member(1).raw.raft.term >= 4);
  const holders = [1, 2, y, z].filter((id) => g.member(id).raw.raft.raftLog.term(k) === 2);
  assert.ok(holders.length >= 3, `a majority holds the term-2 entry (${holders})`);
  assert.ok(g.member(1).raw.raft.raftLog.committed < k, 'it is not committed by counting replicas');
  // (d) 1 and 2 go away; x, with the higher last term at k, wins and overwrites index k.
  g.heal();
  g.isolate(1);
  g.isolate(2);
  g.tick([x, y, z], 5 * g.electionTick);
  const final = g.leaderId()!;
  assert.equal(final, x);
  g.heal();
  g.propose(final, 'b');
  g.tickAll(2);
  assert.equal(g.member(2).raw.raft.raftLog.term(k), 3, 'the term-2 entry was overwritten');
  // Nobody ever applied 'a': it was never committed, so overwriting it is safe.
  for (const id of [1, 2, 3, 4, 5]) assert.ok(!g.appliedTexts(id).includes('a'), `member ${id} applied an entry later overwritten`);
  assert.deepEqual(g.appliedTexts(final).slice(-1), ['b']);
});

test('proposeMany: a batch of entries travels as one append per follower and commits in order; refused whole without a leader', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.stabilize();
  const before = g.sent.length;
  const texts = ['a', 'b', 'c', 'd'];
  g.member(1).raw.proposeMany(texts.map((t) => new TextEncoder().encode(t)));
  g.stabilize();
  const appends = g.sent.slice(before).filter((m) => m.type === 'app' && m.from === 1 && m.entries.length > 0);
  assert.deepEqual(
    appends.map((m) => [m.to, m.entries.length]).sort(),
    [
      [2, 4],
      [3, 4],
    ],
    'one append of all four entries per follower',
  );
  for (const id of [1, 2, 3]) assert.deepEqual(g.appliedTexts(id).slice(-4), texts, `member ${id}`);

  // A member that knows no leader refuses the whole batch and appends nothing.
  const lone = new Group([1, 2, 3]);
  const last = lone.member(2).raw.raft.raftLog.lastIndex();
  assert.throws(() => lone.member(2).raw.proposeMany([new Uint8Array([1]), new Uint8Array([2])]), ProposalDroppedError);
  assert.equal(lone.member(2).raw.raft.raftLog.lastIndex(), last);
});

test('a pre-vote ignored by a follower still in its leader lease is asked again a tick later, not an election timeout later', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.propose(1, 'x');
  g.stabilize();
  // The leader crashes. Member 2's timeout ends a few ticks before member 3 leaves its lease
  // (tick phases differ between members; 3 also heard from the leader last).
  g.isolate(1);
  const r2 = g.member(2).raw.raft;
  const r3 = g.member(3).raw.raft;
  r2.randomizedElectionTimeout = g.electionTick;
  r2.electionElapsed = g.electionTick - 1;
  r3.randomizedElectionTimeout = 2 * g.electionTick - 1;
  r3.electionElapsed = g.electionTick - 4;
  const mark = g.sent.length;
  g.tick([2, 3], 1);
  assert.equal(r2.state, 'preCandidate');
  assert.ok(!g.sent.slice(mark).some((m) => m.from === 3 && m.type === 'preVoteResp'), '3 ignored the pre-vote: it is in lease');
  // Three ticks later 3 leaves its lease; 2 asked again and wins, long before its own next timeout.
  g.tick([2, 3], 3);
  assert.equal(g.leaderId(), 2);
  assert.ok(g.sent.slice(mark).filter((m) => m.from === 2 && m.to === 3 && m.type === 'preVote').length >= 2, 'the pre-vote was re-sent');
  g.propose(2, 'after');
  g.stabilize();
  assert.deepEqual(g.appliedTexts(3), ['x', 'after']);
});

test('a campaign re-sends vote requests each tick, only to voters that have not answered', () => {
  const g = new Group([1, 2, 3, 4, 5]);
  g.elect(1);
  // 1, 4 and 5 are gone: 2 gets only 3's pre-vote and cannot win; it keeps asking the silent ones.
  for (const id of [1, 4, 5]) g.isolate(id);
  const r2 = g.member(2).raw.raft;
  const r3 = g.member(3).raw.raft;
  r2.randomizedElectionTimeout = 2 * g.electionTick - 1;
  r2.electionElapsed = r2.randomizedElectionTimeout - 1;
  r3.randomizedElectionTimeout = 2 * g.electionTick - 1;
  r3.electionElapsed = g.electionTick; // out of lease: it answers
  const mark = g.sent.length;
  g.tick([2, 3], 3);
  assert.equal(r2.state, 'preCandidate');
  const preVotesTo = (id: number) => g.sent.slice(mark).filter((m) => m.from === 2 && m.to === id && m.type === 'preVote').length;
  assert.equal(preVotesTo(3), 1, '3 answered the first request: never asked again');
  for (const id of [1, 4, 5]) assert.equal(preVotesTo(id), 3, `${id}: the first request and one per later tick`);
  assert.equal(r2.term, g.member(3).raw.raft.term, 'pre-votes changed no term');
});
