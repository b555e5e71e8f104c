// Entry point of `npm run chaos -- [flags]` (see harness/options.ts for the
// flags): one chaos run, its summary printed, exit status 0 (every check
// passed), 1 (not linearizable) or 2 (anything else: no recovery, diverged
// members, undecided, bad flags).
// It must never leave a replica or proxy behind: cleanup runs on every exit
// path, including Ctrl-C.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHAOS_USAGE, defaultOutDir, formatSummary, parseChaosArgs, runChaos } from './harness/index.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Cleanups runs registered functions once, newest first. */
class Cleanups {
  private readonly fns: (() => void | Promise<void>)[] = [];
  private ran = false;
  after(fn: () => void | Promise<void>): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    if (this.ran) return;
    this.ran = true;
    for (const fn of this.fns.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`chaos: cleanup: ${(e as Error).message}`);
      }
    }
  }
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseChaosArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`chaos: ${(e as Error).message}\n${CHAOS_USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(CHAOS_USAGE);
    return 0;
  }
  const outDir = path.resolve(options.outDir ?? defaultOutDir(REPO, options));
  const cleanup = new Cleanups();
  const interrupted = () => {
    console.error('chaos: interrupted; stopping every member and proxy');
    void cleanup.run().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const summary = await runChaos(options, outDir, cleanup, (line) => console.log(line));
    console.log('');
    process.stdout.write(formatSummary(summary));
    return summary.ok ? 0 : summary.verdict === 'not-linearizable' ? 1 : 2;
  } catch (e) {
    console.error(`chaos: ${(e as Error).stack ?? e}`);
    return 2;
  } finally {
    await cleanup.run();
  }
}

// Exit at once, everything stopped and written (stdout and stderr are synchronous for files and pipes
// on Linux): left to end on its own, the process once spun at 100 % CPU for ten minutes after its
// summary, inside Node's teardown of its HTTP/2 handles (FreeEnvironment → CleanupHandles → uv_run;
// cf. nodejs/node#47748), with nothing left to do.
process.exit(await main());
