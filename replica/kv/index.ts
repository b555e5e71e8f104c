// The public surface of the replicated KV state machine (replica/kv): the
// store, its command codec, request checks, errors and wire-shaped types.
// Other folders import from here only; nothing here does I/O.
export { KvStore, DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_CHECKPOINTS_KEPT } from './store.ts';
export type { KvStoreOptions, StoreStats } from './store.ts';
export type { SnapshotEncoder, ImageLayout, ImageReader, SnapshotBase } from './snapshot.ts';
export { SnapshotBaseError } from './snapshot.ts';
export type { DeltaBase } from './snapshot.ts';
export { ImageMerge, mergeImages } from './image-merge.ts';
export { MAX_SPILLED_LENGTH, MAX_SPILL_POSITION, spillRef, spilledLength, spilledPosition } from './spill.ts';
export type { ValueSpill } from './spill.ts';
export { encodeCommand, decodeCommand, encodedSize } from './codec.ts';
export { decodePutRequest, encodePutResponse } from './put-codec.ts';
export { KvError, invalidArgument } from './errors.ts';
export type { KvErrorReason } from './errors.ts';
export { checkCommand, checkRange, checkPut, checkDeleteRange, checkTxn, checkCompaction, DEFAULT_MAX_TXN_OPS } from './validate.ts';
export { RequestIdGenerator } from './request-id.ts';
export { prefixEnd, asBytes } from './keys.ts';
export { SortOrder, SortTarget, CompareResult, CompareTarget } from './types.ts';
export type {
  KeyValue, ResponseHeader, RangeRequest, RangeResponse, PutRequest, PutResponse, DeleteRangeRequest,
  DeleteRangeResponse, RequestOp, ResponseOp, Compare, TxnRequest, TxnResponse, CompactionRequest,
  CompactionResponse, HashKVResult, Checkpoint, KvCommand, KvCommandKind, KvResult,
} from './types.ts';

/** DEFAULT_MAX_REQUEST_BYTES is etcd's --max-request-bytes default (1.5 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 1572864;
