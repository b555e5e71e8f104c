// Each safety rule of DESIGN.md on its own: what it allows, what it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  learnerCaughtUp,
  leaderNotRemoved,
  noOtherChangeInFlight,
  nothingDestructiveWithoutQuorum,
  quorumIsHealthy,
  removalKeepsQuorum,
  restartKeepsQuorum,
} from './safety.ts';
import type { Configuration } from './quorum.ts';

const cfg = (voters: number[], learners: number[] = [], outgoing: number[] = []): Configuration => ({
  voters,
  outgoing,
  learners,
  joint: outgoing.length > 0,
});
const ok = (v: { ok: boolean }) => v.ok;

test('rule 1: never start a change unless a quorum of the current configuration is healthy', () => {
  assert.ok(ok(quorumIsHealthy(cfg([1, 2, 3]), new Set([1, 2]))));
  const v = quorumIsHealthy(cfg([1, 2, 3]), new Set([1]));
  assert.ok(!v.ok && /1\/3 voters healthy, 2 needed/.test(v.reason));
  assert.ok(!ok(quorumIsHealthy(undefined, new Set([1]))));
  assert.ok(!ok(quorumIsHealthy(cfg([1, 2, 4], [], [1, 2, 3]), new Set([1, 4]))), 'joint: C_old lacks a quorum');
});

test('rule 2: one change at a time', () => {
  assert.ok(ok(noOtherChangeInFlight(cfg([1, 2, 3]), undefined, undefined)));
  assert.ok(!ok(noOtherChangeInFlight(cfg([1, 2, 3]), { id: 'a' }, { id: 'b' })), 'another operation in flight');
  assert.ok(ok(noOtherChangeInFlight(cfg([1, 2, 3]), { id: 'a' }, { id: 'a' })), 'driving the one in flight');
  assert.ok(!ok(noOtherChangeInFlight(cfg([1, 2, 4], [], [1, 2, 3]), undefined, undefined)), 'joint with nothing driving it');
  assert.ok(ok(noOtherChangeInFlight(cfg([1, 2, 4], [], [1, 2, 3]), { id: 'a' }, { id: 'a' })), 'the driver may finish its joint change');
  assert.ok(!ok(noOtherChangeInFlight(cfg([1, 2, 3], [9]), { id: 'a' }, { id: 'a' })), 'a learner of nobody blocks');
  assert.ok(ok(noOtherChangeInFlight(cfg([1, 2, 3], [9]), { id: 'a' }, { id: 'a' }, new Set([9]))), 'its own learner does not');
});

test('rule 3: a new member is a caught-up learner before it votes', () => {
  const leader = { commitIndex: 1000, progress: [{ id: 4, match: 995 }, { id: 5, match: 10 }] };
  const c = cfg([1, 2, 3], [4, 5]);
  assert.ok(ok(learnerCaughtUp(4, c, leader, 10)));
  assert.ok(!ok(learnerCaughtUp(5, c, leader, 10)));
  assert.ok(!ok(learnerCaughtUp(1, c, leader, 10)), 'not a learner');
  assert.ok(!ok(learnerCaughtUp(4, c, undefined, 10)), 'no leader to vouch for it');
  assert.ok(!ok(learnerCaughtUp(6, cfg([1], [6]), leader, 10)), 'no progress reported');
});

test('rule 4: never remove a member if the remaining healthy voters would fall below quorum of the new configuration', () => {
  const all = new Set([1, 2, 3, 4, 5]);
  assert.ok(ok(removalKeepsQuorum(cfg([1, 2, 3]), { remove: [3], add: 1 }, new Set([1, 2]))), 'replace the one faulty member of 3');
  assert.ok(ok(removalKeepsQuorum(cfg([1, 2, 3, 4, 5]), { remove: [4, 5] }, all)), '5 -> 3');
  assert.ok(ok(removalKeepsQuorum(cfg([1, 2, 3]), { remove: [2, 3] }, new Set([1, 2, 3]))), '3 -> 1');
  const v = removalKeepsQuorum(cfg([1, 2, 3, 4, 5]), { remove: [4, 5] }, new Set([1, 4, 5]));
  assert.ok(!v.ok && /1 healthy voters of 3, below the quorum of 2/.test(v.reason));
  assert.ok(!ok(removalKeepsQuorum(cfg([1, 2, 3]), { remove: [1, 2, 3] }, all)), 'no voters left');
  assert.ok(!ok(removalKeepsQuorum(cfg([1, 2, 3]), { remove: [1], add: 1 }, new Set([1, 2]))), 'removing a healthy one while another is down');
  assert.ok(ok(removalKeepsQuorum(cfg([1, 2, 3], [4]), { remove: [3], promote: [4] }, new Set([1, 4]))), 'a healthy promoted learner counts');
  assert.ok(ok(removalKeepsQuorum(cfg([1, 2, 3]), { remove: [] }, new Set())), 'no removal, nothing to check');
});

test('rule 5: move leadership away before removing the leader', () => {
  assert.ok(ok(leaderNotRemoved(1, [2, 3])));
  assert.ok(!ok(leaderNotRemoved(1, [1])));
  assert.ok(ok(leaderNotRemoved(undefined, [1])));
});

test('rule 6: quorum lost means nothing destructive', () => {
  assert.ok(!ok(nothingDestructiveWithoutQuorum(true, false)));
  assert.ok(ok(nothingDestructiveWithoutQuorum(false, false)));
  assert.ok(ok(nothingDestructiveWithoutQuorum(true, true)));
});

test('rolling restarts take a member down only if the others keep a healthy quorum', () => {
  assert.ok(ok(restartKeepsQuorum(cfg([1, 2, 3]), 3, new Set([1, 2, 3]))));
  assert.ok(!ok(restartKeepsQuorum(cfg([1, 2, 3]), 3, new Set([2, 3]))), 'one is already down');
  assert.ok(ok(restartKeepsQuorum(cfg([1]), 1, new Set([1]))), 'a single member may restart');
});
