// Runs fuzz targets for a time budget: the in-process decoders and storage
// recovery, and the network targets against two single-member groups it
// starts (and stops). Used by the bounded run in `npm test` and by
// `npm run fuzz -- --seconds N`. Each target gets a share of the budget and
// its own seed (derived from the run's), so one target is reproduced alone.
// It must never stop at the first clean target: every selected target runs.
import { DECODER_TARGETS } from './targets/decoders.ts';
import { storageTarget } from './targets/storage.ts';
import { clientPortTargets } from './targets/client-port.ts';
import { peerPortTargets } from './targets/peer-port.ts';
import { startEnv } from './env.ts';
import type { FuzzReport, FuzzTarget } from './target.ts';
import type { Cleanup } from '../e2e/replica-cluster.ts';

/** WEIGHTS share the budget: network targets are slower per input, so they get more time. */
const WEIGHTS: Record<string, number> = {
  'kv-snapshot': 1,
  'log-entry': 1,
  'replica-snapshot': 1,
  'cert-names': 0.5,
  storage: 1.5,
  'client-grpc': 3,
  'client-h2': 2,
  'client-tls': 2,
  'peer-grpc': 3,
  'peer-h2': 1.5,
  'peer-tls': 2,
};

export const TARGET_NAMES = Object.keys(WEIGHTS);

/** seedFor derives a target's seed from the run's seed and its name. */
export function seedFor(runSeed: number, target: string): number {
  let h = runSeed >>> 0;
  for (const c of target) h = (Math.imul(h ^ c.charCodeAt(0), 0x9e3779b1) + 1) >>> 0;
  return h;
}

export interface RunOptions {
  seconds: number;
  seed: number;
  /** run only these targets (default: all) */
  targets?: string[];
  /** a target's seed as given (reproduce one target), instead of derived from `seed` */
  exactSeed?: boolean;
  onReport?: (r: FuzzReport) => void;
}

/** runFuzz runs the selected targets within `seconds` in total; throws the first FuzzFailure after all have run. */
export async function runFuzz(t: Cleanup, o: RunOptions): Promise<FuzzReport[]> {
  const names = o.targets ?? TARGET_NAMES;
  for (const n of names) if (!(n in WEIGHTS)) throw new Error(`unknown fuzz target ${JSON.stringify(n)}; targets: ${TARGET_NAMES.join(', ')}`);
  const needsNetwork = names.some((n) => n.startsWith('client-') || n.startsWith('peer-'));
  const env = needsNetwork ? await startEnv(t) : undefined;
  const all: FuzzTarget[] = [...DECODER_TARGETS, storageTarget, ...(env ? [...clientPortTargets(env), ...peerPortTargets(env)] : [])];
  const selected = all.filter((x) => names.includes(x.name));
  // The budget covers the fuzzing itself; starting the replicas and each target's set-up are not counted.
  const budgetMs = o.seconds * 1000;
  const totalWeight = selected.reduce((s, x) => s + WEIGHTS[x.name], 0);
  const reports: FuzzReport[] = [];
  const failures: Error[] = [];
  for (const target of selected) {
    const share = (budgetMs * WEIGHTS[target.name]) / totalWeight;
    const seed = o.exactSeed ? o.seed : seedFor(o.seed, target.name);
    try {
      const r = await target.run(seed, share);
      reports.push(r);
      o.onReport?.(r);
    } catch (e) {
      failures.push(e as Error);
    }
  }
  if (failures.length) throw failures.length === 1 ? failures[0] : new AggregateError(failures, failures.map((f) => f.message).join('\n\n'));
  return reports;
}
