// Uploads one 'snap' message to a peer on the SendSnapshot RPC: the message
// with its metadata first, then the data in fixed-size chunks, one chunk in
// flight at a time so HTTP/2 flow control paces the upload. It dials its own
// connection so a large snapshot never delays the peer stream's heartbeats.
// It must never load more than one chunk beyond what is being written, and
// never resolve before the receiver confirmed it handed the snapshot to raft.
import * as grpc from '@grpc/grpc-js';
import { crc32 } from 'node:zlib';
import type { Message, NodeId } from '../raft/types.ts';
import type { PeerAddress } from './peer-url.ts';
import { callMetadata } from './service.ts';
import type { Chunk } from './snapshot-assembler.ts';

export interface SnapshotUpload {
  self: NodeId;
  clusterId: string;
  address: PeerAddress;
  message: Message;
  chunkBytes: number;
  /** A chunk that is not written within this time fails the upload. */
  chunkTimeoutMs: number;
  channelOptions: grpc.ChannelOptions;
  /** credentials (and extra options) for the upload's connection */
  dial(): { credentials: grpc.ChannelCredentials; options?: grpc.ChannelOptions };
  client: grpc.ServiceClientConstructor;
}

/** SnapshotSend is a running upload: `done` settles with the byte count or the failure. */
export interface SnapshotSend {
  done: Promise<number>;
  cancel(reason: string): void;
}

type UploadCall = grpc.ClientWritableStream<Chunk>;

/** sendSnapshot starts uploading `u.message` (type 'snap', with a snapshot) and returns at once. */
export function sendSnapshot(u: SnapshotUpload): SnapshotSend {
  const snap = u.message.snapshot;
  if (u.message.type !== 'snap' || snap === undefined) throw new Error(`sendSnapshot needs a snap message with a snapshot, got ${u.message.type}`);
  const data = snap.data;
  const dial = u.dial();
  const client = new u.client(u.address.target, dial.credentials, { ...u.channelOptions, ...dial.options });
  let cancelled: string | undefined;
  let call: UploadCall | undefined;

  const result = new Promise<number>((resolve, reject) => {
    call = (client as unknown as {
      SendSnapshot(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, r?: { receivedBytes?: number }) => void): UploadCall;
    }).SendSnapshot(callMetadata(u.self, u.clusterId), (err, r) => (err ? reject(new Error(err.details || err.message)) : resolve(r?.receivedBytes ?? 0)));
  });
  // The error, if any, is reported through `result`; the stream's own 'error' event must not go uncaught.
  call!.on('error', () => {});

  // One watchdog per upload: re-armed after every chunk, cleared when the upload settles.
  let watchdog: NodeJS.Timeout | undefined;
  let stalled: (err: Error) => void = () => {};
  const stall = new Promise<never>((_, reject) => (stalled = reject));
  stall.catch(() => {});
  const arm = (offset: number) => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => stalled(new Error(`snapshot chunk at offset ${offset} not written within ${u.chunkTimeoutMs} ms`)), u.chunkTimeoutMs);
  };
  const early = result.then(() => {
    throw new Error('receiver answered before the upload was complete');
  });
  early.catch(() => {});
  const writeChunk = (c: Chunk) => new Promise<void>((resolve) => call!.write(c, () => resolve()));

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
    call!.end();
    return await Promise.race([result, stall]);
  };

  const done = upload().finally(() => {
    clearTimeout(watchdog);
    client.close();
  });
  done.catch(() => call?.cancel());
  return {
    done,
    cancel(reason: string) {
      cancelled = reason;
      call?.cancel();
    },
  };
}
