// A preload for replicant members (or the load generator) that records every
// pause of V8's collectors (node's "gc" performance entries: scavenges,
// mark-compacts and their incremental steps as the main thread saw them)
// with its Unix start time, so slow requests of a --timeline run can be
// matched with the pauses of the process that served or sent them
// (test/bench/pauses.ts). Load it with
//   npm run bench -- ... --node-flags="--import=./test/bench/gc-log.ts"
//   npm run bench -- ... --loadgen-node-flags=--import=./test/bench/gc-log.ts
// (resolved from the process's working directory, the repository); each
// process appends "<start Unix ms> <duration ms> <kind>" lines to
// $REPLICANT_GC_DIR (default /tmp)/gc-<pid>.txt, and its argv to the first line.
// Diagnostics only: nothing else imports it, and it must never change what a
// member does beyond the observer's own cost.
import fs from 'node:fs';
import path from 'node:path';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';

const dir = process.env.REPLICANT_GC_DIR ?? '/tmp';
const file = path.join(dir, `gc-${process.pid}.txt`);
const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
fs.writeFileSync(file, `# ${process.argv.slice(1).join(' ')}\n`);
let lines: string[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
    lines.push(`${(performance.timeOrigin + e.startTime).toFixed(1)} ${e.duration.toFixed(2)} ${kind}`);
  }
});
observer.observe({ entryTypes: ['gc'] });
const flush = () => {
  if (lines.length === 0) return;
  fs.appendFileSync(file, `${lines.join('\n')}\n`);
  lines = [];
};
setInterval(flush, 1000).unref();
process.on('exit', flush);
