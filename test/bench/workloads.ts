// The benchmark's workloads (issue 5): puts of 256-byte values at 1, 16, 64 and
// 256 clients; linearizable single-key reads at 1 and 64; serializable reads;
// a 90/10 read/write mix; compare-and-swap transactions. Each is a name, an
// operation kind and a client count. It must never hold load-generation code.

export type OpKind = 'put' | 'range' | 'mix' | 'cas';

export interface Workload {
  /** name used on the command line and in the JSON (e.g. "put-64") */
  name: string;
  /** one-line description for the table */
  title: string;
  kind: OpKind;
  /** concurrent clients, each with one request in flight */
  concurrency: number;
  /** reads: serializable (any member's local state) instead of linearizable */
  serializable: boolean;
  /** mix: percentage of operations that are (linearizable) reads */
  readPercent: number;
}

/** VALUE_BYTES is the size of every written value. */
export const VALUE_BYTES = 256;
/** PUT_KEYSPACE is how many distinct keys the put workloads spread over. */
export const PUT_KEYSPACE = 100_000;
/** READ_KEYS is how many keys are preloaded for the read, mix workloads. */
export const READ_KEYS = 1000;

function w(name: string, title: string, kind: OpKind, concurrency: number, extra: Partial<Workload> = {}): Workload {
  return { name, title, kind, concurrency, serializable: false, readPercent: 0, ...extra };
}

/** WORKLOADS in the order a full run measures them. */
export const WORKLOADS: readonly Workload[] = [
  w('put-1', 'put 256 B, 1 client', 'put', 1),
  w('put-16', 'put 256 B, 16 clients', 'put', 16),
  w('put-64', 'put 256 B, 64 clients', 'put', 64),
  w('put-256', 'put 256 B, 256 clients', 'put', 256),
  w('get-lin-1', 'linearizable get, 1 client', 'range', 1),
  w('get-lin-64', 'linearizable get, 64 clients', 'range', 64),
  w('get-ser-64', 'serializable get, 64 clients', 'range', 64, { serializable: true }),
  w('mix-64', '90% get / 10% put, 64 clients', 'mix', 64, { readPercent: 90 }),
  w('cas-64', 'txn compare-and-swap, 64 clients', 'cas', 64),
];

/** RESOURCE_WORKLOAD is the run whose per-member RSS and CPU the report shows. */
export const RESOURCE_WORKLOAD = 'put-64';

/**
 * selectWorkloads turns a comma-separated list into workloads. Entries are
 * workload names, a kind ("put", "get", "mix", "cas") or "all".
 */
export function selectWorkloads(list: string): Workload[] {
  const picked = new Set<Workload>();
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const matches =
      raw === 'all'
        ? WORKLOADS
        : WORKLOADS.filter((x) => x.name === raw || x.name.split('-')[0] === raw);
    if (matches.length === 0) {
      throw new Error(`unknown workload ${JSON.stringify(raw)}: choose from all, put, get, mix, cas, ${WORKLOADS.map((x) => x.name).join(', ')}`);
    }
    for (const m of matches) picked.add(m);
  }
  if (picked.size === 0) throw new Error('--workloads: the list is empty');
  return WORKLOADS.filter((x) => picked.has(x));
}

/** needsReadKeys: the workload reads the preloaded keys. */
export function needsReadKeys(x: Workload): boolean {
  return x.kind === 'range' || x.kind === 'mix';
}
