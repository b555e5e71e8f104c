// The command codec: KvCommand <-> the bytes of a raft log entry. A command is
// etcd's own request message wrapped in an InternalRaftRequest-like envelope
// (proto/etcd/raft_internal.proto) whose header carries the request id, encoded
// with protobufjs's generated (reflection-compiled) encoder: this sits on the
// write hot path of every member, so a put goes through the hand-written
// codec of put-codec.ts, which gives the same bytes and the same fields, and
// anything it does not handle through protobufjs.
// It must never interpret a command: only encode and decode it.
import { loadProtos } from '../../proto/grpc.ts';
import { decodePutCommand, encodePutCommand } from './put-codec.ts';
import type { KvCommand } from './types.ts';

const root = loadProtos('etcd/raft_internal.proto');
const Envelope = root.lookupType('etcdserverpb.InternalRaftRequest');

/** Envelope field for each command kind (etcd's InternalRaftRequest names). */
const FIELD = { put: 'put', deleteRange: 'deleteRange', txn: 'txn', compact: 'compaction' } as const;

/** encodeCommand serialises a command for proposal. */
export function encodeCommand(cmd: KvCommand): Uint8Array {
  if (cmd.kind === 'put') {
    const fast = encodePutCommand(cmd.requestId, cmd.request);
    if (fast !== undefined) return fast;
  }
  const field = FIELD[cmd.kind];
  if (!field) throw new Error(`kv command: unknown kind ${(cmd as { kind: unknown }).kind}`);
  return Envelope.encode({ header: { ID: cmd.requestId }, [field]: cmd.request }).finish();
}

/**
 * decodeCommand parses a log entry written by encodeCommand. Decoded bytes
 * fields may alias `data` and absent ones are protobufjs defaults; every
 * consumer in this package reads them through keys.ts's asBytes/toLatin1.
 * Throws an Error starting "kv command:" for bytes that are not a command.
 */
export function decodeCommand(data: Uint8Array): KvCommand {
  const put = decodePutCommand(data);
  if (put !== undefined) return put;
  let msg: Record<string, any>;
  try {
    msg = Envelope.decode(data) as unknown as Record<string, any>;
  } catch (err) {
    throw new Error(`kv command: cannot decode ${data.length} bytes: ${(err as Error).message}`);
  }
  const requestId: number = msg.header?.ID ?? 0;
  if (msg.put) return { kind: 'put', requestId, request: msg.put };
  if (msg.deleteRange) return { kind: 'deleteRange', requestId, request: msg.deleteRange };
  if (msg.txn) return { kind: 'txn', requestId, request: msg.txn };
  if (msg.compaction) return { kind: 'compact', requestId, request: msg.compaction };
  throw new Error('kv command: entry holds none of put, delete_range, txn, compaction');
}

/** encodedSize is the byte length of the encoded command (what etcd compares with --max-request-bytes). */
export function encodedSize(cmd: KvCommand): number {
  return encodeCommand(cmd).length;
}
