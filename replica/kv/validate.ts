// Request checks, with etcd's rules and error messages: empty keys, txn size
// (--max-txn-ops), the duplicate-key rule for txns, ignore_value/ignore_lease
// combinations, enum values, leases. The client API runs them before
// proposing (a bad request never enters the log) and the store runs the
// structural ones again when applying, so apply never depends on the proposer
// having checked. These checks must never read the store's state and must
// never depend on per-member configuration when called from apply.
import { KvError, invalidArgument } from './errors.ts';
import { asBytes, toLatin1 } from './keys.ts';
import type { Compare, CompactionRequest, DeleteRangeRequest, KvCommand, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.ts';

/** DEFAULT_MAX_TXN_OPS is etcd's --max-txn-ops default. */
export const DEFAULT_MAX_TXN_OPS = 128;

function checkKey(key: Uint8Array | ArrayLike<number> | null | undefined): void {
  if (asBytes(key).length === 0) throw new KvError('emptyKey');
}

function checkInteger(name: string, value: number | undefined | null): void {
  if (value == null) return;
  if (!Number.isSafeInteger(value)) throw invalidArgument(`${name} must be an integer below 2^53, got ${value}`);
}

function checkEnum(name: string, value: number | undefined | null, max: number, names: string): void {
  if (value == null) return;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw invalidArgument(`${name} ${value} is not one of ${names}`);
  }
}

export function checkRange(req: RangeRequest): void {
  checkKey(req.key);
  checkInteger('range limit', req.limit);
  checkInteger('range revision', req.revision);
  checkInteger('min_mod_revision', req.minModRevision);
  checkInteger('max_mod_revision', req.maxModRevision);
  checkInteger('min_create_revision', req.minCreateRevision);
  checkInteger('max_create_revision', req.maxCreateRevision);
  checkEnum('sort_order', req.sortOrder, 2, 'NONE(0), ASCEND(1), DESCEND(2)');
  checkEnum('sort_target', req.sortTarget, 4, 'KEY(0), VERSION(1), CREATE(2), MOD(3), VALUE(4)');
}

export function checkPut(req: PutRequest): void {
  checkKey(req.key);
  if (req.ignoreValue && asBytes(req.value).length !== 0) throw new KvError('valueProvided');
  if (req.ignoreLease && (req.lease ?? 0) !== 0) throw new KvError('leaseProvided');
  checkInteger('lease', req.lease);
  // Leases are not implemented, so no lease id can name an existing lease.
  if ((req.lease ?? 0) !== 0) throw new KvError('leaseNotFound');
}

export function checkDeleteRange(req: DeleteRangeRequest): void {
  checkKey(req.key);
}

export function checkCompaction(req: CompactionRequest): void {
  checkInteger('compaction revision', req.revision);
}

function checkCompare(c: Compare): void {
  checkKey(c.key);
  checkEnum('compare result', c.result, 3, 'EQUAL(0), GREATER(1), LESS(2), NOT_EQUAL(3)');
  checkEnum('compare target', c.target, 4, 'VERSION(0), CREATE(1), MOD(2), VALUE(3), LEASE(4)');
  checkInteger('compare version', c.version);
  checkInteger('compare create_revision', c.createRevision);
  checkInteger('compare mod_revision', c.modRevision);
  checkInteger('compare lease', c.lease);
}

/**
 * checkTxn applies etcd's txn rules: no list (compares, success, failure) may
 * hold more than maxTxnOps entries, a nested txn gets what its parent leaves
 * over, keys are non-empty, and no key is written twice on one path.
 */
export function checkTxn(req: TxnRequest, maxTxnOps: number): void {
  checkTxnOps(req, maxTxnOps);
  checkIntervals(req.success ?? []);
  checkIntervals(req.failure ?? []);
}

function checkTxnOps(req: TxnRequest, maxTxnOps: number): void {
  const compares = req.compare ?? [];
  const success = req.success ?? [];
  const failure = req.failure ?? [];
  const ops = Math.max(compares.length, success.length, failure.length);
  if (ops > maxTxnOps) throw new KvError('tooManyOps');
  for (const c of compares) checkCompare(c);
  for (const op of success) checkRequestOp(op, maxTxnOps - ops);
  for (const op of failure) checkRequestOp(op, maxTxnOps - ops);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange) return checkRange(op.requestRange);
  if (op.requestPut) return checkPut(op.requestPut);
  if (op.requestDeleteRange) return checkDeleteRange(op.requestDeleteRange);
  if (op.requestTxn) return checkTxnOps(op.requestTxn, maxTxnOps);
  throw invalidArgument('txn operation sets none of request_range, request_put, request_delete_range, request_txn');
}

/**
 * Interval is a deleted key interval as etcd's duplicate-key check sees it:
 * [begin, end) compared as byte strings. A single-key delete is [k, k+"\0").
 * Note: etcd takes a range_end of "\0" literally here (not as "to the end"),
 * so a from-key delete never conflicts with a put in the same txn; we keep
 * that rule so the same txns are accepted as by etcd.
 */
interface Interval {
  begin: string;
  end: string;
}

function hits(dels: Interval[], key: string): boolean {
  for (const d of dels) if (d.begin <= key && key < d.end) return true;
  return false;
}

/**
 * checkIntervals is etcd's duplicate-key rule: within one branch (and the
 * branches of txns nested in it) a key may be put at most once and may not be
 * both put and deleted; puts in the success and failure branches of the same
 * nested txn may share keys, since only one of them runs.
 */
function checkIntervals(ops: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    const del = op.requestDeleteRange;
    if (!del) continue;
    const begin = toLatin1(del.key);
    const rangeEnd = asBytes(del.rangeEnd);
    dels.push({ begin, end: rangeEnd.length !== 0 ? toLatin1(rangeEnd) : begin + '\u0000' });
  }
  const puts = new Set<string>();
  for (const op of ops) {
    const txn = op.requestTxn;
    if (!txn) continue;
    const then = checkIntervals(txn.success ?? []);
    const otherwise = checkIntervals(txn.failure ?? []);
    for (const k of then.puts) {
      if (puts.has(k) || hits(dels, k)) throw new KvError('duplicateKey');
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || hits(dels, k)) throw new KvError('duplicateKey');
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    const put = op.requestPut;
    if (!put) continue;
    const k = toLatin1(put.key);
    if (puts.has(k) || hits(dels, k)) throw new KvError('duplicateKey');
    puts.add(k);
  }
  return { puts, dels };
}

/**
 * checkCommand runs the checks for a whole command. `maxTxnOps` is the
 * proposer's admission limit; apply passes Infinity, because members must not
 * disagree on an entry's outcome over a configuration difference.
 */
export function checkCommand(cmd: KvCommand, maxTxnOps: number): void {
  switch (cmd.kind) {
    case 'put':
      return checkPut(cmd.request);
    case 'deleteRange':
      return checkDeleteRange(cmd.request);
    case 'txn':
      return checkTxn(cmd.request, maxTxnOps);
    case 'compact':
      return checkCompaction(cmd.request);
  }
}
