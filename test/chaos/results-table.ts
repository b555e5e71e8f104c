// `node test/chaos/results-table.ts DIR...`: reads the summary.json of chaos
// runs (each DIR a run's output directory, or a directory holding several)
// and prints one Markdown table row per nemesis set (and per negative
// control): runs × seconds (mean), ops ok/fail/info (summed), faults
// injected, the longest time without a successful call, and verdicts.
// This is how test/chaos/RESULTS.md is made.
// It must never change a verdict: it only counts what the summaries say.
import fs from 'node:fs';
import path from 'node:path';
import type { ChaosSummary } from './harness/index.ts';

function summaries(dir: string): ChaosSummary[] {
  const file = path.join(dir, 'summary.json');
  if (fs.existsSync(file)) return [JSON.parse(fs.readFileSync(file, 'utf8')) as ChaosSummary];
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a run directory (no summary.json) nor a directory of runs`);
  return fs
    .readdirSync(dir)
    .sort()
    .flatMap((d) => (fs.statSync(path.join(dir, d)).isDirectory() ? summaries(path.join(dir, d)) : []));
}

/** resultsTable renders the summaries grouped by nemesis set and control. */
export function resultsTable(all: readonly ChaosSummary[]): string {
  const groups = new Map<string, ChaosSummary[]>();
  for (const s of all) {
    const key = `${s.nemesis.length === 6 ? 'all' : s.nemesis.join(',') || 'none'}${s.unsafeLocalReads ? ' (--unsafe-local-reads)' : ''} / ${s.members} members`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const rows = ['| nemesis | runs × s | ops ok | ops fail | ops info | faults | longest gap | verdicts | all checks |', '|---|---|---|---|---|---|---|---|---|'];
  for (const [key, runs] of groups) {
    const sum = (f: (s: ChaosSummary) => number) => runs.reduce((n, s) => n + f(s), 0);
    const verdicts = new Map<string, number>();
    for (const s of runs) verdicts.set(s.verdict, (verdicts.get(s.verdict) ?? 0) + 1);
    const faults = sum((s) => Object.values(s.faults).reduce((a, b) => a + b, 0));
    const ok = runs.filter((s) => s.ok).length;
    const seconds = Math.round(sum((s) => s.seconds) / runs.length);
    const gap = Math.max(...runs.map((s) => s.availability?.longestGapMs ?? 0)) / 1000;
    rows.push(
      `| ${key} | ${runs.length} × ${seconds} | ${sum((s) => s.ops.total.ok)} | ${sum((s) => s.ops.total.fail)} | ${sum((s) => s.ops.total.info)} | ${faults} | ${gap.toFixed(1)} s | ${[...verdicts].map(([v, n]) => `${n} ${v}`).join(', ')} | ${ok}/${runs.length} pass |`,
    );
  }
  return rows.join('\n') + '\n';
}

if (import.meta.main) {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    console.error('usage: node test/chaos/results-table.ts RUN_DIR...');
    process.exitCode = 2;
  } else {
    try {
      process.stdout.write(resultsTable(dirs.flatMap(summaries)));
    } catch (e) {
      console.error(`results-table: ${(e as Error).message}`);
      process.exitCode = 2;
    }
  }
}
