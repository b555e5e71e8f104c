// The request and response shapes of the KV state machine, field for field
// the etcd v3 messages (etcdserverpb / mvccpb) as protobufjs decodes them:
// camelCase names, 64-bit integers as numbers, bytes as Uint8Array, enums as
// their numbers. A decoded gRPC request is therefore already a valid input.
// This module must never hold behaviour: only types and enum constants.
import type { KvError } from './errors.ts';

/** SortOrder is RangeRequest.SortOrder. */
export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
/** SortTarget is RangeRequest.SortTarget. */
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
/** CompareResult is Compare.CompareResult. */
export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
/** CompareTarget is Compare.CompareTarget. */
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

/** KeyValue is one key at one revision (mvccpb.KeyValue). `lease` is always 0: leases are not implemented. */
export interface KeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

/**
 * ResponseHeader is etcd's. The store fills only `revision`; the server fills
 * cluster, member and term when it answers the client.
 */
export interface ResponseHeader {
  clusterId?: number;
  memberId?: number;
  revision: number;
  raftTerm?: number;
}

/** RangeRequest reads [key, rangeEnd); see etcd's rpc.proto for the range-end conventions. */
export interface RangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: number;
  revision?: number;
  sortOrder?: number;
  sortTarget?: number;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: number;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prevKv?: KeyValue | null;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

/** RequestOp is one operation of a txn branch: exactly one field is set. */
export interface RequestOp {
  requestRange?: RangeRequest | null;
  requestPut?: PutRequest | null;
  requestDeleteRange?: DeleteRangeRequest | null;
  requestTxn?: TxnRequest | null;
}

/** ResponseOp is the answer to one RequestOp: exactly one field is set. */
export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
  responseDeleteRange?: DeleteRangeResponse;
  responseTxn?: TxnResponse;
}

/** Compare is one guard of a txn; the operand field matching `target` is the one read. */
export interface Compare {
  result?: number;
  target?: number;
  key: Uint8Array;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Uint8Array;
  lease?: number;
  rangeEnd?: Uint8Array;
}

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: number;
  physical?: boolean;
}

export interface CompactionResponse {
  header: ResponseHeader;
}

/** HashKVResult is what Maintenance.HashKV reports about the store. */
export interface HashKVResult {
  /** hash is a CRC-32 of every revision kept up to hashRevision. */
  hash: number;
  compactRevision: number;
  hashRevision: number;
  /** revision is the store's current revision (the response header's). */
  revision: number;
}

/** Checkpoint is the store's state digest at a fixed applied index. */
export interface Checkpoint {
  index: number;
  revision: number;
  /** digest is 16 lowercase hex digits (64 bits); equal states give equal digests. */
  digest: string;
}

/**
 * KvCommand is one replicated write: what the client API proposes and every
 * member applies in log order. `requestId` lets the proposing member hand the
 * apply result back to the waiting client; it has no effect on the state.
 */
export type KvCommand =
  | { kind: 'put'; requestId: number; request: PutRequest }
  | { kind: 'deleteRange'; requestId: number; request: DeleteRangeRequest }
  | { kind: 'txn'; requestId: number; request: TxnRequest }
  | { kind: 'compact'; requestId: number; request: CompactionRequest };

/** KvCommandKind names the kinds of KvCommand. */
export type KvCommandKind = KvCommand['kind'];

/**
 * KvResult is what applying one KvCommand produced. A rejected command (for
 * example a Range at a compacted revision inside a txn) is a deterministic
 * `error` result that left the state untouched, identical on every member.
 */
export type KvResult =
  | { kind: 'put'; requestId: number; response: PutResponse }
  | { kind: 'deleteRange'; requestId: number; response: DeleteRangeResponse }
  | { kind: 'txn'; requestId: number; response: TxnResponse }
  | { kind: 'compact'; requestId: number; response: CompactionResponse }
  | { kind: 'error'; requestId: number; error: KvError };
