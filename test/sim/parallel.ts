// Runs ranges of seeds across worker threads and folds their results. The
// worker side is this same file (workerData tells the role), so the CLI and the
// test share one implementation. Must never change a seed's outcome: every
// seed runs alone, in any worker.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runSeed, type SimResult } from './run.ts';

export interface SeedRange {
  first: number;
  count: number;
  nodes?: number;
  steps?: number;
}

export interface Summary {
  seeds: number;
  committedCommands: number;
  configChanges: number;
  elections: number;
  readsChecked: number;
  leaderDownReports: number;
  failedSeeds: number;
  violations: number;
  firstFailure?: SimResult;
}

function fold(s: Summary, r: SimResult): void {
  s.seeds++;
  s.committedCommands += r.committedCommands;
  s.configChanges += r.configChanges;
  s.elections += r.elections;
  s.readsChecked += r.readsChecked;
  s.leaderDownReports += r.leaderDownReports;
  if (r.violations.length) {
    s.failedSeeds++;
    s.violations += r.violations.length;
    if (!s.firstFailure || r.seed < s.firstFailure.seed) s.firstFailure = r;
  }
}

function empty(): Summary {
  return { seeds: 0, committedCommands: 0, configChanges: 0, elections: 0, readsChecked: 0, leaderDownReports: 0, failedSeeds: 0, violations: 0 };
}

/** runSeeds runs every seed of the range on `workers` threads (1 = in this thread). */
export async function runSeeds(range: SeedRange, workers: number, progress?: (done: number) => void): Promise<Summary> {
  const summary = empty();
  if (workers <= 1 || range.count < 8) {
    for (let i = 0; i < range.count; i++) {
      fold(summary, runSeed({ seed: range.first + i, nodes: range.nodes, steps: range.steps }));
      progress?.(summary.seeds);
    }
    return summary;
  }
  // Hand out seeds in small chunks so a slow seed does not idle the other workers.
  let next = 0;
  const chunk = Math.max(1, Math.min(50, Math.floor(range.count / (workers * 8))));
  await Promise.all(
    Array.from({ length: workers }, () => {
      const w = new Worker(new URL(import.meta.url), { workerData: { role: 'sim-worker' } });
      return new Promise<void>((resolve, reject) => {
        const feed = () => {
          if (next >= range.count) {
            void w.terminate().then(() => resolve());
            return;
          }
          const count = Math.min(chunk, range.count - next);
          w.postMessage({ ...range, first: range.first + next, count });
          next += count;
        };
        w.on('message', (results: SimResult[]) => {
          for (const r of results) fold(summary, r);
          progress?.(summary.seeds);
          feed();
        });
        w.on('error', reject);
        feed();
      });
    }),
  );
  return summary;
}

if (!isMainThread && (workerData as { role?: string })?.role === 'sim-worker') {
  parentPort!.on('message', (r: SeedRange) => {
    const out: SimResult[] = [];
    for (let i = 0; i < r.count; i++) out.push(runSeed({ seed: r.first + i, nodes: r.nodes, steps: r.steps }));
    parentPort!.postMessage(out);
  });
}
