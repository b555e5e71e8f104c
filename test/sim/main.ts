// `npm run sim -- --seeds N [--seed S] [--nodes K] [--steps T] [--workers W]`:
// runs N seeded simulations from S, in parallel worker threads, prints a
// one-line summary and, for a failing seed, the violation and a command that
// replays it. Exit status 1 on any violation.
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { runSeeds, type SeedRange } from './parallel.ts';

function usage(msg: string): never {
  process.stderr.write(`sim: ${msg}\nusage: npm run sim -- --seeds N [--seed S] [--nodes K] [--steps T] [--workers W]\n`);
  process.exit(2);
}

function int(name: string, v: string | undefined, def: number | undefined, min: number): number | undefined {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) usage(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      steps: { type: 'string' },
      workers: { type: 'string' },
      verbose: { type: 'boolean' },
    },
    strict: true,
  }));
} catch (e) {
  usage((e as Error).message);
}
const range: SeedRange = {
  first: int('seed', values.seed, 1, 0)!,
  count: int('seeds', values.seeds, 1, 1)!,
  nodes: int('nodes', values.nodes, undefined, 1),
  steps: int('steps', values.steps, undefined, 1),
};
if (range.nodes !== undefined && range.nodes > 7) usage('--nodes must be between 1 and 7');
const workers = int('workers', values.workers, availableParallelism(), 1)!;

const started = performance.now();
const summary = await runSeeds(range, workers, (done) => {
  if (values.verbose && done % 1000 === 0) process.stderr.write(`  ${done} seeds...\n`);
});
const secs = ((performance.now() - started) / 1000).toFixed(1);
const f = summary.firstFailure;
console.log(
  `sim: ${summary.seeds} seeds (from ${range.first}) in ${secs}s: ${summary.committedCommands} commands and ` +
    `${summary.configChanges} configuration changes committed, ${summary.elections} elections, ` +
    `${summary.readsChecked} reads checked, ${summary.leaderDownReports} leader-down reports taken, ${summary.failedSeeds} failing seeds, ${summary.violations} violations`,
);
if (f) {
  console.log(`first failing seed ${f.seed} (${f.nodes} nodes):`);
  for (const v of f.violations.slice(0, 5)) console.log(`  ${v.split('\n').slice(0, 8).join('\n  ')}`);
  const extra = [range.nodes !== undefined ? ` --nodes ${range.nodes}` : '', range.steps !== undefined ? ` --steps ${range.steps}` : ''].join('');
  console.log(`replay: npm run sim -- --seeds 1 --seed ${f.seed}${extra}`);
  process.exitCode = 1;
}
