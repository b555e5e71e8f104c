// Counters the transport keeps for metrics and tests: per outgoing link, for
// the receiving side and for snapshots. Plain numbers; the server exports them.
// It must never hold behaviour.

export type LinkState = 'connecting' | 'connected' | 'backoff' | 'closed';

export interface LinkCounters {
  /** Frames (MessageBatch) written on the stream. */
  framesSent: number;
  messagesSent: number;
  /** Encoded frame bytes written. */
  bytesSent: number;
  /** Dropped because the queue was full. */
  droppedOverflow: number;
  /** Dropped because the peer was unreachable (backoff) or the stream failed with them queued. */
  droppedUnreachable: number;
  /** Dropped because a message could not be made to fit in a frame. */
  droppedOversize: number;
  /** Stream attempts that failed (each reported to raft as unreachable). */
  connectFailures: number;
  /** Streams established (acknowledged by the peer). */
  connects: number;
  /** Redials refused at the TCP level (ECONNREFUSED) after an established stream broke: the peer's process was gone. */
  refusedAfterBreak: number;
}

export interface LinkStats extends LinkCounters {
  url: string;
  state: LinkState;
  queuedMessages: number;
  queuedBytes: number;
}

export interface ReceiveStats {
  streamsAccepted: number;
  /** Streams and snapshot uploads refused (wrong cluster, bad metadata). */
  callsRefused: number;
  frames: number;
  messages: number;
  droppedWrongTo: number;
  droppedWrongFrom: number;
  droppedLocal: number;
}

export interface SnapshotStats {
  sent: number;
  sendFailed: number;
  received: number;
  receiveFailed: number;
  /** SnapshotChunk messages taken by the receiving side. */
  chunksReceived: number;
}

export interface TransportStats {
  peers: Record<string, LinkStats>;
  receive: ReceiveStats;
  snapshots: SnapshotStats;
  /** Messages handed to send() for a member that is not a known peer. */
  droppedUnknownPeer: number;
  /** Local-only, self-addressed or unencodable messages handed to send(). */
  droppedInvalid: number;
}

export function newLinkCounters(): LinkCounters {
  return { framesSent: 0, messagesSent: 0, bytesSent: 0, droppedOverflow: 0, droppedUnreachable: 0, droppedOversize: 0, connectFailures: 0, connects: 0, refusedAfterBreak: 0 };
}

export function newReceiveStats(): ReceiveStats {
  return { streamsAccepted: 0, callsRefused: 0, frames: 0, messages: 0, droppedWrongTo: 0, droppedWrongFrom: 0, droppedLocal: 0 };
}
