// An opt-in timeline of the write path, for finding where a put's latency
// goes: with REPLICANT_LATENCY_TRACE=DIR in the environment each member
// appends "epochMs kind index" lines to DIR/trace-<pid>.txt (flushed every
// second and at exit); test/bench/latency-trace.ts turns the files of a
// group into per-put medians. Off (the default), every mark is one boolean
// test. It must never change what the node does, never throw into the
// caller, and never write anywhere but DIR.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.REPLICANT_LATENCY_TRACE;

/** latencyTraceOn: marks are recorded (check it before computing a mark's index). */
export const latencyTraceOn = dir !== undefined && dir !== '';

let lines: string[] = [];
let file = '';

function flush(): void {
  if (lines.length === 0) return;
  const text = lines.join('\n') + '\n';
  lines = [];
  try {
    fs.appendFileSync(file, text);
  } catch {
    // a trace that cannot be written is lost; the member goes on
  }
}

if (latencyTraceOn) {
  file = path.join(dir!, `trace-${process.pid}.txt`);
  setInterval(flush, 1000).unref();
  process.on('exit', flush);
}

/** traceMark records that `kind` happened now for the log entry (or 0) `index`. */
export function traceMark(kind: string, index: number): void {
  if (!latencyTraceOn) return;
  lines.push(`${(performance.timeOrigin + performance.now()).toFixed(3)} ${kind} ${index}`);
  if (lines.length >= 8192) flush();
}
