// The chaos run's options: `npm run chaos -- --nemesis LIST --time SECONDS
// --seed S ...` parsed into a validated ChaosOptions, with defaults. A bad
// flag is a one-line error naming it.
// It must never start anything.
import { parseArgs } from 'node:util';
import { NEMESIS_NAMES, parseNemesisList, type Nemesis } from './nemesis/index.ts';

export interface ChaosOptions {
  nemeses: Nemesis[];
  /** the --nemesis text as given (names the output directory) */
  nemesisText: string;
  /** seconds of workload under faults */
  timeSeconds: number;
  seed: number;
  /** founding members: 3 or 5 */
  members: number;
  clients: number;
  keys: number;
  opTimeoutMs: number;
  meanThinkMs: number;
  quietMs: [number, number];
  holdMs: [number, number];
  recoveryTimeoutMs: number;
  /** checker time budget */
  checkTimeoutMs: number;
  /** the negative control: members answer reads locally, without ReadIndex */
  unsafeLocalReads: boolean;
  /** --snapshot-count for the members (small when the snapshot nemesis runs) */
  snapshotCount?: number;
  snapshotCatchupEntries?: number;
  /** --checkpoint-interval for the members (digests compared at the end) */
  checkpointInterval: number;
  /** output directory; default out/chaos/<timestamp>-<nemesis>-<seed> */
  outDir?: string;
}

export const CHAOS_USAGE = `usage: npm run chaos -- [flags]

  --nemesis LIST          comma-separated: ${NEMESIS_NAMES.join(', ')}, all (default), none
  --time SECONDS          how long the workload runs under faults (default 60)
  --seed S                seed for every random choice of the harness (default: from the clock)
  --members N             founding members, 3 or 5 (default 3)
  --clients N             concurrent clients (default 6)
  --keys N                registers (etcd keys) the clients share (default 4)
  --op-timeout MS         per-call deadline (default 3000)
  --think MS              mean pause between a client's calls (default 10)
  --quiet MS,MS           quiet spell before each fault, min,max (default 1000,3000)
  --hold MS,MS            how long each fault lasts, min,max (default 2000,6000)
  --recovery-timeout S    how long the group may take to recover after healing (default 30)
  --check-timeout S       linearizability checker budget (default 120)
  --snapshot-count N      members' --snapshot-count (default 100 with the snapshot nemesis, else theirs)
  --checkpoint-interval N members' --checkpoint-interval (default 100)
  --unsafe-local-reads    negative control: members serve reads without ReadIndex
  --out DIR               output directory (default out/chaos/<time>-<nemesis>-<seed>)
  --help                  print this help

Writes DIR/history.log, DIR/summary.json, DIR/summary.txt, DIR/chaos.log and
DIR/members/*.log. Exit status 0 when the history is linearizable, the group
recovered and every member holds the same state; 1 when not linearizable; 2
for any other failure.
`;

function int(flag: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag}: ${JSON.stringify(v)} must be an integer from ${min} to ${max}`);
  return n;
}

function range(flag: string, v: string | undefined, def: [number, number]): [number, number] {
  if (v === undefined) return def;
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x) || x < 0) || parts[0] > parts[1]) {
    throw new Error(`--${flag}: ${JSON.stringify(v)} must be MIN,MAX in milliseconds with MIN <= MAX`);
  }
  return [parts[0], parts[1]];
}

/** parseChaosArgs parses argv (after `--`); undefined means --help. Throws Error with a one-line message on bad input. */
export function parseChaosArgs(argv: string[], now = Date.now()): ChaosOptions | undefined {
  const s = { type: 'string' } as const;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        nemesis: s, time: s, seed: s, members: s, clients: s, keys: s, 'op-timeout': s, think: s, quiet: s, hold: s,
        'recovery-timeout': s, 'check-timeout': s, 'snapshot-count': s, 'checkpoint-interval': s, out: s,
        'unsafe-local-reads': { type: 'boolean' }, help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error((e as Error).message.split('\n')[0]);
  }
  if (values.help) return undefined;
  const v = (k: string) => values[k] as string | undefined;
  const nemesisText = v('nemesis') ?? 'all';
  const nemeses = parseNemesisList(nemesisText);
  const members = int('members', v('members'), 3, 1, 9);
  if (members !== 3 && members !== 5) throw new Error(`--members: ${members}: the harness runs groups of 3 or 5`);
  const snapshot = nemeses.some((n) => n.name === 'snapshot');
  const snapshotCount = v('snapshot-count') !== undefined ? int('snapshot-count', v('snapshot-count'), 0, 1) : snapshot ? 100 : undefined;
  return {
    nemeses,
    nemesisText,
    timeSeconds: int('time', v('time'), 60, 1, 24 * 3600),
    seed: int('seed', v('seed'), now % 1_000_000_007, 0, 2 ** 31 - 1),
    members,
    clients: int('clients', v('clients'), 6, 1, 200),
    keys: int('keys', v('keys'), 4, 1, 1000),
    opTimeoutMs: int('op-timeout', v('op-timeout'), 3000, 100),
    meanThinkMs: int('think', v('think'), 10, 0),
    quietMs: range('quiet', v('quiet'), [1000, 3000]),
    holdMs: range('hold', v('hold'), [2000, 6000]),
    recoveryTimeoutMs: int('recovery-timeout', v('recovery-timeout'), 30, 1) * 1000,
    checkTimeoutMs: int('check-timeout', v('check-timeout'), 120, 1) * 1000,
    unsafeLocalReads: !!values['unsafe-local-reads'],
    ...(snapshotCount !== undefined ? { snapshotCount, snapshotCatchupEntries: Math.max(1, Math.floor(snapshotCount / 10)) } : {}),
    checkpointInterval: int('checkpoint-interval', v('checkpoint-interval'), 100, 1),
    ...(v('out') !== undefined ? { outDir: v('out') } : {}),
  };
}
