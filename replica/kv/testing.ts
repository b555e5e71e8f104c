// Test helpers for the KV store: terse command builders and a store driver
// that numbers log indices. For tests only; production code must never import it.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { KvStore } from './store.ts';
import type { KvStoreOptions } from './store.ts';
import type {
  Compare, DeleteRangeRequest, KeyValue, KvCommand, KvResult, PutRequest, RangeRequest, RequestOp, TxnRequest,
} from './types.ts';

/** b turns text into bytes. */
export const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');
/** s turns bytes into text. */
export const s = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

/** kvText renders a KeyValue compactly: key=value@create/mod/version. */
export function kvText(kv: KeyValue): string {
  return `${s(kv.key)}=${s(kv.value)}@${kv.createRevision}/${kv.modRevision}/v${kv.version}`;
}

export const put = (key: string, value: string, extra: Partial<PutRequest> = {}): RequestOp => ({
  requestPut: { key: b(key), value: b(value), ...extra },
});
export const del = (key: string, rangeEnd?: string, extra: Partial<DeleteRangeRequest> = {}): RequestOp => ({
  requestDeleteRange: { key: b(key), ...(rangeEnd !== undefined ? { rangeEnd: b(rangeEnd) } : {}), ...extra },
});
export const get = (key: string, extra: Partial<RangeRequest> = {}): RequestOp => ({ requestRange: { key: b(key), ...extra } });
export const txnOp = (txn: TxnRequest): RequestOp => ({ requestTxn: txn });
export const cmp = (key: string, target: number, result: number, operand: Partial<Compare>): Compare => ({
  key: b(key), target, result, ...operand,
});

/** Driver applies commands at consecutive log indices. */
export class Driver {
  readonly store: KvStore;
  index = 0;
  private nextId = 1;

  constructor(options: KvStoreOptions = {}) {
    this.store = new KvStore(options);
  }

  apply(cmd: Omit<KvCommand, 'requestId'>): KvResult {
    return this.store.apply(++this.index, { ...cmd, requestId: this.nextId++ } as KvCommand);
  }

  put(key: string, value: string, extra: Partial<PutRequest> = {}): KvResult {
    return this.apply({ kind: 'put', request: { key: b(key), value: b(value), ...extra } });
  }

  del(key: string, rangeEnd?: string, extra: Partial<DeleteRangeRequest> = {}): KvResult {
    return this.apply({ kind: 'deleteRange', request: del(key, rangeEnd, extra).requestDeleteRange! });
  }

  txn(request: TxnRequest): KvResult {
    return this.apply({ kind: 'txn', request });
  }

  compact(revision: number): KvResult {
    return this.apply({ kind: 'compact', request: { revision } });
  }

  /** keys lists key=value@create/mod/version for a range at the current revision. */
  keys(key = '\u0000', rangeEnd = '\u0000', extra: Partial<RangeRequest> = {}): string[] {
    return this.store.range({ key: b(key), rangeEnd: b(rangeEnd), ...extra }).kvs.map(kvText);
  }
}

/** ok asserts a result is not an error and returns its response. */
type ResponseOf<K> = Extract<KvResult, { kind: K }> extends { response: infer R } ? R : never;

export function ok<K extends Exclude<KvResult['kind'], 'error'>>(result: KvResult, kind: K): ResponseOf<K> {
  if (result.kind === 'error') assert.fail(`expected ${kind}, got error: ${result.error.message}`);
  assert.equal(result.kind, kind);
  return (result as unknown as { response: ResponseOf<K> }).response;
}
