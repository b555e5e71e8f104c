// `npm run bench`: flags → runBench → the Markdown report on stdout (progress
// on stderr) and the JSON file. Processes it started are killed on the way
// out, whether the run finished, failed or was interrupted (Ctrl-C, SIGTERM).
// A bad flag is a one-line error and exit status 2.
import { BENCH_USAGE, BenchFlagError, parseBenchFlags } from './flags.ts';
import { markdownReport } from './report.ts';
import { profileMarkdown } from './profile-summary.ts';
import { runBench } from './run.ts';

const cleanups: (() => void | Promise<void>)[] = [];
let cleaned = false;

/** cleanupNow runs the synchronous part of every cleanup (kills by PID); safe to call twice. */
function cleanupNow(): void {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try {
      void fn();
    } catch (e) {
      process.stderr.write(`bench: cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

process.on('exit', cleanupNow);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    process.stderr.write(`bench: ${sig}, stopping every process it started\n`);
    cleanupNow();
    process.exit(130);
  });
}

let options;
try {
  options = parseBenchFlags(process.argv.slice(2));
} catch (e) {
  if (e instanceof BenchFlagError) {
    process.stderr.write(`bench: ${e.message}\n(see --help)\n`);
    process.exit(2);
  }
  throw e;
}
if (!options) {
  process.stdout.write(BENCH_USAGE);
  process.exit(0);
}

const t0 = performance.now();
try {
  const { report, profiles } = await runBench(options, { after: (fn) => cleanups.push(fn) }, (line) => process.stderr.write(`bench [${((performance.now() - t0) / 1000).toFixed(1)} s]: ${line}\n`));
  process.stdout.write(`${markdownReport(report)}\n`);
  if (report.profile) process.stdout.write(`### Where the time goes (replicant leader)\n\n${profileMarkdown(report.profile)}\n\nAll profiles: ${profiles.join(', ')}\n`);
  process.stderr.write(`bench: JSON written to ${options.jsonFile}\n`);
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
} finally {
  cleanupNow();
}
