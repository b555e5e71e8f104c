// Who this data directory belongs to: the cluster and member ids, written once
// when the member is created (founding or joining) and read at every restart,
// so a member that joined with a leader-assigned id keeps it. Written
// atomically (temp file, fsync, rename, fsync dir). Must never be rewritten
// with different ids: a mismatch is a refusal to start.
import fs from 'node:fs';
import path from 'node:path';

export interface Identity {
  clusterId: number;
  memberId: number;
  name: string;
}

const FILE = 'identity.json';

export function identityPath(dataDir: string): string {
  return path.join(dataDir, 'member', FILE);
}

export function readIdentity(dataDir: string): Identity | undefined {
  const p = identityPath(dataDir);
  if (!fs.existsSync(p)) return undefined;
  let v: Identity;
  try {
    v = JSON.parse(fs.readFileSync(p, 'utf8')) as Identity;
  } catch (e) {
    throw new Error(`${p}: unreadable member identity (${(e as Error).message}); restore it or start with an empty data dir`);
  }
  if (!Number.isSafeInteger(v.clusterId) || !Number.isSafeInteger(v.memberId) || v.memberId <= 0) {
    throw new Error(`${p}: invalid member identity; restore it or start with an empty data dir`);
  }
  return v;
}

export function writeIdentity(dataDir: string, id: Identity): void {
  const dir = path.join(dataDir, 'member');
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `${FILE}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(id));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, FILE));
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}
