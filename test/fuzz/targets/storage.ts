// Fuzz target for recovery from a damaged data dir (replica/storage through
// its public openStorage): a real WAL (several segments, hard states,
// snapshots) is written once; every input is a mutated copy of one of its
// files — bit flips, truncation, zero runs, splices of another file's bytes,
// a segment swapped for another — and recovery must either return a prefix
// of what was written or refuse with one of the storage errors on one line;
// a refusal must leave every file byte for byte as it was (no data lost).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataDirMismatchError, SnapshotCorruptError, WalCorruptError, openStorage } from '../../../replica/storage/index.ts';
import type { Entry } from '../../../replica/raft/index.ts';
import { Rng, mutate } from '../mutate.ts';
import { FuzzFailure, Tally, type FuzzTarget } from '../target.ts';

const ids = { clusterId: 0x5eed, memberId: 0x11 };
const opts = { preallocate: false, segmentBytes: 4096 };

function entry(index: number, term: number): Entry {
  const data = Buffer.alloc(60 + (index % 7) * 13, index & 0xff);
  return { index, term, type: 'normal', data };
}

function filesOf(dir: string): string[] {
  const out: string[] = [];
  for (const sub of ['wal', 'snap']) {
    const d = path.join(dir, 'member', sub);
    if (fs.existsSync(d)) for (const n of fs.readdirSync(d).sort()) out.push(path.join(d, n));
  }
  return out;
}

function snapshotOf(dir: string): Map<string, Buffer> {
  return new Map(filesOf(dir).map((f) => [f, fs.readFileSync(f)]));
}

export const storageTarget: FuzzTarget = {
  name: 'storage',
  async run(seed, budgetMs) {
    const name = 'storage';
    const started = performance.now();
    const rng = new Rng(seed);
    const tally = new Tally();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-fuzz-storage-'));
    try {
      const pristine = path.join(root, 'pristine');
      const { storage } = await openStorage(pristine, ids, opts);
      const termOf = (i: number) => 1 + (i >> 5);
      for (let i = 1; i <= 120; i++) {
        await storage.save({ term: termOf(i), vote: 1, commit: i - 1 }, [entry(i, termOf(i))], true);
        if (i === 40 || i === 90) await storage.saveSnapshot({ metadata: { index: i - 5, term: termOf(i - 5), confState: { voters: [ids.memberId], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: Buffer.alloc(200, i) });
      }
      await storage.close();
      const original = snapshotOf(pristine);
      const originalFiles = [...original.keys()];
      const work = path.join(root, 'work');
      const deadline = performance.now() + budgetMs;
      for (let i = 0; i === 0 || performance.now() < deadline; i++) {
        fs.rmSync(work, { recursive: true, force: true });
        fs.cpSync(pristine, work, { recursive: true });
        fs.rmSync(path.join(work, 'member', 'lock'), { force: true });
        const victim = rng.pick(originalFiles);
        const target = path.join(work, path.relative(pristine, victim));
        const donors = [...original.values()];
        let bytes: Buffer;
        if (rng.chance(0.1)) {
          // A whole file replaced by another one of the same kind (a misplaced segment or snapshot).
          const same = originalFiles.filter((f) => path.dirname(f) === path.dirname(victim) && f !== victim);
          bytes = same.length ? Buffer.from(original.get(rng.pick(same))!) : mutate(original.get(victim)!, rng, donors);
        } else {
          bytes = mutate(original.get(victim)!, rng, donors, 4);
        }
        fs.writeFileSync(target, bytes);
        const before = snapshotOf(work);
        const t0 = performance.now();
        try {
          const r = await openStorage(work, ids, opts);
          await r.storage.close();
          const first = r.state.snapshot ? r.state.snapshot.metadata.index + 1 : 1;
          r.state.entries.forEach((e, k) => {
            const want = entry(first + k, termOf(first + k));
            if (e.index !== want.index || e.term !== want.term || !Buffer.from(e.data).equals(Buffer.from(want.data))) {
              throw new FuzzFailure(name, seed, i, bytes, `recovered entry ${e.index} differs from what was written`);
            }
          });
          if (r.state.hardState.commit > first - 1 + r.state.entries.length) throw new FuzzFailure(name, seed, i, bytes, 'recovered commit index points past the recovered log');
          tally.add(r.warnings.length ? 'recovered-with-warnings' : 'recovered');
        } catch (e) {
          if (e instanceof FuzzFailure) throw e;
          const ours = e instanceof WalCorruptError || e instanceof SnapshotCorruptError || e instanceof DataDirMismatchError;
          if (!ours) throw new FuzzFailure(name, seed, i, bytes, `recovery failed with ${String(e)} (file ${path.basename(victim)})`);
          if ((e as Error).message.includes('\n')) throw new FuzzFailure(name, seed, i, bytes, 'refusal is not a one-line error');
          const after = snapshotOf(work);
          for (const [f, content] of before) {
            if (!after.get(f)?.equals(content)) throw new FuzzFailure(name, seed, i, bytes, `a refused start changed ${path.relative(work, f)}`);
          }
          tally.add((e as Error).name);
        }
        if (performance.now() - t0 > 5000) throw new FuzzFailure(name, seed, i, bytes, 'recovery took more than 5 s');
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
    return tally.report(name, started);
  },
};
