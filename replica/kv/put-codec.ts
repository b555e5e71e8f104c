// Hand-written protobuf codecs of the put path's messages, which every put
// goes through on the leader and every member applies: PutRequest (from a
// client, and inside a command), the command envelope holding one put
// (InternalRaftRequest{put, header}), and PutResponse without a previous
// value. Each gives exactly what protobufjs (8.x) gives for the same input:
// the same bytes (fields in number order, proto3 defaults left out), and
// objects with the same fields present.
// It must never guess: any input it does not handle (unknown or repeated
// fields, other wire types, negative or unsafe integers, values that are not
// Uint8Array or boolean) answers undefined, and the caller uses protobufjs.
import { WireReader, WireWriter, bytesFieldLength, varintLength } from '../../proto/wire.ts';
import type { KvCommand, PutRequest, PutResponse } from './types.ts';

// Tags (field number << 3 | wire type) of etcd's rpc.proto and raft_internal.proto.
const PUT_KEY = 0x0a;
const PUT_VALUE = 0x12;
const PUT_LEASE = 0x18;
const PUT_PREV_KV = 0x20;
const PUT_IGNORE_VALUE = 0x28;
const PUT_IGNORE_LEASE = 0x30;
/** InternalRaftRequest.put (4) and .header (100), RequestHeader.ID (1) */
const ENVELOPE_PUT = 0x22;
const ENVELOPE_HEADER = 0x322;
const HEADER_ID = 0x08;
/** PutResponse.header (1), and ResponseHeader's cluster_id, member_id, revision, raft_term (1-4) */
const RESPONSE_HEADER = 0x0a;
const RESPONSE_HEADER_FIELDS = ['clusterId', 'memberId', 'revision', 'raftTerm'] as const;

type Fields = Record<string, unknown>;

/** present: protobufjs looks at a field that is an own property, neither null nor undefined. */
function present(m: Fields, name: string): boolean {
  return m[name] != null && Object.hasOwn(m, name);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

// The encoded size of one field (0: left out, as protobufjs leaves out a default), or -1: not handled.
type FieldSize = (m: Fields, name: string) => number;

const bytesSize: FieldSize = (m, name) => {
  if (!present(m, name)) return 0;
  const v = m[name];
  if (!(v instanceof Uint8Array)) return -1;
  return v.length === 0 ? 0 : bytesFieldLength(v.length);
};

const countSize: FieldSize = (m, name) => {
  if (!present(m, name)) return 0;
  const v = m[name];
  if (!isCount(v)) return -1;
  return v === 0 ? 0 : 1 + varintLength(v);
};

const flagSize: FieldSize = (m, name) => {
  if (!present(m, name)) return 0;
  const v = m[name];
  if (typeof v !== 'boolean') return -1;
  return v ? 2 : 0;
};

const PUT_REQUEST_FIELDS: readonly [string, FieldSize][] = [
  ['key', bytesSize], ['value', bytesSize], ['lease', countSize],
  ['prevKv', flagSize], ['ignoreValue', flagSize], ['ignoreLease', flagSize],
];

/** fieldsSize adds up the fields' sizes, or answers -1 when one is not handled. */
function fieldsSize(m: Fields, fields: readonly [string, FieldSize][]): number {
  if (m.$unknowns != null) return -1;
  let size = 0;
  for (let i = 0; i < fields.length; i++) {
    const s = fields[i][1](m, fields[i][0]);
    if (s < 0) return -1;
    size += s;
  }
  return size;
}

/** writePutRequest writes what fieldsSize measured (fields with sizes above 0, in field order). */
function writePutRequest(w: WireWriter, req: PutRequest): void {
  const m = req as unknown as Fields;
  if (bytesSize(m, 'key') > 0) w.bytes(PUT_KEY >> 3, req.key);
  if (bytesSize(m, 'value') > 0) w.bytes(PUT_VALUE >> 3, req.value!);
  if (countSize(m, 'lease') > 0) w.uint(PUT_LEASE >> 3, req.lease!);
  if (flagSize(m, 'prevKv') > 0) w.uint(PUT_PREV_KV >> 3, 1);
  if (flagSize(m, 'ignoreValue') > 0) w.uint(PUT_IGNORE_VALUE >> 3, 1);
  if (flagSize(m, 'ignoreLease') > 0) w.uint(PUT_IGNORE_LEASE >> 3, 1);
}

/**
 * encodePutCommand is InternalRaftRequest{put: req, header: {ID: requestId}}
 * as encodeCommand's protobufjs encoder writes it, or undefined.
 */
export function encodePutCommand(requestId: number, req: PutRequest): Buffer | undefined {
  if (!isCount(requestId) || req == null) return undefined;
  const putSize = fieldsSize(req as unknown as Fields, PUT_REQUEST_FIELDS);
  if (putSize < 0) return undefined;
  const headerSize = requestId === 0 ? 0 : 1 + varintLength(requestId);
  const w = new WireWriter(1 + varintLength(putSize) + putSize + 2 + varintLength(headerSize) + headerSize);
  w.varint(ENVELOPE_PUT);
  w.varint(putSize);
  writePutRequest(w, req);
  w.varint(ENVELOPE_HEADER);
  w.varint(headerSize);
  if (requestId !== 0) w.uint(HEADER_ID >> 3, requestId);
  return w.done();
}

/** readPutRequest decodes the PutRequest in [r.pos, r.end), or answers undefined. */
function readPutRequest(r: WireReader): PutRequest | undefined {
  const req = {} as PutRequest;
  let seen = 0;
  while (r.pos < r.end) {
    const tag = r.buf[r.pos++];
    const field = tag >> 3;
    if (tag >= 0x80 || field === 0 || field > 6) return undefined;
    if ((seen & (1 << field)) !== 0) return undefined;
    seen |= 1 << field;
    if (tag === PUT_KEY || tag === PUT_VALUE) {
      const len = r.varint();
      if (len < 0 || len > r.end - r.pos) return undefined;
      if (len > 0) {
        const bytes = r.buf.subarray(r.pos, r.pos + len);
        if (tag === PUT_KEY) req.key = bytes;
        else req.value = bytes;
      }
      r.pos += len;
    } else if (tag === PUT_LEASE) {
      const lease = r.varint();
      if (lease < 0) return undefined;
      if (lease !== 0) req.lease = lease;
    } else if (tag === PUT_PREV_KV || tag === PUT_IGNORE_VALUE || tag === PUT_IGNORE_LEASE) {
      // protobufjs reads a bool as uint32 !== 0: a one-byte varint reads the same here
      if (r.pos >= r.end || r.buf[r.pos] >= 0x80) return undefined;
      if (r.buf[r.pos++] === 0) continue;
      if (tag === PUT_PREV_KV) req.prevKv = true;
      else if (tag === PUT_IGNORE_VALUE) req.ignoreValue = true;
      else req.ignoreLease = true;
    } else {
      return undefined; // a known field number with another wire type: protobufjs skips it as an unknown field
    }
  }
  return req;
}

/** decodePutRequest decodes a client's PutRequest (the fields protobufjs's decode sets), or answers undefined. */
export function decodePutRequest(bytes: Uint8Array): PutRequest | undefined {
  return readPutRequest(new WireReader(bytes));
}

/** decodePutCommand decodes an envelope holding one put and its header (nothing else), or answers undefined. */
export function decodePutCommand(data: Uint8Array): Extract<KvCommand, { kind: 'put' }> | undefined {
  const r = new WireReader(data);
  let request: PutRequest | undefined;
  let requestId = -1;
  while (r.pos < data.length) {
    const tag = r.varint();
    if (tag !== ENVELOPE_PUT && tag !== ENVELOPE_HEADER) return undefined;
    const len = r.varint();
    if (len < 0 || len > data.length - r.pos) return undefined;
    const end = r.pos + len;
    r.end = end;
    if (tag === ENVELOPE_PUT) {
      if (request !== undefined) return undefined;
      request = readPutRequest(r);
      if (request === undefined) return undefined;
    } else {
      if (requestId >= 0) return undefined;
      requestId = 0;
      if (r.pos < end) {
        if (r.buf[r.pos++] !== HEADER_ID) return undefined;
        requestId = r.varint();
        if (requestId < 0 || r.pos !== end) return undefined;
      }
    }
    r.end = data.length;
  }
  if (request === undefined) return undefined;
  return { kind: 'put', requestId: Math.max(requestId, 0), request };
}

const RESPONSE_HEADER_SIZES: readonly [string, FieldSize][] = RESPONSE_HEADER_FIELDS.map((name) => [name, countSize]);

/** encodePutResponse is a PutResponse without a previous value as protobufjs writes it, or undefined. */
export function encodePutResponse(res: PutResponse): Buffer | undefined {
  const m = res as unknown as Fields;
  if (m == null || m.$unknowns != null || present(m, 'prevKv')) return undefined;
  if (!present(m, 'header')) return Buffer.alloc(0);
  const header = m.header as Fields;
  const headerSize = fieldsSize(header, RESPONSE_HEADER_SIZES);
  if (headerSize < 0) return undefined;
  const w = new WireWriter(1 + varintLength(headerSize) + headerSize);
  w.varint(RESPONSE_HEADER);
  w.varint(headerSize);
  for (let i = 0; i < RESPONSE_HEADER_FIELDS.length; i++) {
    const name = RESPONSE_HEADER_FIELDS[i];
    if (countSize(header, name) > 0) w.uint(i + 1, header[name] as number);
  }
  return w.done();
}
