// Fits one outgoing message into the frame limit. An 'app' message too large for
// one frame is cut into several consecutive 'app' messages, each naming the
// entry before its first as (index, logTerm), which raft accepts exactly as it
// accepts pipelined appends; any other message that is too large cannot be cut.
// It must never change what the receiver ends up appending: the pieces carry the
// same entries, in order, with the same commit index.
import type { Entry, Message } from '../raft/types.ts';
import { batchEntrySize, encodedMessageSize, entryFieldSize } from './batch-codec.ts';

/** Fitted is a message (or its pieces) ready to queue, with encoded body sizes. */
export interface Fitted {
  messages: Message[];
  sizes: number[];
  /** True when the message (or its tail) could not be made to fit and was left out. */
  truncated: boolean;
}

/** fitToFrame returns `m` itself when it fits in `maxFrameBytes`, otherwise the pieces that do. */
export function fitToFrame(m: Message, size: number, maxFrameBytes: number): Fitted {
  if (batchEntrySize(size) <= maxFrameBytes) return { messages: [m], sizes: [size], truncated: false };
  if (m.type !== 'app' || m.entries.length < 2) return { messages: [], sizes: [], truncated: true };

  // Room for the message without entries, with slack for index/logTerm growing to 8-byte varints.
  const base = batchEntrySize(encodedMessageSize({ ...m, entries: [] })) + 2 * 9 + 6;
  const messages: Message[] = [];
  const sizes: number[] = [];
  let prevIndex = m.index;
  let prevTerm = m.logTerm;
  let piece: Entry[] = [];
  let pieceBytes = base;
  const emit = () => {
    const p: Message = { ...m, index: prevIndex, logTerm: prevTerm, entries: piece };
    messages.push(p);
    sizes.push(encodedMessageSize(p));
    const last = piece[piece.length - 1];
    prevIndex = last.index;
    prevTerm = last.term;
    piece = [];
    pieceBytes = base;
  };
  for (const e of m.entries) {
    const cost = entryFieldSize(e);
    if (base + cost > maxFrameBytes) {
      // This entry can never fit: send what precedes it; raft will retry the rest.
      if (piece.length > 0) emit();
      return { messages, sizes, truncated: true };
    }
    if (pieceBytes + cost > maxFrameBytes) emit();
    piece.push(e);
    pieceBytes += cost;
  }
  if (piece.length > 0) emit();
  return { messages, sizes, truncated: false };
}
