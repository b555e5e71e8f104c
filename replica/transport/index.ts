// The peer transport's public surface: PeerTransport and its options, tuning
// and stats. Other folders import from here only.
// It must never export internals (links, codec, receiver) that callers could
// use to bypass the direction rule or the queue bounds.
export { PeerTransport, DEFAULT_TUNING } from './transport.ts';
export type { PeerTransportOptions, TransportTuning, PeerSecurity } from './transport.ts';
export type { PeerDial } from './service.ts';
export type { PeerAddress } from './peer-url.ts';
export { MEMBER_ID_KEY, CLUSTER_ID_KEY } from './service.ts';
export type { TransportStats, LinkStats, LinkState, ReceiveStats, SnapshotStats } from './stats.ts';
