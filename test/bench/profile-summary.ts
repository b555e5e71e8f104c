// Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self and
// inclusive time per function and self time per area of the code (raft,
// storage, transport, gRPC, protobuf, GC, idle...), as plain data and as
// Markdown. It must never need the profiled process, only its file.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** CpuProfile is the JSON shape of a .cpuprofile file (the fields we read). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  /** "name (file:line)" */
  fn: string;
  area: string;
  ms: number;
  /** share of busy (non-idle) time, 0..1 */
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  busyMs: number;
  /** self time by the code area the sampled function lives in */
  byArea: { area: string; ms: number; share: number }[];
  /** time by the job the whole stack was doing (see pathOf) */
  byPath: { area: string; ms: number; share: number }[];
  topSelf: FunctionCost[];
  topInclusive: FunctionCost[];
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** areaOf files a call frame under a part of the system. */
export function areaOf(frame: CallFrame): string {
  const name = frame.functionName;
  const url = frame.url;
  if (!url) {
    if (name === '(idle)') return 'idle';
    if (name === '(garbage collector)') return 'GC';
    if (name === '(program)') return 'V8/native (program)';
    if (name === '(root)') return 'root';
    return 'native (builtins, C++)';
  }
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const rel = path.isAbsolute(file) ? path.relative(REPO, file) : file;
  let m = /^replica\/([^/]+)\//.exec(rel);
  if (m) return `replica/${m[1]}`;
  if (rel.startsWith('proto/')) return 'proto (our codec glue)';
  m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(rel);
  if (m) return m[1];
  if (rel.startsWith('node:internal/http2') || rel.startsWith('node:http2')) return 'node:http2';
  if (rel.startsWith('node:internal/fs') || rel.startsWith('node:fs')) return 'node:fs';
  if (rel.startsWith('node:internal/stream') || rel.startsWith('node:stream') || rel.startsWith('node:net') || rel.startsWith('node:internal/net')) return 'node:net/streams';
  if (rel.startsWith('node:internal/process/task_queues') || rel.startsWith('node:internal/async_hooks')) return 'node: nextTick/promise queues';
  if (rel.startsWith('node:events') || rel.startsWith('node:internal/events')) return 'node:events';
  if (rel.startsWith('node:internal/timers') || rel.startsWith('node:timers')) return 'node:timers';
  if (rel.startsWith('node:buffer') || rel.startsWith('node:internal/buffer')) return 'node:buffer';
  if (rel.startsWith('node:internal/modules') || rel.startsWith('node:internal/deps/amaro') || rel.startsWith('wasm:')) return 'module loading / TS stripping';
  if (rel.startsWith('node:')) return 'node (other internals)';
  return rel.split('/').slice(0, 2).join('/');
}

/**
 * pathOf names the job a sampled stack was doing, by the most specific part
 * of our code on it (first rule that matches wins): WAL, KV apply, peer
 * transport, raft core, client API, the raft loop's glue; else by library.
 */
export function pathOf(stack: CallFrame[]): string {
  const leaf = stack[0]?.functionName;
  if (leaf === '(garbage collector)') return 'GC';
  if (leaf === '(program)') return 'V8/native (program)';
  const areas = new Set(stack.map(areaOf));
  const has = (a: string) => areas.has(a);
  const urls = stack.map((f) => f.url);
  if (has('replica/storage')) return 'WAL writes (replica/storage)';
  if (has('replica/kv')) return 'KV apply and reads (replica/kv)';
  if (has('replica/transport')) return 'peer transport (replica/transport)';
  if (has('replica/raft')) return 'raft core (replica/raft)';
  if (urls.some((u) => /replica\/server\/(etcdapi|client-backend)/.test(u))) return 'client API handlers (replica/server/etcdapi)';
  if (has('replica/server')) return 'raft loop glue (replica/server)';
  if (has('prom-client')) return 'metrics (prom-client)';
  if (has('pino') || has('sonic-boom')) return 'logging (pino)';
  if (has('@grpc/grpc-js') || has('node:http2') || has('protobufjs')) return 'gRPC/HTTP2 plumbing (client API or peer streams, no project frame on the stack)';
  if (has('node:net/streams')) return 'sockets and streams (no project frame on the stack)';
  return 'other runtime work';
}

function label(frame: CallFrame): string {
  const file = frame.url ? (frame.url.startsWith('file://') ? path.relative(REPO, fileURLToPath(frame.url)) : frame.url) : '';
  const short = file.replace(/^.*node_modules\//, '');
  return `${frame.functionName || '(anonymous)'}${short ? ` (${short}:${frame.lineNumber + 1})` : ''}`;
}

/**
 * summarizeProfile computes self time by function and area, and inclusive
 * time by function. With `windows` ([start, end] pairs in ms of the system
 * monotonic clock, which V8 stamps profiles with), only samples inside them
 * count: the measured runs, not start-up or idle time between them.
 */
export function summarizeProfile(profile: CpuProfile, file = '', top = 15, windows?: [number, number][]): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, { ms: number; area: string }>();
  const incl = new Map<string, { ms: number; area: string }>();
  const areas = new Map<string, number>();
  const paths = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = profile.startTime / 1000;
  const inWindow = (t: number) => !windows || windows.some(([a, b]) => t >= a && t <= b);
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    at += ms;
    if (ms <= 0 || !inWindow(at)) continue;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    total += ms;
    const area = areaOf(node.callFrame);
    if (area === 'idle') {
      idle += ms;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const stack: CallFrame[] = [];
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) stack.push(byId.get(id)!.callFrame);
    const job = pathOf(stack);
    paths.set(job, (paths.get(job) ?? 0) + ms);
    const key = label(node.callFrame);
    const s = self.get(key) ?? { ms: 0, area };
    s.ms += ms;
    self.set(key, s);
    // Inclusive: every distinct function on the stack, once per sample.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (f.functionName === '(root)') break;
      const k = label(f);
      if (seen.has(k)) continue;
      seen.add(k);
      const e = incl.get(k) ?? { ms: 0, area: areaOf(f) };
      e.ms += ms;
      incl.set(k, e);
    }
  }
  const busy = total - idle;
  const share = (ms: number) => (busy > 0 ? ms / busy : 0);
  const rank = (m: Map<string, { ms: number; area: string }>) =>
    [...m]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([fn, v]) => ({ fn, area: v.area, ms: v.ms, share: share(v.ms) }));
  return {
    file,
    totalMs: total,
    idleMs: idle,
    busyMs: busy,
    byArea: [...areas].sort((a, b) => b[1] - a[1]).map(([area, ms]) => ({ area, ms, share: share(ms) })),
    byPath: [...paths].sort((a, b) => b[1] - a[1]).map(([area, ms]) => ({ area, ms, share: share(ms) })),
    topSelf: rank(self),
    topInclusive: rank(incl),
  };
}

/** readProfile loads a .cpuprofile file. */
export function readProfile(file: string): CpuProfile {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) {
    throw new Error(`${file}: not a V8 CPU profile (expected nodes, samples and timeDeltas)`);
  }
  return p;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** profileMarkdown renders a summary as Markdown tables. */
export function profileMarkdown(s: ProfileSummary): string {
  const out: string[] = [];
  out.push(
    `Profile ${s.file ? `\`${path.basename(s.file)}\`` : ''}: ${(s.totalMs / 1000).toFixed(1)} s sampled, ` +
      `${(s.busyMs / 1000).toFixed(1)} s busy (${pct(s.totalMs ? s.busyMs / s.totalMs : 0)}), shares below are of busy time.`,
    '',
    '| what the stack was doing | ms | share |',
    '|---|---:|---:|',
  );
  for (const a of s.byPath) out.push(`| ${a.area} | ${a.ms.toFixed(0)} | ${pct(a.share)} |`);
  out.push('', '| area of the sampled function (self time) | ms | share |', '|---|---:|---:|');
  for (const a of s.byArea) out.push(`| ${a.area} | ${a.ms.toFixed(0)} | ${pct(a.share)} |`);
  out.push('', '| top functions, self time | area | ms | share |', '|---|---|---:|---:|');
  for (const f of s.topSelf) out.push(`| \`${f.fn}\` | ${f.area} | ${f.ms.toFixed(0)} | ${pct(f.share)} |`);
  out.push('', '| top functions, inclusive time | area | ms | share |', '|---|---|---:|---:|');
  for (const f of s.topInclusive) out.push(`| \`${f.fn}\` | ${f.area} | ${f.ms.toFixed(0)} | ${pct(f.share)} |`);
  return out.join('\n');
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  if (args.length === 0 || !Number.isInteger(top) || top <= 0) {
    process.stderr.write('usage: node test/bench/profile-summary.ts FILE.cpuprofile... [--top N]\n');
    process.exit(2);
  }
  for (const f of args) process.stdout.write(`${profileMarkdown(summarizeProfile(readProfile(f), f, top))}\n\n`);
}
