// Breaks one failover down into its phases from the surviving members' logs
// and the load generator's record: signal → first campaign on a survivor →
// leader elected → the new leader's first commit of its term (replicant logs
// it; etcd does not) → first successful client write, plus how many campaigns
// it took and where the clients' writes went meanwhile. Reads etcd's zap JSON
// lines and replicant's pino JSON lines. It must never signal or start a
// process, and never fail a benchmark because a log line is missing (phases
// not seen are null).
import fs from 'node:fs';
import type { TargetKind } from './clusters.ts';
import type { EndpointTally } from './loadgen.ts';

/** LogEvent is one election-related line of a member's log, at a wall-clock time (ms since the epoch). */
export interface LogEvent {
  member: string;
  at: number;
  kind: 'campaign' | 'leader' | 'firstCommit';
  /** campaign: 'preVote' or 'vote'; etcd without pre-vote logs 'vote' */
  detail?: string;
  /** replicant campaigns: ms since the member last heard from a leader, and the randomised timeout in ticks */
  sinceLeaderMs?: number;
  electionTicks?: number;
}

/** CampaignRecord is one campaign of a survivor, relative to the signal. */
export interface CampaignRecord {
  member: string;
  afterSignalMs: number;
  kind: string;
  sinceLeaderMs?: number;
  electionTicks?: number;
}

/** FailoverBreakdown: every time is ms after the signal (wall clock); null when the phase was not seen. */
export interface FailoverBreakdown {
  /** the last success before the signal, as a negative time */
  lastSuccessBeforeMs: number | null;
  firstCampaignMs: number | null;
  /** campaigns started by survivors until a leader was elected (a pre-vote round and its vote round count once) */
  campaignRounds: number;
  leaderElectedMs: number | null;
  firstCommitMs: number | null;
  /** the first write issued after the signal that succeeded: when it was issued, when it ended, where it went */
  firstWriteIssuedMs: number | null;
  firstWriteMs: number | null;
  firstWriteEndpoint: string | null;
  campaigns: CampaignRecord[];
  /** per endpoint (member name when known): the writes issued after the signal */
  clients: Record<string, EndpointTally>;
}

const ETCD_CAMPAIGN = /is starting a new election at term|became pre-candidate at term/;
const ETCD_LEADER = /became leader at term/;

/** parseMemberLog reads the election events of one member's log text (etcd's or replicant's format). */
export function parseMemberLog(kind: TargetKind, member: string, text: string): LogEvent[] {
  const out: LogEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line[0] !== '{') continue;
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const msg = typeof j.msg === 'string' ? j.msg : '';
    if (kind === 'etcd') {
      const at = typeof j.ts === 'string' ? Date.parse(j.ts) : NaN;
      if (!Number.isFinite(at)) continue;
      if (ETCD_CAMPAIGN.test(msg)) out.push({ member, at, kind: 'campaign', detail: /pre-candidate/.test(msg) ? 'preVote' : 'vote' });
      else if (ETCD_LEADER.test(msg)) out.push({ member, at, kind: 'leader' });
    } else {
      const at = typeof j.time === 'number' ? j.time : NaN;
      if (!Number.isFinite(at)) continue;
      if (msg === 'campaign') {
        out.push({
          member,
          at,
          kind: 'campaign',
          detail: String(j.kind),
          sinceLeaderMs: typeof j.sinceLeaderMs === 'number' ? j.sinceLeaderMs : undefined,
          electionTicks: typeof j.electionTicks === 'number' ? j.electionTicks : undefined,
        });
      } else if (msg === 'leader changed' && j.state === 'leader') out.push({ member, at, kind: 'leader' });
      else if (msg === 'committed the first entry of its term') out.push({ member, at, kind: 'firstCommit' });
    }
  }
  return out;
}

/** readLogFrom returns the text of a log file from byte `offset` on ('' if it cannot be read). */
export function readLogFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) return '';
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** logSize is a log file's current size (0 if absent): where to start reading after a signal. */
export function logSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export interface BreakdownInput {
  /** the signal's wall-clock time (Date.now()) and its absNow() time, to put both clocks on one axis */
  signalWallMs: number;
  signalAbsMs: number;
  events: LogEvent[];
  lastSuccessBeforeAbs: number | null;
  firstSuccessAfter?: { endpoint: string; start: number; end: number };
  clients: Record<string, EndpointTally>;
  /** endpoint (host:port) → member name */
  names: Map<string, string>;
}

/** breakdown puts the phases of one failover on the signal's time axis. */
export function breakdown(x: BreakdownInput): FailoverBreakdown {
  const rel = (wall: number) => wall - x.signalWallMs;
  const relAbs = (abs: number) => abs - x.signalAbsMs;
  const events = x.events.filter((e) => e.at >= x.signalWallMs).sort((a, b) => a.at - b.at);
  const leader = events.find((e) => e.kind === 'leader');
  const untilLeader = events.filter((e) => e.kind === 'campaign' && (!leader || e.at <= leader.at));
  const campaigns = untilLeader.map(
    (e): CampaignRecord => ({ member: e.member, afterSignalMs: rel(e.at), kind: e.detail ?? 'vote', sinceLeaderMs: e.sinceLeaderMs, electionTicks: e.electionTicks }),
  );
  // A vote round that follows a won pre-vote on the same member is the same campaign.
  let rounds = 0;
  for (let i = 0; i < untilLeader.length; i++) {
    const e = untilLeader[i];
    const prev = untilLeader.slice(0, i).reverse().find((p) => p.member === e.member);
    if (e.detail === 'vote' && prev?.detail === 'preVote') continue;
    rounds++;
  }
  const firstCommit = leader ? events.find((e) => e.kind === 'firstCommit' && e.member === leader.member && e.at >= leader.at) : undefined;
  const clients: Record<string, EndpointTally> = {};
  for (const [endpoint, t] of Object.entries(x.clients)) clients[x.names.get(endpoint) ?? endpoint] = t;
  const f = x.firstSuccessAfter;
  return {
    lastSuccessBeforeMs: x.lastSuccessBeforeAbs === null ? null : relAbs(x.lastSuccessBeforeAbs),
    firstCampaignMs: campaigns.length > 0 ? campaigns[0].afterSignalMs : null,
    campaignRounds: rounds,
    leaderElectedMs: leader ? rel(leader.at) : null,
    firstCommitMs: firstCommit ? rel(firstCommit.at) : null,
    firstWriteIssuedMs: f ? relAbs(f.start) : null,
    firstWriteMs: f ? relAbs(f.end) : null,
    firstWriteEndpoint: f ? (x.names.get(f.endpoint) ?? f.endpoint) : null,
    campaigns,
    clients,
  };
}
