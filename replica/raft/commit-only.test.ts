// Commit-only appends: the empty append a leader sends to carry a new commit
// index goes unanswered when the answer could tell it nothing, and every case
// where an answer matters still gets one (a rejection, a probe, a lost
// acknowledgement, a leadership transfer). Scripted on the simulator's
// harness: every message is delivered explicitly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { message, type Message } from './types.ts';
import { Group } from '../../test/sim/harness.ts';

const isNotice = (m: Message) => m.type === 'app' && m.entries.length === 0;

test("a put's commit reaches the followers in appends they take without answering", () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.stabilize();
  const mark = g.sent.length;
  g.propose(1, 'x');
  g.stabilize();
  const sent = g.sent.slice(mark);
  const index = g.member(1).raw.raft.raftLog.lastIndex();
  const appends = sent.filter((m) => m.type === 'app' && m.entries.length > 0);
  assert.deepEqual(appends.map((m) => [m.to, !!m.commitOnly]).sort(), [[2, false], [3, false]], 'the entry itself is answered');
  const notices = sent.filter(isNotice);
  assert.deepEqual(notices.map((m) => [m.to, m.commit, m.commitOnly]).sort(), [[2, index, true], [3, index, true]]);
  const answers = sent.filter((m) => m.type === 'appResp');
  assert.deepEqual(answers.map((m) => [m.from, m.index]).sort(), [[2, index], [3, index]], 'one answer per follower: the entry, not the notice');
  for (const id of [1, 2, 3]) {
    assert.equal(g.member(id).raw.raft.raftLog.committed, index, `member ${id} knows the commit`);
    assert.deepEqual(g.appliedTexts(id), ['x'], `member ${id} applied it`);
  }
});

test('a commit-only append that does not match is rejected, and the rejection is answered', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.stabilize();
  const leader = g.member(1).raw.raft;
  const f = g.member(2);
  const last = f.raw.raft.raftLog.lastIndex();
  const mark = g.sent.length;
  f.raw.step(message({ type: 'app', from: 1, to: 2, term: leader.term, index: last + 3, logTerm: leader.term, commit: last, commitOnly: true }));
  g.process(2);
  const answers = g.sent.slice(mark).filter((m) => m.type === 'appResp' && m.from === 2);
  assert.equal(answers.length, 1);
  assert.equal(answers[0].reject, true);
});

test('a lost acknowledgement is recovered: the next heartbeat leads to an append that is answered', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.stabilize();
  let dropped = 0;
  // Follower 2's acknowledgement of the entry is lost once; 3's commits it.
  g.propose(1, 'x');
  g.stabilize((m) => m.type === 'appResp' && m.from === 2 && dropped++ === 0);
  assert.equal(dropped >= 1, true);
  const leader = g.member(1).raw.raft;
  const index = leader.raftLog.lastIndex();
  assert.equal(leader.raftLog.committed, index, 'committed with follower 3');
  const pr = leader.trk.progress.get(2)!;
  assert.equal(pr.match < index, true, 'the leader has not heard that 2 holds it');
  // The notice to 2 went unanswered (its acknowledgement was the one lost);
  // a heartbeat round brings the leader up to date.
  g.tickAll(1);
  assert.equal(pr.match, index);
  assert.equal(pr.state, 'replicate');
});

test('a follower being probed, or a leadership transfer in progress, always gets appends that ask for an answer', () => {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.stabilize();
  g.member(1).raw.reportUnreachable(2);
  assert.equal(g.member(1).raw.raft.trk.progress.get(2)!.state, 'probe');
  // Nothing new to send: the heartbeat's answer brings an empty probe, which
  // must be answered for the follower to be replicated to again.
  let mark = g.sent.length;
  g.tickAll(1);
  const toProbed = g.sent.slice(mark).filter((m) => m.type === 'app' && m.to === 2);
  assert.equal(toProbed.length > 0, true);
  assert.equal(toProbed[0].entries.length, 0);
  assert.equal(toProbed[0].commitOnly, undefined, 'an empty probe asks for an answer');
  assert.equal(g.sent.slice(mark).some((m) => m.type === 'appResp' && m.from === 2 && !m.reject), true, 'the probe was answered');
  g.propose(1, 'x');
  g.stabilize();
  assert.equal(g.member(1).raw.raft.trk.progress.get(2)!.state, 'replicate');

  // A transfer starts while an entry is in flight: its commit reaches the
  // followers in appends that are answered, so the transfer's step can run.
  g.propose(1, 'y');
  g.process(1);
  mark = g.sent.length;
  g.member(1).raw.transferLeadership(3);
  g.stabilize();
  assert.equal(g.leaderId(), 3);
  const fromOld = g.sent.slice(mark).filter((m) => m.from === 1 && m.type === 'app');
  assert.equal(fromOld.some(isNotice), true, 'the commit of y was sent');
  assert.equal(fromOld.some((m) => m.commitOnly), false);
  assert.deepEqual(g.appliedTexts(2), ['x', 'y']);
});
