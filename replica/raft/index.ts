// The public surface of the consensus core. Everything outside replica/raft
// imports from here. This folder must never import anything of the project
// outside itself, nor perform I/O, read clocks or use global randomness.
export * from './types.ts';
export * from './errors.ts';
export { RawNode, bootstrap, isEmptySnapshot, type Status, type PeerProgress } from './rawnode.ts';
export type { Config } from './raft.ts';
export { MemoryStorage, type Storage } from './storage.ts';
export { seededRand, type Rand } from './prng.ts';
export { encodeConfChange, decodeConfChange } from './confchange/codec.ts';
