// Tests of the failover breakdown: both log formats parsed into election
// events, and the phases put on the signal's time axis.
import assert from 'node:assert/strict';
import test from 'node:test';
import { breakdown, parseMemberLog } from './failover-breakdown.ts';

const T0 = Date.parse('2026-11-26T00:39:04.665Z');

test('etcd log lines: campaigns (with and without pre-vote) and becoming leader', () => {
  const text = [
    '{"level":"info","ts":"2026-11-26T00:39:05.638Z","caller":"raft/raft.go:929","msg":"9a69 is starting a new election at term 8"}',
    '{"level":"info","ts":"2026-11-26T00:39:05.638Z","caller":"raft/raft.go:719","msg":"9a69 became candidate at term 9"}',
    '{"level":"info","ts":"2026-11-26T00:39:05.640Z","caller":"raft/raft.go:719","msg":"9a69 became pre-candidate at term 9"}',
    'not json',
    '{"level":"info","ts":"2026-11-26T00:39:05.644Z","caller":"raft/raft.go:771","msg":"9a69 became leader at term 9"}',
  ].join('\n');
  const ev = parseMemberLog('etcd', 'etcd-1', text);
  assert.deepEqual(
    ev.map((e) => [e.kind, e.detail, e.at - T0]),
    [
      ['campaign', 'vote', 973],
      ['campaign', 'preVote', 975],
      ['leader', undefined, 979],
    ],
  );
});

test('replicant log lines and the phases of one failover', () => {
  const line = (at: number, o: object) => JSON.stringify({ level: 30, time: T0 + at, member: 'r', ...o });
  const r2 = [
    line(-500, { msg: 'campaign', kind: 'preVote' }), // before the signal: ignored
    line(1100, { msg: 'campaign', kind: 'preVote', sinceLeaderMs: 1150, electionTicks: 11 }),
    line(1110, { msg: 'campaign', kind: 'vote' }),
    line(1120, { msg: 'leader changed', state: 'leader', leader: 'a' }),
    line(1135, { msg: 'committed the first entry of its term' }),
  ].join('\n');
  const r3 = [line(1050, { msg: 'campaign', kind: 'preVote', sinceLeaderMs: 1060, electionTicks: 10 }), line(1121, { msg: 'leader changed', state: 'follower' })].join('\n');
  const events = [...parseMemberLog('replicant', 'r2', r2), ...parseMemberLog('replicant', 'r3', r3)];
  const b = breakdown({
    signalWallMs: T0,
    signalAbsMs: 5000,
    events,
    lastSuccessBeforeAbs: 4990,
    firstSuccessAfter: { endpoint: '127.0.0.3:2379', start: 6100, end: 6160 },
    clients: { '127.0.0.3:2379': { issued: 9, succeeded: 3, failed: 2, hedged: 4, unsettled: 4, errorKinds: {} } },
    names: new Map([['127.0.0.3:2379', 'r3']]),
  });
  assert.equal(b.lastSuccessBeforeMs, -10);
  assert.equal(b.firstCampaignMs, 1050);
  assert.equal(b.campaignRounds, 2, "r3's pre-vote (unanswered) and r2's pre-vote with its vote round");
  assert.deepEqual(b.campaigns.map((c) => [c.member, c.kind, c.sinceLeaderMs]), [
    ['r3', 'preVote', 1060],
    ['r2', 'preVote', 1150],
    ['r2', 'vote', undefined],
  ]);
  assert.equal(b.leaderElectedMs, 1120);
  assert.equal(b.firstCommitMs, 1135);
  assert.equal(b.firstWriteIssuedMs, 1100);
  assert.equal(b.firstWriteMs, 1160);
  assert.equal(b.firstWriteEndpoint, 'r3');
  assert.equal(b.clients.r3.hedged, 4);
});

test('a failover whose logs say nothing has null phases, not an error', () => {
  const b = breakdown({ signalWallMs: T0, signalAbsMs: 0, events: [], lastSuccessBeforeAbs: null, clients: {}, names: new Map() });
  assert.equal(b.firstCampaignMs, null);
  assert.equal(b.leaderElectedMs, null);
  assert.equal(b.firstWriteMs, null);
  assert.equal(b.campaignRounds, 0);
});
