// The replicant.raft.v1.Raft service as grpc-js sees it: the definition built
// from proto/raft.proto with the hand-written codec on the Stream frames, the
// metadata every call carries, and the channel and server options (keepalive,
// message size limits) both ends must agree on.
// It must never hold connection state or behaviour; it only describes the wire.
import type tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../proto/grpc.ts';
import type { MethodCodec } from '../grpc/client.ts';
import type { HeaderField } from '../grpc/h2/hpack.ts';
import type { NodeId } from '../raft/types.ts';
import { decodeBatch, encodeFrame, type Frame } from './batch-codec.ts';
import type { Chunk } from './snapshot-assembler.ts';
import { PeerError } from './errors.ts';
import { fromWireMessage, RAFT_SERVICE, raftProtoRoot, toWireMessage, type WireSnapshotChunk } from './wire.ts';

/** Metadata keys carried by every peer call. */
export const MEMBER_ID_KEY = 'replicant-member-id';
export const CLUSTER_ID_KEY = 'replicant-cluster-id';

/** FRAME_HEADROOM is what a gRPC message may carry beyond maxFrameBytes (snapshot chunk headers, the snap message). */
export const FRAME_HEADROOM = 64 * 1024;

/** raftServiceDefinition is the Raft service with the hand-written MessageBatch codec on Stream. */
export function raftServiceDefinition(): grpc.ServiceDefinition {
  const def = serviceDefinition(raftProtoRoot(), RAFT_SERVICE) as Record<string, grpc.MethodDefinition<unknown, unknown>>;
  const ChunkType = raftProtoRoot().lookupType('replicant.raft.v1.SnapshotChunk');
  def.Stream = {
    ...def.Stream,
    requestSerialize: (frame) => encodeFrame(frame as Frame),
    requestDeserialize: (bytes) => decodeBatch(bytes),
  };
  def.SendSnapshot = {
    ...def.SendSnapshot,
    requestSerialize: (value) => {
      const c = value as Chunk;
      const wire: WireSnapshotChunk = { totalBytes: c.totalBytes, crc32: c.crc32, offset: c.offset, data: c.data };
      if (c.message !== undefined) wire.message = toWireMessage(c.message);
      const bytes = ChunkType.encode(wire as never).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    requestDeserialize: (bytes) => {
      const w = ChunkType.decode(bytes) as unknown as WireSnapshotChunk;
      const c: Chunk = { totalBytes: w.totalBytes ?? 0, crc32: w.crc32 ?? 0, offset: w.offset ?? 0, data: w.data ?? new Uint8Array(0) };
      if (w.message != null) c.message = fromWireMessage(w.message);
      return c;
    },
  };
  return def;
}

/** StreamAck is the receiver's one answer on a Stream call: who it is. */
export interface StreamAck {
  memberId?: number;
}

/** SnapshotResult is the answer to a snapshot upload. */
export interface SnapshotResult {
  receivedBytes?: number;
}

/** PeerDial is how to reach one peer: TLS settings for the connection (absent: plaintext). */
export interface PeerDial {
  tls?: tls.ConnectionOptions;
}

let codecs: { stream: MethodCodec<Frame, StreamAck>; snapshot: MethodCodec<Chunk, SnapshotResult> } | undefined;

/** raftCodecs are the Raft service's two methods as our client writes and reads them (the definition's own codecs). */
export function raftCodecs(): { stream: MethodCodec<Frame, StreamAck>; snapshot: MethodCodec<Chunk, SnapshotResult> } {
  if (codecs === undefined) {
    const def = raftServiceDefinition();
    const codec = <Req, Res>(m: grpc.MethodDefinition<unknown, unknown>): MethodCodec<Req, Res> => ({
      path: m.path,
      serialize: m.requestSerialize as (value: Req) => Buffer,
      deserialize: m.responseDeserialize as (bytes: Buffer) => Res,
    });
    codecs = { stream: codec(def.Stream), snapshot: codec(def.SendSnapshot) };
  }
  return codecs;
}

/** WireTuning is what both ends of a peer link configure identically. */
export interface WireTuning {
  maxFrameBytes: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
}

/** maxMessageBytes is the gRPC message limit derived from the frame limit, used for send and receive alike. */
export function maxMessageBytes(t: WireTuning): number {
  return t.maxFrameBytes + FRAME_HEADROOM;
}

/** channelOptions are the options of a grpc-js channel to a peer (members dial with our own client; tests and tools still use grpc-js). */
export function channelOptions(t: WireTuning, backoff: { initialMs: number; maxMs: number }): grpc.ChannelOptions {
  return {
    'grpc.keepalive_time_ms': t.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': t.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_send_message_length': maxMessageBytes(t),
    'grpc.max_receive_message_length': maxMessageBytes(t),
    // Each link owns its connection: never share a subchannel with another link or transport.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.initial_reconnect_backoff_ms': backoff.initialMs,
    'grpc.max_reconnect_backoff_ms': backoff.maxMs,
    'grpc.enable_retries': 0,
    // No channelz bookkeeping per message (nothing here serves channelz).
    'grpc.enable_channelz': 0,
  };
}

/** serverOptions are the options of a grpc-js peer server (the peer port is our own server; tests and tools stand in for older members with grpc-js). */
export function serverOptions(t: WireTuning): grpc.ServerOptions {
  return {
    'grpc.keepalive_time_ms': t.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': t.keepaliveTimeoutMs,
    'grpc.max_send_message_length': maxMessageBytes(t),
    'grpc.max_receive_message_length': maxMessageBytes(t),
    'grpc.enable_channelz': 0,
  };
}

/** callHeaders are the metadata a member attaches to each call it opens, as header fields for our client. */
export function callHeaders(self: NodeId, clusterId: string): HeaderField[] {
  return [
    [MEMBER_ID_KEY, String(self)],
    [CLUSTER_ID_KEY, clusterId],
  ];
}

/** callMetadata is the metadata a member attaches to each call it opens (for grpc-js clients: tests and tools). */
export function callMetadata(self: NodeId, clusterId: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(MEMBER_ID_KEY, String(self));
  md.set(CLUSTER_ID_KEY, clusterId);
  return md;
}

/** callerOf checks an incoming call's metadata and returns the caller's member id; throws PeerError. */
export function callerOf(md: grpc.Metadata, clusterId: string): NodeId {
  const [cluster] = md.get(CLUSTER_ID_KEY);
  if (cluster === undefined) {
    throw new PeerError(grpc.status.FAILED_PRECONDITION, `peer call without ${CLUSTER_ID_KEY} metadata; expected cluster ${clusterId}`);
  }
  if (String(cluster) !== clusterId) {
    throw new PeerError(
      grpc.status.FAILED_PRECONDITION,
      `cluster id mismatch: caller belongs to cluster ${JSON.stringify(String(cluster))}, this member to ${JSON.stringify(clusterId)}`,
    );
  }
  const [member] = md.get(MEMBER_ID_KEY);
  const id = Number(member);
  if (member === undefined || !/^[1-9][0-9]*$/.test(String(member)) || !Number.isSafeInteger(id)) {
    throw new PeerError(grpc.status.INVALID_ARGUMENT, `peer call needs ${MEMBER_ID_KEY} metadata with a positive member id, got ${JSON.stringify(member === undefined ? null : String(member))}`);
  }
  return id;
}
