// Converts the core's Message (and its entries and snapshot) to and from the
// plain objects protobufjs encodes for proto/raft.proto (enums as numbers,
// snake_case fields as camelCase), and loads that proto once for the process.
// Used for snapshot chunks and as the reference the hand-written batch codec is
// checked against. It must never keep state or touch the network.
import type protobuf from 'protobufjs';
import { loadProtos } from '../../proto/grpc.ts';
import type { ConfState, Entry, Message, Snapshot } from '../raft/types.ts';
import { copyBytes } from './batch-codec.ts';
import { entryTypeFromNumber, entryTypeNumber, messageTypeFromNumber, messageTypeNumber } from './message-types.ts';

let root: protobuf.Root | undefined;

/** raftProtoRoot is proto/raft.proto loaded once per process. */
export function raftProtoRoot(): protobuf.Root {
  root ??= loadProtos('raft.proto');
  return root;
}

/** RAFT_SERVICE is the full name of the peer service. */
export const RAFT_SERVICE = 'replicant.raft.v1.Raft';

/** WireEntry and friends are the protobufjs object forms of the proto messages. */
export interface WireEntry {
  term?: number;
  index?: number;
  type?: number;
  data?: Uint8Array;
}
export interface WireConfState {
  voters?: number[];
  learners?: number[];
  votersOutgoing?: number[];
  learnersNext?: number[];
  autoLeave?: boolean;
}
export interface WireSnapshot {
  data?: Uint8Array;
  metadata?: { confState?: WireConfState | null; index?: number; term?: number } | null;
}
export interface WireMessage {
  type?: number;
  to?: number;
  from?: number;
  term?: number;
  logTerm?: number;
  index?: number;
  entries?: WireEntry[];
  commit?: number;
  snapshot?: WireSnapshot | null;
  reject?: boolean;
  rejectHint?: number;
  context?: Uint8Array | null;
  commitOnly?: boolean;
}
export interface WireSnapshotChunk {
  message?: WireMessage | null;
  totalBytes?: number;
  crc32?: number;
  offset?: number;
  data?: Uint8Array;
}

/** toWireMessage turns a core Message into its protobufjs object form. */
export function toWireMessage(m: Message): WireMessage {
  const w: WireMessage = {
    type: messageTypeNumber(m.type),
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: entryTypeNumber(e.type), data: e.data })),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
  };
  if (m.snapshot !== undefined) w.snapshot = toWireSnapshot(m.snapshot);
  if (m.context !== undefined) w.context = m.context;
  if (m.commitOnly) w.commitOnly = true;
  return w;
}

function toWireSnapshot(s: Snapshot): WireSnapshot {
  const cs = s.metadata.confState;
  return {
    data: s.data,
    metadata: {
      index: s.metadata.index,
      term: s.metadata.term,
      confState: {
        voters: cs.voters,
        learners: cs.learners,
        votersOutgoing: cs.votersOutgoing,
        learnersNext: cs.learnersNext,
        autoLeave: cs.autoLeave,
      },
    },
  };
}

/** fromWireMessage turns a decoded protobufjs object back into a core Message (bytes copied). */
export function fromWireMessage(w: WireMessage): Message {
  const m: Message = {
    type: messageTypeFromNumber(w.type ?? 0),
    to: w.to ?? 0,
    from: w.from ?? 0,
    term: w.term ?? 0,
    logTerm: w.logTerm ?? 0,
    index: w.index ?? 0,
    entries: (w.entries ?? []).map(fromWireEntry),
    commit: w.commit ?? 0,
    reject: w.reject ?? false,
    rejectHint: w.rejectHint ?? 0,
  };
  if (w.snapshot != null) m.snapshot = fromWireSnapshot(w.snapshot);
  if (w.context != null) m.context = copyBytes(w.context);
  if (w.commitOnly) m.commitOnly = true;
  return m;
}

function fromWireEntry(e: WireEntry): Entry {
  return {
    term: e.term ?? 0,
    index: e.index ?? 0,
    type: entryTypeFromNumber(e.type ?? 0),
    data: e.data ? copyBytes(e.data) : new Uint8Array(0),
  };
}

function fromWireSnapshot(s: WireSnapshot): Snapshot {
  const md = s.metadata ?? {};
  const cs = md.confState ?? {};
  const confState: ConfState = {
    voters: [...(cs.voters ?? [])],
    learners: [...(cs.learners ?? [])],
    votersOutgoing: [...(cs.votersOutgoing ?? [])],
    learnersNext: [...(cs.learnersNext ?? [])],
    autoLeave: cs.autoLeave ?? false,
  };
  return {
    metadata: { index: md.index ?? 0, term: md.term ?? 0, confState },
    data: s.data ? copyBytes(s.data) : new Uint8Array(0),
  };
}
