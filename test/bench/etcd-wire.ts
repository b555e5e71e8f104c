// Hand-written protobuf encoding of the few etcd v3 messages the load
// generator sends (Put, Range, a compare-and-swap Txn, Status) and decoding of
// the fields it reads back. Field numbers are those of etcd's rpc.proto and
// kv.proto. It exists so the client spends microseconds, not a general
// codec's cost, per request; it must never be used by the server (the
// primitives it writes with are shared: proto/wire.ts).
import { WireWriter, bytesFieldLength, varintLength } from '../../proto/wire.ts';

/** RPC paths of the etcd v3 methods the benchmark calls. */
export const RPC = {
  put: '/etcdserverpb.KV/Put',
  range: '/etcdserverpb.KV/Range',
  txn: '/etcdserverpb.KV/Txn',
  status: '/etcdserverpb.Maintenance/Status',
} as const;

// ---- writing ----------------------------------------------------------------

/** encodePut encodes PutRequest{key, value}. */
export function encodePut(key: Uint8Array, value: Uint8Array): Buffer {
  const w = new WireWriter(bytesFieldLength(key.length) + bytesFieldLength(value.length));
  w.bytes(1, key);
  w.bytes(2, value);
  return w.done();
}

function rangeLength(key: Uint8Array, serializable: boolean): number {
  return bytesFieldLength(key.length) + (serializable ? 2 : 0);
}

function writeRange(w: WireWriter, key: Uint8Array, serializable: boolean): void {
  w.bytes(1, key);
  if (serializable) w.uint(7, 1);
}

/** encodeRange encodes RangeRequest{key, serializable} (a single-key read). */
export function encodeRange(key: Uint8Array, serializable: boolean): Buffer {
  const w = new WireWriter(rangeLength(key, serializable));
  writeRange(w, key, serializable);
  return w.done();
}

/**
 * encodeCasTxn encodes a compare-and-swap: if mod_revision(key) == modRevision
 * then put(key, value) else range(key). A missing key has mod_revision 0.
 */
export function encodeCasTxn(key: Uint8Array, modRevision: number, value: Uint8Array): Buffer {
  // Compare{target=MOD(2), key, mod_revision}; result EQUAL is the default (0) and is left out.
  const compareLen = 2 + bytesFieldLength(key.length) + 1 + varintLength(modRevision);
  const putLen = bytesFieldLength(key.length) + bytesFieldLength(value.length);
  const successLen = 1 + varintLength(putLen) + putLen; // RequestOp{request_put(2)}
  const rangeLen = rangeLength(key, false);
  const failureLen = 1 + varintLength(rangeLen) + rangeLen; // RequestOp{request_range(1)}
  const total = 1 + varintLength(compareLen) + compareLen + 1 + varintLength(successLen) + successLen + 1 + varintLength(failureLen) + failureLen;
  const w = new WireWriter(total);
  w.tag(1, 2);
  w.varint(compareLen);
  w.uint(2, 2);
  w.bytes(3, key);
  w.uint(6, modRevision); // oneof member: written even when 0
  w.tag(2, 2);
  w.varint(successLen);
  w.tag(2, 2);
  w.varint(putLen);
  w.bytes(1, key);
  w.bytes(2, value);
  w.tag(3, 2);
  w.varint(failureLen);
  w.tag(1, 2);
  w.varint(rangeLen);
  writeRange(w, key, false);
  return w.done();
}

/** STATUS_REQUEST is the (empty) StatusRequest. */
export const STATUS_REQUEST = Buffer.alloc(0);

// ---- reading -----------------------------------------------------------------

/** Field is one decoded protobuf field: a varint (as bigint) or a length-delimited slice. */
type Field = { no: number; varint: bigint; bytes?: undefined } | { no: number; bytes: Buffer; varint?: undefined };

function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('etcd-wire: truncated varint');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('etcd-wire: varint too long');
    }
  };
  while (pos < buf.length) {
    const key = Number(readVarint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, varint: readVarint() };
    else if (wire === 2) {
      const len = Number(readVarint());
      if (pos + len > buf.length) throw new Error('etcd-wire: truncated field');
      yield { no, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`etcd-wire: unsupported wire type ${wire}`);
  }
}

export interface Header {
  memberId: bigint;
  revision: number;
  raftTerm: number;
}

function decodeHeader(buf: Buffer): Header {
  const h: Header = { memberId: 0n, revision: 0, raftTerm: 0 };
  for (const f of fields(buf)) {
    if (f.no === 2 && f.varint !== undefined) h.memberId = f.varint;
    else if (f.no === 3 && f.varint !== undefined) h.revision = Number(f.varint);
    else if (f.no === 4 && f.varint !== undefined) h.raftTerm = Number(f.varint);
  }
  return h;
}

/** responseHeader reads the ResponseHeader (field 1) of any KV response. */
export function responseHeader(buf: Buffer): Header {
  for (const f of fields(buf)) if (f.no === 1 && f.bytes) return decodeHeader(f.bytes);
  return { memberId: 0n, revision: 0, raftTerm: 0 };
}

export interface KeyValue {
  key: Buffer;
  modRevision: number;
  version: number;
  value: Buffer;
}

function decodeKeyValue(buf: Buffer): KeyValue {
  const kv: KeyValue = { key: Buffer.alloc(0), modRevision: 0, version: 0, value: Buffer.alloc(0) };
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) kv.key = f.bytes;
    else if (f.no === 3 && f.varint !== undefined) kv.modRevision = Number(f.varint);
    else if (f.no === 4 && f.varint !== undefined) kv.version = Number(f.varint);
    else if (f.no === 5 && f.bytes) kv.value = f.bytes;
  }
  return kv;
}

/** decodeRangeResponse reads RangeResponse{header, kvs}. */
export function decodeRangeResponse(buf: Buffer): { header: Header; kvs: KeyValue[] } {
  let header: Header = { memberId: 0n, revision: 0, raftTerm: 0 };
  const kvs: KeyValue[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) header = decodeHeader(f.bytes);
    else if (f.no === 2 && f.bytes) kvs.push(decodeKeyValue(f.bytes));
  }
  return { header, kvs };
}

/**
 * decodeCasResponse reads a TxnResponse of encodeCasTxn: whether it swapped,
 * and the key's mod_revision afterwards (the put's revision, or the one the
 * failure branch's range saw; 0 if the key is missing).
 */
export function decodeCasResponse(buf: Buffer): { succeeded: boolean; modRevision: number } {
  let succeeded = false;
  let revision = 0;
  let seen = 0;
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) revision = decodeHeader(f.bytes).revision;
    else if (f.no === 2 && f.varint !== undefined) succeeded = f.varint !== 0n;
    else if (f.no === 3 && f.bytes) {
      for (const op of fields(f.bytes)) {
        if (op.no === 1 && op.bytes) {
          const r = decodeRangeResponse(op.bytes);
          seen = r.kvs.length > 0 ? r.kvs[0].modRevision : 0;
        }
      }
    }
  }
  return { succeeded, modRevision: succeeded ? revision : seen };
}

export interface MemberStatus {
  memberId: bigint;
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  version: string;
}

/** decodeStatusResponse reads Maintenance.Status: who answers, whom it follows, and its raft position. */
export function decodeStatusResponse(buf: Buffer): MemberStatus {
  const s: MemberStatus = { memberId: 0n, leader: 0n, raftIndex: 0, raftTerm: 0, version: '' };
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) s.memberId = decodeHeader(f.bytes).memberId;
    else if (f.no === 2 && f.bytes) s.version = f.bytes.toString();
    else if (f.no === 4 && f.varint !== undefined) s.leader = f.varint;
    else if (f.no === 5 && f.varint !== undefined) s.raftIndex = Number(f.varint);
    else if (f.no === 6 && f.varint !== undefined) s.raftTerm = Number(f.varint);
  }
  return s;
}
