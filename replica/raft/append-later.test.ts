// A leader that advances a Ready before its own entries are durable
// (advance({ entriesPersistedLater }), then persisted()): those entries are
// never handed out again, the leader counts itself for them only once
// persisted, and its two followers' acknowledgements commit them meanwhile.
// Scripted on the simulator's harness; the leader's Readies are handled here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Group } from '../../test/sim/harness.ts';
import type { RawNode } from './rawnode.ts';
import type { Entry, Ready } from './types.ts';

/** leaderTurn handles one Ready of member 1 like appendLater: messages out, committed entries applied, entries not yet durable. */
function leaderTurn(g: Group): Ready {
  const m = g.member(1);
  const rd = m.raw.ready();
  g.send(rd.messages);
  for (const e of rd.committedEntries) m.applied.push(e);
  m.raw.advance({ entriesPersistedLater: true });
  return rd;
}

/** persistLeader makes `entries` durable on member 1 and tells raft so. */
function persistLeader(g: Group, entries: Entry[]): void {
  const m = g.member(1);
  m.storage.append(entries);
  const last = entries[entries.length - 1];
  m.raw.persisted(last.index, last.term);
}

/** electedTrio is a group of three members led by member 1, settled. */
function electedTrio(): { g: Group; leader: RawNode } {
  const g = new Group([1, 2, 3]);
  g.elect(1);
  g.stabilize();
  return { g, leader: g.member(1).raw };
}

test('entries advanced before they are durable are not handed out again, and commit on the followers alone', () => {
  const { g, leader } = electedTrio();
  const before = leader.raft.raftLog.committed;
  g.propose(1, 'a');
  const rd = leaderTurn(g);
  assert.equal(rd.entries.length, 1);
  const index = rd.entries[0].index;
  assert.equal(leader.hasReady(), false, 'nothing left to hand out');
  // The followers persist and answer; the leader's own write is still under way.
  for (const id of [2, 3]) g.process(id);
  g.deliver();
  for (const id of [2, 3]) g.process(id);
  g.deliver();
  assert.equal(leader.raft.raftLog.committed, index, 'two followers of three commit it');
  assert.ok(leader.raft.raftLog.committed > before);
  assert.equal(leader.raft.trk.progress.get(1)!.match < index, true, 'the leader does not count itself yet');
  const next = leaderTurn(g);
  assert.deepEqual(next.entries, [], 'the in-progress entry is not handed out again');
  assert.deepEqual(next.committedEntries.map((e) => e.index), [index], 'but it is applied: a majority holds it');
  persistLeader(g, rd.entries);
  assert.equal(leader.raft.trk.progress.get(1)!.match, index, 'counted once durable');
  g.stabilize();
  for (const id of [1, 2, 3]) assert.deepEqual(g.appliedTexts(id), ['a'], `member ${id} applied it once`);
});

test('with one follower answering, nothing commits until the leader persisted', () => {
  const { g, leader } = electedTrio();
  const before = leader.raft.raftLog.committed;
  g.isolate(3);
  g.propose(1, 'b');
  const rd = leaderTurn(g);
  g.process(2);
  g.deliver();
  g.process(2);
  g.deliver();
  assert.equal(leader.raft.raftLog.committed, before, 'the leader and one follower: the leader must be durable first');
  persistLeader(g, rd.entries);
  assert.equal(leader.raft.raftLog.committed, rd.entries[0].index, 'committed once the leader persisted');
});

test('several Readies in flight persist in order; entries replaced meanwhile are handed out again', () => {
  const { g, leader } = electedTrio();
  g.propose(1, 'c');
  const first = leaderTurn(g);
  g.propose(1, 'd');
  const second = leaderTurn(g);
  assert.equal(second.entries[0].index, first.entries[0].index + 1, 'the second Ready carries only the new entry');
  persistLeader(g, first.entries);
  persistLeader(g, second.entries);
  g.stabilize();
  for (const id of [1, 2, 3]) assert.deepEqual(g.appliedTexts(id), ['c', 'd']);

  // Entries handed out, then replaced by a newer leader's log: handed out again.
  const log = leader.raft.raftLog;
  g.propose(1, 'e');
  const stale = leaderTurn(g);
  assert.equal(log.hasUnstableEntries(), false);
  const at = stale.entries[0].index;
  log.append([{ term: leader.raft.term + 1, index: at, type: 'normal', data: new Uint8Array([7]) }]);
  assert.deepEqual(log.unstableEntries().map((e) => [e.index, e.term]), [[at, leader.raft.term + 1]], 'the replacement is handed out');
  leader.persisted(at, stale.entries[0].term);
  assert.deepEqual(log.unstableEntries().map((e) => e.index), [at], 'a late persisted() of the replaced entry changes nothing');
});
