// Executes etcd requests (Range, Put, DeleteRange, Txn, Compaction) against
// the keyspace with etcd's semantics: one new revision per write request (a
// txn's writes share it, numbered by sub-revision), compares evaluated on the
// state before the txn, reads inside a txn seeing its earlier writes, sort /
// filter / limit / count exactly as etcd's apply layer does them.
// It must never leave a half-applied request: everything that can reject a
// request is checked before the first write.
import { KvError } from './errors.ts';
import { asBytes, fromLatin1, keyRange, toLatin1 } from './keys.ts';
import { head } from './mvcc.ts';
import type { Found, Keyspace, Revision } from './mvcc.ts';
import { CompareResult, CompareTarget, SortOrder, SortTarget } from './types.ts';
import type {
  Compare, CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, KeyValue,
  PutRequest, PutResponse, RangeRequest, RangeResponse, RequestOp, ResponseOp, TxnRequest, TxnResponse,
} from './types.ts';

/**
 * WriteScope is one write request in progress: every write in it gets main
 * revision beginRevision + 1 and the next sub-revision.
 */
class WriteScope {
  readonly beginRevision: number;
  sub = 0;
  changes = 0;

  constructor(beginRevision: number) {
    this.beginRevision = beginRevision;
  }

  get main(): number {
    return this.beginRevision + 1;
  }

  /** visibleRevision is the revision a read in this scope reports: the pending one once something changed. */
  get visibleRevision(): number {
    return this.changes > 0 ? this.beginRevision + 1 : this.beginRevision;
  }
}

/** toKeyValue renders one key at one revision for a response. */
export function toKeyValue(ks: Keyspace, key: string, rev: Revision, keysOnly = false): KeyValue {
  return {
    key: fromLatin1(key),
    createRevision: rev.createRevision,
    modRevision: rev.main,
    version: rev.version,
    value: keysOnly ? new Uint8Array(0) : fromLatin1(ks.readValue(rev) ?? ''),
    lease: 0,
  };
}

/** checkReadRevision rejects a read revision that is compacted or not yet written. */
function checkReadRevision(ks: Keyspace, revision: number, current: number): void {
  if (revision <= 0) return;
  if (revision > current) throw new KvError('futureRevision');
  if (revision < ks.compactRevision) throw new KvError('compacted');
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortKey(ks: Keyspace, target: number): (a: Found, b: Found) => number {
  switch (target) {
    case SortTarget.KEY:
      return (a, b) => compareStrings(a.key, b.key);
    case SortTarget.VERSION:
      return (a, b) => compareNumbers(a.rev.version, b.rev.version);
    case SortTarget.CREATE:
      return (a, b) => compareNumbers(a.rev.createRevision, b.rev.createRevision);
    case SortTarget.MOD:
      return (a, b) => compareNumbers(a.rev.main, b.rev.main);
    case SortTarget.VALUE:
      return (a, b) => compareStrings(ks.readValue(a.rev) ?? '', ks.readValue(b.rev) ?? '');
    default:
      throw new Error(`unchecked sort target ${target}`);
  }
}

/**
 * executeRange answers a RangeRequest. Inside a write txn `scope` makes the
 * pending writes visible and the reported revision the pending one.
 */
export function executeRange(ks: Keyspace, req: RangeRequest, scope: WriteScope | null): RangeResponse {
  const current = scope ? scope.visibleRevision : ks.currentRevision;
  const revision = req.revision ?? 0;
  checkReadRevision(ks, revision, current);
  const at = revision > 0 ? revision : Number.MAX_SAFE_INTEGER;
  const limit = req.limit ?? 0;
  const sortOrder = req.sortOrder ?? SortOrder.NONE;
  const sortTarget = req.sortTarget ?? SortTarget.KEY;
  const minMod = req.minModRevision ?? 0;
  const maxMod = req.maxModRevision ?? 0;
  const minCreate = req.minCreateRevision ?? 0;
  const maxCreate = req.maxCreateRevision ?? 0;
  const filtered = minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0;
  // Results come in ascending key order; etcd sorts ascending by default for a
  // non-key target, and never re-sorts ascending keys.
  let order: number = sortOrder;
  if (sortTarget !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  else if (sortTarget === SortTarget.KEY && order === SortOrder.ASCEND) order = SortOrder.NONE;
  // Sorting or filtering needs every key; otherwise fetch one extra to learn `more`.
  // (etcd decides this on the requested order, so a non-key target with order
  // NONE and a limit sorts only the first limit+1 keys; we sort them all.)
  const fetch = order !== SortOrder.NONE || filtered ? 0 : limit > 0 ? limit + 1 : 0;
  const { found, count } = ks.rangeAt(keyRange(req.key, req.rangeEnd), at, fetch, !!req.countOnly);
  let kvs = found;
  if (filtered) {
    kvs = kvs.filter(({ rev }) =>
      !(maxMod !== 0 && rev.main > maxMod) &&
      !(minMod !== 0 && rev.main < minMod) &&
      !(maxCreate !== 0 && rev.createRevision > maxCreate) &&
      !(minCreate !== 0 && rev.createRevision < minCreate));
  }
  if (order !== SortOrder.NONE) {
    const cmp = sortKey(ks, sortTarget);
    kvs = order === SortOrder.DESCEND ? kvs.slice().sort((a, b) => cmp(b, a)) : kvs.slice().sort(cmp);
  }
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  return {
    header: { revision: current },
    kvs: kvs.map(({ key, rev }) => toKeyValue(ks, key, rev, !!req.keysOnly)),
    more,
    count,
  };
}

/** precheckPut rejects a put whose ignore_value / ignore_lease needs a key that does not exist. */
function precheckPut(ks: Keyspace, req: PutRequest): void {
  if ((req.ignoreValue || req.ignoreLease) && !ks.current(toLatin1(req.key))) throw new KvError('keyNotFound');
}

function executePut(ks: Keyspace, req: PutRequest, scope: WriteScope): PutResponse {
  const key = toLatin1(req.key);
  const history = ks.history(key);
  const before = head(history);
  if ((req.ignoreValue || req.ignoreLease) && !before) throw new KvError('keyNotFound');
  const value = req.ignoreValue ? ks.readValue(before!)! : toLatin1(req.value);
  const prevKv = req.prevKv && before ? toKeyValue(ks, key, before) : null;
  ks.put(key, value, scope.main, scope.sub++, history);
  scope.changes++;
  const response: PutResponse = { header: { revision: scope.main } };
  if (prevKv) response.prevKv = prevKv;
  return response;
}

function executeDeleteRange(ks: Keyspace, req: DeleteRangeRequest, scope: WriteScope): DeleteRangeResponse {
  const doomed = ks.liveKeys(keyRange(req.key, req.rangeEnd), 0);
  const prevKvs = req.prevKv ? doomed.map(({ key, rev }) => toKeyValue(ks, key, rev)) : [];
  for (const { key } of doomed) ks.tombstone(key, scope.main, scope.sub++);
  scope.changes += doomed.length;
  return {
    header: { revision: doomed.length > 0 || scope.changes > 0 ? scope.main : scope.beginRevision },
    deleted: doomed.length,
    prevKvs,
  };
}

/** compareOne applies one txn guard to the current state (etcd's applyCompare). */
function compareOne(ks: Keyspace, c: Compare): boolean {
  const range = keyRange(c.key, c.rangeEnd);
  const found = ks.liveKeys(range, 0);
  const target = c.target ?? CompareTarget.VERSION;
  if (found.length === 0) {
    // A missing key has no value to compare; its revisions and version are 0.
    if (target === CompareTarget.VALUE) return false;
    return compareField(ks, c, target, null);
  }
  for (const { rev } of found) if (!compareField(ks, c, target, rev)) return false;
  return true;
}

function compareField(ks: Keyspace, c: Compare, target: number, rev: Revision | null): boolean {
  let result: number;
  switch (target) {
    case CompareTarget.VALUE:
      result = compareStrings((rev && ks.readValue(rev)) ?? '', toLatin1(asBytes(c.value)));
      break;
    case CompareTarget.CREATE:
      result = compareNumbers(rev?.createRevision ?? 0, c.createRevision ?? 0);
      break;
    case CompareTarget.MOD:
      result = compareNumbers(rev?.main ?? 0, c.modRevision ?? 0);
      break;
    case CompareTarget.VERSION:
      result = compareNumbers(rev?.version ?? 0, c.version ?? 0);
      break;
    case CompareTarget.LEASE:
      result = compareNumbers(0, c.lease ?? 0);
      break;
    default:
      throw new Error(`unchecked compare target ${target}`);
  }
  switch (c.result ?? CompareResult.EQUAL) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
    default:
      throw new Error(`unchecked compare result ${c.result}`);
  }
}

/**
 * TxnPlan records which branch each txn takes, decided on the state before
 * any of the txn's writes (as etcd does); `nested` follows the nested txns of
 * the chosen branch in order.
 */
interface TxnPlan {
  succeeded: boolean;
  ops: RequestOp[];
  nested: TxnPlan[];
}

function planTxn(ks: Keyspace, req: TxnRequest): TxnPlan {
  let succeeded = true;
  for (const c of req.compare ?? []) {
    if (!compareOne(ks, c)) {
      succeeded = false;
      break;
    }
  }
  const ops = (succeeded ? req.success : req.failure) ?? [];
  const nested: TxnPlan[] = [];
  for (const op of ops) if (op.requestTxn) nested.push(planTxn(ks, op.requestTxn));
  return { succeeded, ops, nested };
}

/** precheckPlan rejects, before any write, every op on the chosen path that would fail. */
function precheckPlan(ks: Keyspace, plan: TxnPlan): void {
  let n = 0;
  for (const op of plan.ops) {
    if (op.requestRange) checkReadRevision(ks, op.requestRange.revision ?? 0, ks.currentRevision);
    else if (op.requestPut) precheckPut(ks, op.requestPut);
    else if (op.requestTxn) precheckPlan(ks, plan.nested[n++]);
  }
}

/**
 * runPlan executes the chosen branches. Like etcd, only the outermost txn
 * response carries a header revision; nested txn responses report 0.
 */
function runPlan(ks: Keyspace, plan: TxnPlan, scope: WriteScope, nested = false): TxnResponse {
  const responses: ResponseOp[] = [];
  let n = 0;
  for (const op of plan.ops) {
    if (op.requestRange) responses.push({ responseRange: executeRange(ks, op.requestRange, scope) });
    else if (op.requestPut) responses.push({ responsePut: executePut(ks, op.requestPut, scope) });
    else if (op.requestDeleteRange) responses.push({ responseDeleteRange: executeDeleteRange(ks, op.requestDeleteRange, scope) });
    else if (op.requestTxn) responses.push({ responseTxn: runPlan(ks, plan.nested[n++], scope, true) });
  }
  return { header: { revision: nested ? 0 : scope.visibleRevision }, succeeded: plan.succeeded, responses };
}

/** finish makes a write scope's revision current if it changed anything. */
function finish(ks: Keyspace, scope: WriteScope): void {
  if (scope.changes > 0) ks.currentRevision = scope.main;
}

export function applyPut(ks: Keyspace, req: PutRequest): PutResponse {
  precheckPut(ks, req);
  const scope = new WriteScope(ks.currentRevision);
  const response = executePut(ks, req, scope);
  finish(ks, scope);
  return response;
}

export function applyDeleteRange(ks: Keyspace, req: DeleteRangeRequest): DeleteRangeResponse {
  const scope = new WriteScope(ks.currentRevision);
  const response = executeDeleteRange(ks, req, scope);
  finish(ks, scope);
  return response;
}

export function applyTxn(ks: Keyspace, req: TxnRequest): TxnResponse {
  const plan = planTxn(ks, req);
  precheckPlan(ks, plan);
  const scope = new WriteScope(ks.currentRevision);
  const response = runPlan(ks, plan, scope);
  finish(ks, scope);
  return response;
}

/** applyCompaction is etcd's Compact: the revision must be written and not already compacted. */
export function applyCompaction(ks: Keyspace, req: CompactionRequest): CompactionResponse {
  const revision = req.revision ?? 0;
  if (revision <= ks.compactRevision) throw new KvError('compacted');
  if (revision > ks.currentRevision) throw new KvError('futureRevision');
  ks.compact(revision);
  return { header: { revision: ks.currentRevision } };
}

/** readRange answers a Range outside any write. */
export function readRange(ks: Keyspace, req: RangeRequest): RangeResponse {
  return executeRange(ks, req, null);
}
