// Uploads one 'snap' message to a peer on the SendSnapshot RPC: the message
// with its metadata first, then the data in fixed-size chunks, one chunk in
// flight at a time so HTTP/2 flow control paces the upload. It dials its own
// connection so a large snapshot never delays the peer stream's heartbeats.
// It must never load more than one chunk beyond what is being written, and
// never resolve before the receiver confirmed it handed the snapshot to raft.
import * as grpc from '@grpc/grpc-js';
import { crc32 } from 'node:zlib';
import { GrpcChannel } from '../grpc/client.ts';
import type { KeepaliveOptions } from '../grpc/h2/connection.ts';
import type { Message, NodeId } from '../raft/types.ts';
import type { PeerAddress } from './peer-url.ts';
import { callHeaders, raftCodecs, type PeerDial } from './service.ts';
import type { Chunk } from './snapshot-assembler.ts';

export interface SnapshotUpload {
  self: NodeId;
  clusterId: string;
  address: PeerAddress;
  message: Message;
  chunkBytes: number;
  /** A chunk that is not written within this time fails the upload. */
  chunkTimeoutMs: number;
  /** HTTP/2 keepalive of the upload's connection */
  keepalive: KeepaliveOptions;
  /** TLS settings for the upload's connection */
  dial(): PeerDial;
}

/** SnapshotSend is a running upload: `done` settles with the byte count or the failure. */
export interface SnapshotSend {
  done: Promise<number>;
  cancel(reason: string): void;
}

/** RESULT_BYTES bounds the receiver's answer (a byte count). */
const RESULT_BYTES = 64 * 1024;

/** sendSnapshot starts uploading `u.message` (type 'snap', with a snapshot) and returns at once. */
export function sendSnapshot(u: SnapshotUpload): SnapshotSend {
  const snap = u.message.snapshot;
  if (u.message.type !== 'snap' || snap === undefined) throw new Error(`sendSnapshot needs a snap message with a snapshot, got ${u.message.type}`);
  const data = snap.data;
  let cancelled: string | undefined;
  const channel = new GrpcChannel({
    host: u.address.host,
    port: u.address.port,
    tls: u.dial().tls,
    keepalive: u.keepalive,
    maxReceiveBytes: RESULT_BYTES,
    // one chunk in flight: the next is loaded only once this one has left for the socket
    highWaterBytes: Math.max(1, u.chunkBytes),
  });
  const call = channel.call(raftCodecs().snapshot, callHeaders(u.self, u.clusterId));
  const result = new Promise<number>((resolve, reject) => {
    let received: number | undefined;
    call.onMessage = (r) => {
      received = r.receivedBytes ?? 0;
    };
    call.onStatus = (code, details) => {
      if (code !== grpc.status.OK) reject(new Error(cancelled ?? details));
      else if (received === undefined) reject(new Error('the receiver ended the upload without a result'));
      else resolve(received);
    };
  });

  // One watchdog per upload: re-armed after every chunk, cleared when the upload settles.
  let watchdog: NodeJS.Timeout | undefined;
  let stalled: (err: Error) => void = () => {};
  const stall = new Promise<never>((_, reject) => (stalled = reject));
  stall.catch(() => {});
  const arm = (offset: number) => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => stalled(new Error(`snapshot chunk at offset ${offset} not written within ${u.chunkTimeoutMs} ms`)), u.chunkTimeoutMs);
  };
  // an answer (or a failure) before the last chunk ends the upload
  const early = result.then(() => {
    throw new Error('receiver answered before the upload was complete');
  });
  early.catch(() => {});
  const writeChunk = (c: Chunk) =>
    new Promise<void>((resolve) => {
      if (call.write(c)) resolve();
      else call.onDrain = () => resolve();
    });

  const upload = async (): Promise<number> => {
    const total = data.length;
    const first: Message = { ...u.message, snapshot: { metadata: snap.metadata, data: new Uint8Array(0) } };
    const crc = crc32(data);
    let offset = 0;
    do {
      if (cancelled !== undefined) throw new Error(cancelled);
      const piece = data.subarray(offset, Math.min(total, offset + u.chunkBytes));
      const chunk: Chunk = { totalBytes: total, crc32: crc, offset, data: piece };
      if (offset === 0) chunk.message = first;
      arm(offset);
      await Promise.race([writeChunk(chunk), early, stall]);
      offset += piece.length;
    } while (offset < total);
    arm(total);
    call.end();
    return await Promise.race([result, stall]);
  };

  const done = upload().finally(() => {
    clearTimeout(watchdog);
    channel.close();
  });
  done.catch(() => call.cancel());
  return {
    done,
    cancel(reason: string) {
      cancelled = reason;
      call.cancel();
    },
  };
}
