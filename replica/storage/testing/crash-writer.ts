// Child process for the kill -9 test: opens a data dir, starts a new term (as a
// new leader would: rewriting part of the uncommitted suffix), then saves batches
// of entries as fast as it can with several saves in flight, snapshotting now and
// then, and prints one line per acknowledgement:
//   open <lastIndex> <term>           recovery done, writing in this term
//   ack <first> <last> <term> <commit> save(hardState, entries first..last, sync) resolved
//   snap <index> <term>               saveSnapshot (or a streamed snapshot's commit) resolved
// Entry data is payload(index, term, entrySize(index, term)), so the parent can
// check any recovered entry. Test-only; it never exits by itself (the test kills it).
// Usage: node crash-writer.ts <data-dir> <seed> <preallocate 0|1>
import { openStorage } from '../index.ts';
import type { DiskStorage } from '../index.ts';
import type { Entry, Snapshot } from '../../raft/types.ts';
import { payload, snapshotAt } from './helpers.ts';

export const CRASH_IDS = { clusterId: 0xc1, memberId: 3 };
export const CRASH_SEGMENT_BYTES = 16 * 1024;

export function entrySize(index: number, term: number): number {
  return 20 + ((index * 7 + term * 13) % 300);
}

/** streamSnapshot saves `snap` through a streamed file, its data appended in parts of `part` bytes. */
async function streamSnapshot(storage: DiskStorage, snap: Snapshot, part: number): Promise<void> {
  const f = await storage.beginSnapshotFile(snap.metadata, { min: snap.data.length, max: snap.data.length });
  for (let at = 0; at < snap.data.length; at += part) await f.append(snap.data.subarray(at, at + part));
  await f.finish();
  await storage.commitSnapshotFile(f);
}

async function main(): Promise<void> {
  const [dir, seedArg, prealloc] = process.argv.slice(2);
  let seed = Number(seedArg) >>> 0 || 1;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed % n;
  };
  const { storage, state } = await openStorage(dir, CRASH_IDS, {
    segmentBytes: CRASH_SEGMENT_BYTES,
    preallocate: prealloc === '1',
    keepSnapshots: 2,
  });
  const out = (line: string): void => void process.stdout.write(line + '\n'); // synchronous on pipes
  const term = state.hardState.term + 1;
  const termOf = new Map<number, number>();
  if (state.snapshot) termOf.set(state.snapshot.metadata.index, state.snapshot.metadata.term);
  for (const e of state.entries) termOf.set(e.index, e.term);
  let last = state.entries.length > 0 ? state.entries[state.entries.length - 1].index : (state.snapshot?.metadata.index ?? 0);
  let acked = state.hardState.commit;
  let lastSnapshot = storage.lastSnapshotIndex();
  let snapshotting = false;
  out(`open ${last} ${term}`);

  const issue = (first: number, to: number): Promise<void> => {
    const ents: Entry[] = [];
    for (let i = first; i <= to; i++) {
      ents.push({ index: i, term, type: i % 17 === 0 ? 'confChange' : 'normal', data: payload(i, term, entrySize(i, term)) });
      termOf.set(i, term);
    }
    const commit = acked;
    last = to;
    return storage.save({ term, vote: CRASH_IDS.memberId, commit }, ents, true).then(() => {
      out(`ack ${first} ${to} ${term} ${commit}`);
      acked = to;
      if (!snapshotting && commit > lastSnapshot && commit - lastSnapshot >= 60 + rand(120)) {
        snapshotting = true;
        const snapTerm = termOf.get(commit)!;
        const snap = snapshotAt(commit, snapTerm, 64 + rand(200));
        // Half of them streamed into their file in parts, as a member's own snapshot is.
        const saved = rand(2) === 0 ? storage.saveSnapshot(snap) : streamSnapshot(storage, snap, 1 + rand(64));
        void saved.then(() => {
          out(`snap ${commit} ${snapTerm}`);
          lastSnapshot = commit;
          snapshotting = false;
        });
      }
    });
  };

  // A new leader's first append may rewrite part of the uncommitted suffix; the
  // log never gets shorter, so everything acknowledged stays or is replaced.
  const commitNow = state.hardState.commit;
  const from = last > commitNow ? commitNow + 1 + rand(last - commitNow) : last + 1;
  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  track(issue(from, last + 1));
  const window = 1 + rand(8);
  for (;;) {
    while (inflight.size < window) {
      const n = 1 + rand(rand(4) === 0 ? 40 : 6);
      track(issue(last + 1, last + n));
    }
    await Promise.race(inflight);
  }
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`crash-writer failed: ${String(err)}\n`);
    process.exit(1);
  });
}
