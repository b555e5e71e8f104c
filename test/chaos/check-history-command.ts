// The check-history command (`npm run check-history -- [--timeout SECONDS]
// [--failed-cas MODE] [--quiet] FILE...`), as a function of its arguments and
// output: checks each history file for linearizability (compare-and-set
// registers per key) and prints one line per file, `FILE: linearizable` or
// `FILE: not linearizable`, followed for a violation by a short explanation.
// Exit status: 1 if any file is not linearizable; otherwise 2 if any file
// could not be checked (unreadable, malformed, or timed out); otherwise 0.
// It must never print a verdict for a file it could not read completely, and
// never touch process state (exit code, argv): check-history.ts does that.
import { readHistoryFile, HistoryFormatError, EdnError } from './history/index.ts';
import { checkHistory, explainResult } from './linearizability/index.ts';

const USAGE =
  'usage: npm run check-history -- [--timeout SECONDS] [--failed-cas no-effect|observed-mismatch] [--quiet] FILE...';

/** CommandOutput receives whole lines (no trailing newline). */
export interface CommandOutput {
  log(line: string): void;
  error(line: string): void;
}

/** runCheckHistory runs the command and returns its exit status. */
export function runCheckHistory(argv: readonly string[], io: CommandOutput): number {
  const files: string[] = [];
  let timeoutMs: number | undefined;
  let quiet = false;
  let failedCas: 'no-effect' | 'observed-mismatch' = 'no-effect';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      io.log(USAGE);
      return 0;
    } else if (a === '--quiet' || a === '-q') {
      quiet = true;
    } else if (a === '--timeout' || a.startsWith('--timeout=')) {
      const v: string | undefined = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const seconds = Number(v);
      if (v === undefined || !Number.isFinite(seconds) || seconds <= 0) {
        io.error(`check-history: --timeout needs a positive number of seconds, got ${JSON.stringify(v ?? '')}`);
        return 2;
      }
      timeoutMs = seconds * 1000;
    } else if (a === '--failed-cas' || a.startsWith('--failed-cas=')) {
      const v: string | undefined = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v !== 'no-effect' && v !== 'observed-mismatch') {
        io.error(`check-history: --failed-cas is no-effect or observed-mismatch, got ${JSON.stringify(v ?? '')}`);
        return 2;
      }
      failedCas = v;
    } else if (a === '--') {
      files.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('-') && a !== '-') {
      io.error(`check-history: unknown flag ${a}\n${USAGE}`);
      return 2;
    } else {
      files.push(a);
    }
  }
  if (files.length === 0) {
    io.error(`check-history: no history files given\n${USAGE}`);
    return 2;
  }

  let violations = 0;
  let unchecked = 0;
  for (const file of files) {
    let events;
    try {
      events = readHistoryFile(file);
    } catch (err) {
      unchecked++;
      io.log(`${file}: error: ${describeError(err)}`);
      continue;
    }
    let result;
    try {
      result = checkHistory(events, { source: file, failedCas, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    } catch (err) {
      unchecked++;
      io.log(`${file}: error: ${describeError(err)}`);
      continue;
    }
    if (result.verdict === 'linearizable') {
      io.log(`${file}: linearizable`);
    } else if (result.verdict === 'not-linearizable') {
      violations++;
      io.log(`${file}: not linearizable`);
      if (!quiet) for (const line of explainResult(result)) io.log(line);
    } else {
      unchecked++;
      const memory = result.keys.some((k) => k.stoppedBy === 'memory');
      io.log(
        memory
          ? `${file}: unknown (the search outgrew its memory limit; the history is too concurrent to decide)`
          : `${file}: unknown (no verdict within ${(timeoutMs ?? 0) / 1000}s; raise --timeout)`,
      );
      if (!quiet) for (const line of explainResult(result)) io.log(line);
    }
  }
  return violations > 0 ? 1 : unchecked > 0 ? 2 : 0;
}

function describeError(err: unknown): string {
  if (err instanceof HistoryFormatError) return `line ${err.line}: ${err.reason}`;
  if (err instanceof EdnError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') return 'no such file';
  if (e && e.code === 'EISDIR') return 'is a directory, not a history file';
  if (e && e.code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(err);
}

