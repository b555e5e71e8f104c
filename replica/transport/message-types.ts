// Maps the core's string unions (MessageType, EntryType) to the numbers of the
// proto enums in proto/raft.proto and back, and says which types are local.
// It must never accept a number or name it does not know: unknown values are
// errors, never silently turned into some default type.
import type { EntryType, MessageType } from '../raft/types.ts';

/** MESSAGE_TYPES lists every MessageType at the index of its proto enum number (0 is unspecified). */
export const MESSAGE_TYPES: readonly (MessageType | undefined)[] = [
  undefined,
  'hup',
  'beat',
  'prop',
  'app',
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
  'snap',
  'heartbeat',
  'heartbeatResp',
  'unreachable',
  'snapStatus',
  'checkQuorum',
  'transferLeader',
  'timeoutNow',
  'readIndex',
  'readIndexResp',
];

const MESSAGE_TYPE_NUMBERS: Record<string, number> = Object.create(null);
MESSAGE_TYPES.forEach((name, n) => {
  if (name !== undefined) MESSAGE_TYPE_NUMBERS[name] = n;
});

/** LOCAL_MESSAGE_TYPES never cross the network: the host or the core itself produces them. */
export const LOCAL_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  'hup',
  'beat',
  'unreachable',
  'snapStatus',
  'checkQuorum',
]);

/** messageTypeNumber returns the proto enum number of `type`. */
export function messageTypeNumber(type: MessageType): number {
  const n = MESSAGE_TYPE_NUMBERS[type];
  if (n === undefined) throw new Error(`unknown raft message type ${JSON.stringify(type)}`);
  return n;
}

/** messageTypeFromNumber returns the MessageType of proto enum number `n`. */
export function messageTypeFromNumber(n: number): MessageType {
  const t = MESSAGE_TYPES[n];
  if (t === undefined) throw new Error(`unknown raft message type number ${n}`);
  return t;
}

/** entryTypeNumber returns the proto enum number of `type`. */
export function entryTypeNumber(type: EntryType): number {
  if (type === 'normal') return 0;
  if (type === 'confChange') return 1;
  throw new Error(`unknown raft entry type ${JSON.stringify(type)}`);
}

/** entryTypeFromNumber returns the EntryType of proto enum number `n`. */
export function entryTypeFromNumber(n: number): EntryType {
  if (n === 0) return 'normal';
  if (n === 1) return 'confChange';
  throw new Error(`unknown raft entry type number ${n}`);
}
