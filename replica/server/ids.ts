// Member and cluster identifiers. Founding members derive their id from their
// name and the cluster token, so every member computes the same initial
// configuration from --initial-cluster; members added later get a fresh random
// id from the leader, and ids are never reused. All ids are below 2^53.
// Must never hand out 0 (raft's "none").
import { createHash, randomBytes } from 'node:crypto';

const MAX = 2 ** 53;

function toId(digest: Buffer): number {
  // 53 bits: 21 from the first word, 32 from the second.
  const hi = digest.readUInt32BE(0) & 0x1fffff;
  const lo = digest.readUInt32BE(4);
  const id = hi * 2 ** 32 + lo;
  return id === 0 ? 1 : id;
}

/** memberIdFor is the id of a founding member named `name` in a cluster created with `token`. */
export function memberIdFor(name: string, token: string): number {
  return toId(createHash('sha256').update(`member\0${token}\0${name}`).digest());
}

/** clusterIdFor names a cluster by its token and founding members. */
export function clusterIdFor(token: string, memberIds: number[]): number {
  const sorted = [...memberIds].sort((a, b) => a - b).join(',');
  return toId(createHash('sha256').update(`cluster\0${token}\0${sorted}`).digest());
}

/** freshMemberId draws a random id not in `taken`. */
export function freshMemberId(taken: (id: number) => boolean): number {
  for (;;) {
    const id = toId(randomBytes(8));
    if (id < MAX && !taken(id)) return id;
  }
}

/** hexId renders an id the way etcd prints member ids. */
export function hexId(id: number): string {
  return id.toString(16);
}
