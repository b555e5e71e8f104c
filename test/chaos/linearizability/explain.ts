// Turns a check result into the few lines a person needs to see a violation:
// how far the history can be ordered, the register's value there, and the
// operations that cannot come next, each with its lines, process and value.
// It must never print the whole history: a violation is explained by a
// handful of operations, and long prefixes are summarised by their tail.
import { formatKey, formatRegisterValue } from '../history/index.ts';
import type { Operation } from '../history/index.ts';
import type { CheckResult, Violation } from './check.ts';

/** How many of the prefix's last operations to show for context. */
const PREFIX_TAIL = 3;

/** describeOperation is one operation in a line: `read -> 3`, `cas [1 2] (outcome unknown)`. */
export function describeOperation(op: Operation): string {
  let what: string;
  if (op.f === 'read') what = `read -> ${formatRegisterValue(op.value)}`;
  else if (op.f === 'write') what = `write ${formatRegisterValue(op.value)}`;
  else what = `cas [${formatRegisterValue(op.from)} ${formatRegisterValue(op.to)}]`;
  if (op.status === 'info') what += ' (outcome unknown)';
  if (op.status === 'fail') what += ' (failed)';
  return what;
}

/** positionOf is where an operation sits: `lines 12-15`, `line 12-end` (never returned), or event numbers. */
export function positionOf(op: Operation): string {
  const lines = op.invokeLine !== undefined;
  const from = lines ? op.invokeLine : op.invoke + 1;
  const returned = op.status !== 'info' ? (lines ? op.completeLine : op.complete === null ? undefined : op.complete + 1) : undefined;
  return `${lines ? 'lines' : 'events'} ${from}-${returned ?? 'end'}`;
}

function row(op: Operation, note?: string): string {
  const cells = [positionOf(op).padEnd(16), `process ${op.process}`.padEnd(11), describeOperation(op)];
  return '    ' + cells.join(' ') + (note ? `: ${note}` : '');
}

/**
 * writersNote names the write that most plausibly explains a refused read or
 * cas: the latest one called before the refused operation returned (or, if
 * none, the first one called after it), plus how many others exist.
 */
function writersNote(stuck: Operation, value: string, writers: readonly Operation[]): string {
  if (writers.length === 0) return value === 'nil' ? '; nil holds only until the first write' : `; no operation writes ${value}`;
  const end = stuck.complete ?? Infinity;
  const before = writers.filter((w) => w.invoke < end);
  const others = writers.length - 1;
  const more = others > 0 ? ` (${others} other write${others === 1 ? '' : 's'} of ${value})` : '';
  if (before.length > 0) {
    const w = before[before.length - 1];
    return `; ${value} was last written by ${positionOf(w)} process ${w.process} ${describeOperation(w)}${more}`;
  }
  const w = writers[0];
  return `; ${value} is first written after it returned, by ${positionOf(w)} process ${w.process} ${describeOperation(w)}${more}`;
}

/**
 * explainViolation is the lines explaining one key's violation. For a search
 * that was stopped (`stoppedBy`) nothing is proven, so it only says how far
 * the best order found so far reaches.
 */
export function explainViolation(v: Violation, stoppedBy?: 'deadline' | 'memory'): string[] {
  const out: string[] = [];
  const last = v.prefix[v.prefix.length - 1];
  const upTo = last ? ` (last: ${positionOf(last)})` : '';
  if (stoppedBy) {
    const why = stoppedBy === 'deadline' ? 'before the deadline' : 'within the memory limit';
    out.push(`  ${formatKey(v.key)}: no verdict ${why}; the longest order found covers ${v.prefix.length} of ${v.checked} operations${upTo}`);
    return out;
  }
  out.push(
    `  ${formatKey(v.key)}: at most ${v.prefix.length} of ${v.checked} operations can be ordered${upTo}; ` +
      `the value is then ${formatRegisterValue(v.state)}, and none of these can come next:`,
  );
  const state = formatRegisterValue(v.state);
  for (const s of v.stuck) {
    let why: string;
    if (!s.illegal) why = 'allowed here, but then the rest cannot be ordered';
    else if (s.op.f === 'read') why = `reads ${formatRegisterValue(s.op.value)}, but the value is ${state}`;
    else if (s.op.f === 'cas' && s.op.status === 'fail') why = `its compare failed, but the value is ${state}, the one it expects`;
    else if (s.op.f === 'cas') why = `expects ${formatRegisterValue(s.op.from)}, but the value is ${state}`;
    else why = 'not allowed here';
    if (s.illegal && s.op.f !== 'write' && s.op.status !== 'fail') {
      why += writersNote(s.op, formatRegisterValue(s.op.f === 'read' ? s.op.value : s.op.from), s.writers);
    }
    out.push(row(s.op, why));
  }
  if (v.prefix.length > 0) {
    const tail = v.prefix.slice(-PREFIX_TAIL);
    const skipped = v.prefix.length - tail.length;
    out.push(`  after the ordered prefix${skipped > 0 ? ` (last ${tail.length} of ${v.prefix.length} shown)` : ''}:`);
    for (const op of tail) out.push(row(op));
  }
  return out;
}

/** explainResult is the explanation lines for every key that is not (or not known to be) linearizable. */
export function explainResult(result: CheckResult): string[] {
  const out: string[] = [];
  for (const k of result.keys) {
    if (k.violation) out.push(...explainViolation(k.violation, k.verdict === 'unknown' ? (k.stoppedBy ?? 'deadline') : undefined));
  }
  return out;
}
