// The kill -9 test: a child process (testing/crash-writer.ts) writes entries in a
// tight loop, several saves in flight, snapshotting now and then, and prints each
// acknowledgement; we SIGKILL it at random moments (during start-up, right after
// recovery, or after a random number of acknowledgements), recover the data dir
// and check that everything it acknowledged is there, with the same data.
// Runs for WAL_CRASH_SECONDS (default 18) seconds; WAL_CRASH_SEED replays a run.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openStorage } from './index.ts';
import { CRASH_IDS, CRASH_SEGMENT_BYTES, entrySize } from './testing/crash-writer.ts';
import { payload, snapshotAt, tempDataDir } from './testing/helpers.ts';

const WRITER = fileURLToPath(new URL('./testing/crash-writer.ts', import.meta.url));

interface Model {
  /** index -> term of every entry known durable (acknowledged, or recovered earlier) after the snapshot */
  terms: Map<number, number>;
  term: number;
  commit: number;
  snapshot: { index: number; term: number } | undefined;
}

interface Life {
  lines: string[];
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/** runLife starts the writer and kills it by pid when `killWhen` says so; resolves once it is gone. */
function runLife(dir: string, seed: number, preallocate: boolean, killWhen: (lines: string[]) => boolean, live: Set<ChildProcess>): Promise<Life> {
  const child = spawn(process.execPath, [WRITER, dir, String(seed), preallocate ? '1' : '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    process.kill(child.pid!, 'SIGKILL');
  };
  if (killWhen(lines)) kill();
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (killWhen(lines)) kill();
    }
  });
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      live.delete(child);
      resolve({ lines, stderr, code, signal });
    });
  });
}

test('a writer killed -9 at random moments never loses an acknowledged entry, hard state or snapshot', async (t) => {
  const dir = tempDataDir(t, 'crash');
  const seconds = Number(process.env.WAL_CRASH_SECONDS ?? 18);
  const seed0 = Number(process.env.WAL_CRASH_SEED ?? Math.floor(Math.random() * 1e9));
  const live = new Set<ChildProcess>();
  t.after(() => {
    for (const c of live) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
  });
  let seed = seed0 >>> 0 || 1;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const model: Model = { terms: new Map(), term: 0, commit: 0, snapshot: undefined };
  const deadline = Date.now() + seconds * 1000;
  let lives = 0;
  let acks = 0;
  let snaps = 0;
  const warnings = new Map<string, number>();
  const stages = { startup: 0, afterOpen: 0, afterAcks: 0 };
  while (Date.now() < deadline || lives < 5) {
    lives++;
    const where = `life ${lives} of the run with WAL_CRASH_SEED=${seed0}`;
    const mode = rand(10);
    const ackTarget = 1 + rand(rand(3) === 0 ? 300 : 40);
    let killWhen: (lines: string[]) => boolean;
    if (mode === 0) {
      stages.startup++;
      killWhen = () => true; // at once: usually during start-up or recovery
    } else if (mode === 1) {
      stages.afterOpen++;
      killWhen = (lines) => lines.length > 0;
    } else {
      stages.afterAcks++;
      killWhen = (lines) => lines.filter((l) => l.startsWith('ack')).length >= ackTarget;
    }
    const life = await runLife(dir, seed0 + lives, lives % 2 === 0, killWhen, live);
    assert.equal(life.signal, 'SIGKILL', `${where}: the writer stopped by itself (code ${life.code}): ${life.stderr}`);
    // Apply the acknowledgements to the model, in order.
    let lifeTerm: number | undefined;
    for (const line of life.lines) {
      const [kind, ...nums] = line.split(' ');
      const [a, b, c, d] = nums.map(Number);
      if (kind === 'open') lifeTerm = b;
      else if (kind === 'ack') {
        acks++;
        for (const i of [...model.terms.keys()]) if (i >= a) model.terms.delete(i);
        for (let i = a; i <= b; i++) model.terms.set(i, c);
        model.term = Math.max(model.term, c);
        model.commit = Math.max(model.commit, d);
      } else if (kind === 'snap') {
        snaps++;
        model.snapshot = { index: a, term: b };
      } else assert.fail(`${where}: unexpected output ${JSON.stringify(line)}`);
    }
    // Recover and compare.
    const r = await openStorage(dir, CRASH_IDS, { segmentBytes: CRASH_SEGMENT_BYTES, preallocate: false });
    await r.storage.close();
    for (const w of r.warnings) {
      const kind = w.startsWith('truncated torn record') ? 'torn tail' : w.startsWith('removing snapshot') ? 'orphan snapshot' : w;
      warnings.set(kind, (warnings.get(kind) ?? 0) + 1);
    }
    const snap = r.state.snapshot;
    const snapIndex = snap?.metadata.index ?? 0;
    if (model.snapshot) {
      assert.ok(snap && snapIndex >= model.snapshot.index, `${where}: acknowledged snapshot ${model.snapshot.index} lost (have ${snapIndex})`);
    }
    if (snap) {
      assert.ok(snap.data.length >= 64 && snap.data.length < 264, `${where}: snapshot of ${snap.data.length} bytes`);
      assert.deepEqual(Buffer.from(snap.data), Buffer.from(snapshotAt(snapIndex, snap.metadata.term, snap.data.length).data), `${where}: snapshot data`);
      const known = model.terms.get(snapIndex);
      if (known !== undefined) assert.equal(snap.metadata.term, known, `${where}: snapshot term`);
    }
    const recovered = new Map<number, number>();
    r.state.entries.forEach((e, k) => {
      assert.equal(e.index, snapIndex + 1 + k, `${where}: entries are contiguous after the snapshot`);
      const expected = payload(e.index, e.term, entrySize(e.index, e.term));
      assert.ok(Buffer.from(e.data).equals(Buffer.from(expected)), `${where}: data of entry ${e.index}`);
      assert.equal(e.type, e.index % 17 === 0 ? 'confChange' : 'normal');
      recovered.set(e.index, e.term);
    });
    const lastRecovered = Math.max(snapIndex, r.state.entries.at(-1)?.index ?? 0);
    for (const [i, term] of model.terms) {
      assert.ok(i <= lastRecovered, `${where}: acknowledged entry ${i} lost (log ends at ${lastRecovered})`);
      if (i <= snapIndex) continue;
      const got = recovered.get(i);
      // Equal, or replaced by the first (unacknowledged) batch of the killed life.
      const ok = got === term || (got !== undefined && got === lifeTerm && got > term && i > model.commit);
      assert.ok(ok, `${where}: entry ${i} acknowledged in term ${term}, recovered in term ${got}`);
    }
    assert.ok(r.state.hardState.term >= model.term, `${where}: term went back`);
    assert.ok(r.state.hardState.commit >= model.commit, `${where}: commit ${r.state.hardState.commit} < acknowledged ${model.commit}`);
    // What was recovered is durable now and is what the next life builds on.
    model.terms = recovered;
    model.term = r.state.hardState.term;
    model.commit = r.state.hardState.commit;
    model.snapshot = snap ? { index: snapIndex, term: snap.metadata.term } : undefined;
  }
  t.diagnostic(
    `${lives} kills (${stages.startup} at start-up, ${stages.afterOpen} after recovery, ${stages.afterAcks} mid-stream), ` +
      `${acks} acknowledged saves and ${snaps} snapshots checked, recovery warnings ${JSON.stringify(Object.fromEntries(warnings))}, seed ${seed0}`,
  );
  assert.ok(acks > 0 && snaps > 0, 'the run exercised saves and snapshots');
});
