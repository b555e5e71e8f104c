// The run's summary: what ran, the ops by outcome, the faults injected, how
// the group recovered, the final reads, the state comparison and the
// checker's verdict; as JSON (summary.json) and as text (summary.txt).
// `ok` is true only when every check passed.
// It must never turn a failed or unknown check into a pass.
import type { Verdict } from '../linearizability/index.ts';
import type { Availability } from './availability.ts';
import type { Convergence } from './convergence.ts';
import type { FinalRead } from './final-reads.ts';
import type { Recovery } from './recovery.ts';
import type { FaultRecord } from './schedule.ts';
import type { OpCounts } from './workload.ts';

export interface ChaosSummary {
  outDir: string;
  nemesis: string[];
  seed: number;
  members: number;
  clients: number;
  keys: number;
  unsafeLocalReads: boolean;
  /** seconds of workload under faults */
  seconds: number;
  ops: OpCounts & { total: { ok: number; fail: number; info: number } };
  /** most frequent failure reasons */
  failureReasons: Record<string, number>;
  /** faults injected per nemesis */
  faults: Record<string, number>;
  faultLog: FaultRecord[];
  skippedFaults: number;
  /** member process restarts (kill/snapshot nemeses, recovery) */
  restarts: number;
  /** the longest time under faults without a successful call */
  availability: Availability;
  recovery: Recovery;
  finalReads: FinalRead[];
  convergence?: Convergence;
  checker: {
    verdict: Verdict;
    elapsedMs: number;
    keys: { key: string; verdict: Verdict; checked: number; explored: number }[];
    explanation: string[];
  };
  verdict: Verdict;
  /** every check passed */
  ok: boolean;
  /** the checks that did not pass */
  problems: string[];
  wallSeconds: number;
}

/** totals adds the per-call counts. */
export function totals(c: OpCounts): { ok: number; fail: number; info: number } {
  const t = { ok: 0, fail: 0, info: 0 };
  for (const f of [c.read, c.write, c.cas]) {
    t.ok += f.ok;
    t.fail += f.fail;
    t.info += f.info;
  }
  return t;
}

/** problemsOf lists what did not pass. */
export function problemsOf(s: Pick<ChaosSummary, 'verdict' | 'recovery' | 'finalReads' | 'convergence' | 'checker'>): string[] {
  const p: string[] = [];
  if (s.verdict === 'not-linearizable') p.push('the history is not linearizable');
  if (s.verdict === 'unknown') p.push('the checker could not decide within its budget');
  if (!s.recovery.recovered) p.push(`the group did not recover after healing: ${s.recovery.reason}`);
  const unread = s.finalReads.filter((r) => r.value === undefined).map((r) => r.key);
  if (unread.length > 0) p.push(`final reads failed for key(s) ${unread.join(', ')}`);
  if (!s.convergence) p.push('member states were not compared (no recovery)');
  else if (!s.convergence.converged) p.push(`member states differ: ${s.convergence.reason ?? s.convergence.disagreements.join('; ')}`);
  return p;
}

function row(label: string, c: { ok: number; fail: number; info: number }): string {
  return `  ${label.padEnd(6)} ok ${String(c.ok).padStart(6)}   fail ${String(c.fail).padStart(6)}   info ${String(c.info).padStart(6)}`;
}

/** formatSummary renders the summary as text. */
export function formatSummary(s: ChaosSummary): string {
  const lines: string[] = [];
  lines.push(`chaos run: nemesis ${s.nemesis.join(',') || 'none'}, ${s.members} members, ${s.clients} clients, ${s.keys} keys, seed ${s.seed}${s.unsafeLocalReads ? ', UNSAFE LOCAL READS (negative control)' : ''}`);
  lines.push(`workload: ${s.seconds.toFixed(1)} s under faults, ${s.wallSeconds.toFixed(1)} s in all`);
  lines.push('ops:');
  lines.push(row('read', s.ops.read));
  lines.push(row('write', s.ops.write));
  lines.push(row('cas', s.ops.cas));
  lines.push(row('total', s.ops.total));
  const reasons = Object.entries(s.failureReasons);
  if (reasons.length > 0) {
    lines.push('failure reasons:');
    for (const [r, n] of reasons) lines.push(`  ${String(n).padStart(6)}  ${r}`);
  }
  const faults = Object.entries(s.faults).map(([n, c]) => `${n} ${c}`).join(', ');
  lines.push(`faults: ${faults || 'none'}${s.skippedFaults ? ` (${s.skippedFaults} skipped: no leader known or no spare address)` : ''}; member restarts ${s.restarts}`);
  for (const f of s.faultLog) {
    lines.push(`  ${(f.at / 1000).toFixed(1).padStart(6)} s  ${f.nemesis}: ${f.description} -> ${f.healed}${f.error ? ` (error: ${f.error})` : ''}`);
  }
  lines.push(`availability: longest time without a successful call ${(s.availability.longestGapMs / 1000).toFixed(1)} s (from ${s.availability.gapStartS.toFixed(1)} s)`);
  lines.push(
    s.recovery.recovered
      ? `recovery: a write committed ${(s.recovery.ms / 1000).toFixed(1)} s after healing; leader ${s.recovery.leader}, voters ${s.recovery.voters?.join(' ')}`
      : `recovery: FAILED after ${(s.recovery.ms / 1000).toFixed(1)} s: ${s.recovery.reason}`,
  );
  lines.push(`final reads: ${s.finalReads.map((r) => `r${r.key}=${r.value === undefined ? 'FAILED' : r.value === null ? 'nil' : r.value}`).join(' ')}`);
  if (s.convergence) {
    const c = s.convergence;
    lines.push(
      c.converged
        ? `members: same state at applied index ${c.appliedIndex} (HashKV ${Object.values(c.hashes)[0]} on ${Object.keys(c.hashes).length} members; ${c.checkpointsCompared} checkpoint digests compared)`
        : `members: DIFFER: ${c.reason ?? ''} ${c.disagreements.join('; ')}`,
    );
  }
  lines.push(`checker: ${s.checker.verdict} in ${(s.checker.elapsedMs / 1000).toFixed(2)} s (${s.checker.keys.map((k) => `${k.key}: ${k.checked} ops`).join(', ')})`);
  for (const l of s.checker.explanation) lines.push(`  ${l}`);
  lines.push(`verdict: ${s.verdict.replace('-', ' ')}${s.ok ? '' : ` — FAILED: ${s.problems.join('; ')}`}`);
  lines.push(`output: ${s.outDir}`);
  return lines.join('\n') + '\n';
}
