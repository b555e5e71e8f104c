// Summarises the write-path timelines members record with
// REPLICANT_LATENCY_TRACE=DIR (replica/server/latency-trace.ts) into per-put
// medians: where a single client's put spends its time inside the leader,
// on the followers, and between our answer and the next request. Usage:
//   node test/bench/latency-trace.ts DIR
// It reads the trace files only; it must never start or touch a member.
import fs from 'node:fs';
import path from 'node:path';

interface Mark {
  t: number;
  index: number;
}

type Timeline = Map<string, Mark[]>;

/** readTimeline parses one member's trace file into marks by kind, in time order. */
export function readTimeline(text: string): Timeline {
  const tl: Timeline = new Map();
  for (const line of text.split('\n')) {
    const [t, kind, index] = line.split(' ');
    if (!kind) continue;
    let list = tl.get(kind);
    if (!list) tl.set(kind, (list = []));
    list.push({ t: Number(t), index: Number(index) });
  }
  for (const list of tl.values()) list.sort((a, b) => a.t - b.t);
  return tl;
}

/** firstAtOrAbove is the earliest mark of `kind` whose index reaches `index` at or after time `after`. */
function firstAtOrAbove(tl: Timeline, kind: string, index: number, after = -Infinity): Mark | undefined {
  for (const m of tl.get(kind) ?? []) if (m.t >= after && m.index >= index) return m;
  return undefined;
}

/** lastBefore is the latest mark of `kind` at or before time t. */
function lastBefore(tl: Timeline, kind: string, t: number): Mark | undefined {
  let found: Mark | undefined;
  for (const m of tl.get(kind) ?? []) {
    if (m.t > t) break;
    found = m;
  }
  return found;
}

function firstAfter(tl: Timeline, kind: string, t: number): Mark | undefined {
  for (const m of tl.get(kind) ?? []) if (m.t >= t) return m;
  return undefined;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Span is one named interval measured on every traced put. */
export interface Span {
  name: string;
  samples: number[];
}

/** summarise pairs the leader's and followers' marks put by put and returns the spans. */
export function summarise(leader: Timeline, followers: Timeline[]): Span[] {
  const spans = new Map<string, number[]>();
  const add = (name: string, a: Mark | undefined, b: Mark | undefined) => {
    if (!a || !b) return;
    let list = spans.get(name);
    if (!list) spans.set(name, (list = []));
    list.push(b.t - a.t);
  };
  // Optimisation-neutral names: each span is "from → to" of the marks named in latency-trace.ts.
  for (const applied of leader.get('applied') ?? []) {
    const i = applied.index;
    const propose = firstAtOrAbove(leader, 'propose', i);
    if (!propose || propose.t > applied.t) continue;
    // Only single-put proposals: a batch means several clients (the preload), not the single-client path.
    const proposals = leader.get('propose')!;
    const before = proposals[proposals.indexOf(propose) - 1];
    if (propose.index !== i || !before || before.index !== i - 1) continue;
    const call = lastBefore(leader, 'call', propose.t);
    const ready = firstAtOrAbove(leader, 'ready', i, propose.t);
    const persisted = firstAtOrAbove(leader, 'persisted', i, propose.t);
    const ack = firstAtOrAbove(leader, 'recv-ack', i, propose.t);
    const committed = firstAtOrAbove(leader, 'committed', i, propose.t);
    const answered = firstAfter(leader, 'answered', applied.t);
    const next = answered ? firstAfter(leader, 'call', answered.t) : undefined;
    add('call → propose', call, propose);
    add('propose → ready', propose, ready);
    add('ready → first follower ack', ready, ack);
    const sentApp = firstAtOrAbove(leader, 'sent-app', i, propose.t);
    add('ready → appends handed to the transport', ready, sentApp);
    add('ready → own persisted', ready, persisted);
    add('own persisted → committed ready', persisted, committed);
    add('first ack → committed ready', ack, committed);
    add('committed ready → applied', committed, applied);
    add('applied → answered', applied, answered);
    add('call → answered (inside the leader)', call, answered);
    add('answered → next call', answered, next);
    followers.forEach((f, k) => {
      const recv = firstAtOrAbove(f, 'recv-app', i, propose.t);
      const fready = firstAtOrAbove(f, 'ready', i, propose.t);
      const fpersisted = firstAtOrAbove(f, 'persisted', i, propose.t);
      const sent = firstAtOrAbove(f, 'sent-ack', i, propose.t);
      add(`follower ${k + 1}: leader ready → received`, ready, recv);
      add(`follower ${k + 1}: appends handed to the transport → received`, sentApp, recv);
      add(`follower ${k + 1}: received → ready`, recv, fready);
      add(`follower ${k + 1}: ready → persisted`, fready, fpersisted);
      add(`follower ${k + 1}: persisted → ack sent`, fpersisted, sent);
      add(`follower ${k + 1}: ack sent → leader got an ack`, sent, ack);
    });
  }
  return [...spans].map(([name, samples]) => ({ name, samples }));
}

/** formatSpans prints one line per span: median, 90th percentile, samples. */
export function formatSpans(spans: Span[]): string {
  const rows = spans.map((s) => `| ${s.name} | ${quantile(s.samples, 0.5).toFixed(3)} | ${quantile(s.samples, 0.9).toFixed(3)} | ${s.samples.length} |`);
  return ['| span | p50 ms | p90 ms | puts |', '|---|---:|---:|---:|', ...rows].join('\n');
}

function main(): void {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node test/bench/latency-trace.ts DIR   (the REPLICANT_LATENCY_TRACE dir of a run)');
    process.exit(2);
  }
  const timelines = fs
    .readdirSync(dir)
    .filter((f) => /^trace-\d+\.txt$/.test(f))
    .map((f) => readTimeline(fs.readFileSync(path.join(dir, f), 'utf8')));
  // The leader is the member that answered the client calls.
  timelines.sort((a, b) => (b.get('applied')?.length ?? 0) - (a.get('applied')?.length ?? 0));
  const [leader, ...followers] = timelines;
  if (!leader || !leader.get('applied')) {
    console.error(`${dir}: no traced puts found`);
    process.exit(1);
  }
  console.log(formatSpans(summarise(leader, followers)));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
