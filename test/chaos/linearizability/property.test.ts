// Property tests of the checker with fast-check:
// 1. Histories produced by a sequential execution (each operation takes effect
//    at one instant between its invoke and its completion, some outcomes
//    unknown or failed) are accepted, with a valid witness order; changing one
//    read's value to one never written makes them rejected, on that read's key.
// 2. On small random histories (linearizable or not) the checker agrees with a
//    brute-force enumeration written from the definition, whichever meaning a
//    failed cas has (no effect, or an observed mismatch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HistoryRecorder, pairOperations, parseHistory, formatHistory } from '../history/index.ts';
import type { HistoryEvent, HistoryKey, RegisterValue } from '../history/index.ts';
import { checkHistory, explainResult } from './index.ts';
import { bruteForceLinearizable, byKey, witnessProblem } from './oracle.ts';

const KEYS: HistoryKey[] = [null, 'a', 7];
/** A value the generated histories never write. */
const NEVER_WRITTEN = 99;

type Outcome = 'ok' | 'info-applied' | 'info-lost' | 'fail';

interface Command {
  readonly proc: number;
  readonly key: HistoryKey;
  readonly f: 'read' | 'write' | 'cas';
  readonly value: number;
  readonly from: RegisterValue;
  readonly outcome: Outcome;
  /** Fractions in [0, 1) placing the invoke before, and the completion after, the linearization point. */
  readonly early: number;
  readonly late: number;
}

const command: fc.Arbitrary<Command> = fc.record({
  proc: fc.nat({ max: 4 }),
  key: fc.constantFrom(...KEYS),
  f: fc.constantFrom('read' as const, 'write' as const, 'cas' as const),
  value: fc.integer({ min: 0, max: 4 }),
  from: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null, freq: 4 }),
  outcome: fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'ok', 'ok', 'info-applied', 'info-lost', 'fail'),
  early: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  late: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

/**
 * sequentialHistory runs the commands one after another on real registers,
 * command i taking effect at time 1000*i + 500, and records a history whose
 * invoke and completion times surround those instants: every client process
 * runs one call at a time, so calls of different processes overlap freely.
 * After an :info the process gets a fresh id (Jepsen's convention).
 * With `failedCasObserves`, a cas is recorded :fail only when it found another value.
 */
function sequentialHistory(commands: readonly Command[], failedCasObserves: boolean): HistoryEvent[] {
  const SPACING = 1000;
  const at = (i: number): number => SPACING * i + SPACING / 2;
  const nextOfProc = commands.map((c, i) => {
    const j = commands.findIndex((d, k) => k > i && d.proc === c.proc);
    return j === -1 ? undefined : j;
  });
  const registers = new Map<HistoryKey, RegisterValue>();
  const ready = new Map<number, number>(); // logical process -> earliest time of its next invoke
  const ids = new Map<number, number>(); // logical process -> current process id
  let fresh = 100;
  const scheduled: Array<{ time: number; seq: number; run: (r: HistoryRecorder) => void }> = [];

  commands.forEach((c, i) => {
    const point = at(i);
    const earliest = ready.get(c.proc) ?? Math.max(0, point - 5 * SPACING);
    const invoke = earliest + Math.floor(c.early * (point - earliest));
    const next = nextOfProc[i];
    const latest = next === undefined ? point + 5 * SPACING : at(next) - 2;
    const complete = point + 1 + Math.floor(c.late * (latest - point - 1));
    ready.set(c.proc, complete + 1);
    const process = ids.get(c.proc) ?? c.proc;

    const current = registers.get(c.key) ?? null;
    let status: 'ok' | 'info' | 'fail';
    let applied = false;
    if (c.f === 'read') {
      status = c.outcome === 'ok' ? 'ok' : c.outcome === 'fail' ? 'fail' : 'info';
    } else {
      const possible = c.f === 'write' || current === c.from;
      applied = possible && (c.outcome === 'ok' || c.outcome === 'info-applied');
      status = c.outcome === 'ok' ? (possible ? 'ok' : 'fail') : c.outcome === 'fail' ? 'fail' : 'info';
      // When a failed cas means "found another value", other failures must be recorded as unknown.
      if (failedCasObserves && c.f === 'cas' && possible && status === 'fail') status = 'info';
    }
    if (applied) registers.set(c.key, c.value);
    if (status === 'info') ids.set(c.proc, fresh++);

    scheduled.push({
      time: invoke,
      seq: scheduled.length,
      run: (r) =>
        r.invoke(
          process,
          c.f === 'read' ? { f: 'read', key: c.key } : c.f === 'write' ? { f: 'write', key: c.key, value: c.value } : { f: 'cas', key: c.key, from: c.from, to: c.value },
        ),
    });
    scheduled.push({
      time: complete,
      seq: scheduled.length,
      run: (r) => (status === 'ok' ? (c.f === 'read' ? r.ok(process, current) : r.ok(process)) : status === 'fail' ? r.fail(process) : r.info(process)),
    });
  });

  scheduled.sort((a, b) => a.time - b.time || a.seq - b.seq);
  let now = 0n;
  const recorder = new HistoryRecorder({ clock: () => now });
  for (const s of scheduled) {
    now = BigInt(s.time);
    s.run(recorder);
  }
  return [...recorder.events];
}

test('histories of a sequential execution are accepted with a valid witness; one impossible read makes them rejected', () => {
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 40, size: 'max' }), fc.nat(), fc.boolean(), (commands, pick, failedCasObserves) => {
      const events = sequentialHistory(commands, failedCasObserves);
      const options = { failedCas: failedCasObserves ? ('observed-mismatch' as const) : ('no-effect' as const) };
      const result = checkHistory(events, options);
      assert.equal(result.verdict, 'linearizable', explainResult(result).join('\n'));
      const ops = pairOperations(events);
      const perKey = byKey(ops);
      for (const k of result.keys) assert.equal(witnessProblem(perKey.get(k.key)!, k.order!, failedCasObserves), null);
      // The written text reads back to the same verdict.
      assert.equal(checkHistory(parseHistory(formatHistory(events)), options).verdict, 'linearizable');

      const reads = ops.filter((op) => op.f === 'read' && op.status === 'ok');
      if (reads.length === 0) return;
      const victim = reads[pick % reads.length];
      const mutated = events.map((e, i) =>
        i === victim.complete ? { ...e, value: victim.key === null ? NEVER_WRITTEN : [victim.key, NEVER_WRITTEN] } : e,
      );
      const bad = checkHistory(mutated, options);
      assert.equal(bad.verdict, 'not-linearizable');
      const failing = bad.keys.filter((k) => k.verdict !== 'linearizable').map((k) => k.key);
      assert.deepEqual(failing, [victim.key]);
      const violation = bad.keys.find((k) => k.key === victim.key)!.violation!;
      assert.ok(violation.stuck.length > 0);
      assert.ok(!violation.prefix.some((op) => op.id === victim.id));
    }),
    { numRuns: 300 },
  );
});

/** A random step of a small random history: a process invokes, or completes its pending call. */
const step = fc.record({
  proc: fc.nat({ max: 2 }),
  key: fc.constantFrom('a', 'b'),
  f: fc.constantFrom('read' as const, 'write' as const, 'cas' as const),
  value: fc.constantFrom<RegisterValue>(null, 1, 2),
  to: fc.constantFrom(1, 2),
  outcome: fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'fail' as const, 'info' as const),
});

test('agrees with brute-force enumeration on small random histories, under both meanings of a failed cas', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 4, maxLength: 30, size: 'max' }), fc.boolean(), (steps, failedCasObserves) => {
      const recorder = new HistoryRecorder();
      const pending = new Map<number, 'read' | 'write' | 'cas'>();
      const ids = [0, 1, 2];
      let calls = 0;
      for (const s of steps) {
        const process = ids[s.proc];
        const f = pending.get(process);
        if (f === undefined) {
          if (calls === 12) continue; // keep the enumeration small: at most 12 calls over 2 keys
          calls++;
          if (s.f === 'read') recorder.invoke(process, { f: 'read', key: s.key });
          else if (s.f === 'write') recorder.invoke(process, { f: 'write', key: s.key, value: s.to });
          else recorder.invoke(process, { f: 'cas', key: s.key, from: s.value, to: s.to });
          pending.set(process, s.f);
          continue;
        }
        pending.delete(process);
        if (s.outcome === 'fail') recorder.fail(process);
        else if (s.outcome === 'info') {
          recorder.info(process);
          ids[s.proc] += 3;
        } else if (f === 'read') recorder.ok(process, s.value);
        else recorder.ok(process);
      }
      const ops = pairOperations(recorder.events);
      const expected = [...byKey(ops).values()].every((keyOps) => bruteForceLinearizable(keyOps, failedCasObserves));
      const result = checkHistory(recorder.events, { failedCas: failedCasObserves ? 'observed-mismatch' : 'no-effect' });
      assert.equal(result.verdict, expected ? 'linearizable' : 'not-linearizable', recorder.format());
      const perKey = byKey(ops);
      for (const k of result.keys) {
        if (k.order) assert.equal(witnessProblem(perKey.get(k.key)!, k.order, failedCasObserves), null);
      }
    }),
    { numRuns: 1000 },
  );
});
