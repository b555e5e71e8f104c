// The data dir lock: a file holding the pid of the process that has the dir open,
// so two processes never append to the same WAL. Node has no flock, so a lock is
// stale when its pid is not alive (a kill -9 leaves the file behind), or when it is
// our own pid but this process does not hold it (a restarted container is pid 1
// again) - the same rule PostgreSQL uses for postmaster.pid. Taking over a stale
// lock renames it aside first and checks nobody replaced it meanwhile.
// Limits: it protects against processes on the same host (pid namespace); it must
// never be relied on across machines sharing a volume.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DataDirLockedError } from './errors.ts';

const heldByThisProcess = new Set<string>();

export interface DirLock {
  readonly file: string;
  release(): void;
}

function lockContent(): string {
  return `${process.pid}\n`;
}

function readHolder(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** stale tells whether lock content names no live process other than a previous incarnation of us. */
function isStale(file: string, content: string): boolean {
  const pid = Number.parseInt(content.trim(), 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false; // not ours to judge: refuse rather than steal
  if (pid === process.pid) return !heldByThisProcess.has(file);
  return !isAlive(pid);
}

function tryCreate(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, lockContent());
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function describeHolder(file: string, content: string | undefined): string {
  const pid = Number.parseInt((content ?? '').trim(), 10);
  if (Number.isSafeInteger(pid) && pid === process.pid) return `this process (pid ${pid}), which already opened it`;
  if (Number.isSafeInteger(pid) && pid > 0) return `process ${pid}`;
  return `an unknown holder (lock file content ${JSON.stringify((content ?? '').slice(0, 40))})`;
}

/** acquireDirLock takes the lock file or throws DataDirLockedError naming the holder. */
export function acquireDirLock(file: string): DirLock {
  file = path.resolve(file);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(file)) {
      heldByThisProcess.add(file);
      return {
        file,
        release() {
          if (!heldByThisProcess.delete(file)) return;
          if (readHolder(file) === lockContent()) fs.rmSync(file, { force: true });
        },
      };
    }
    const content = readHolder(file);
    if (content === undefined) continue; // released between our create and read: try again
    if (!isStale(file, content)) throw new DataDirLockedError(file, describeHolder(file, content));
    // Move the stale lock aside, then make sure it was the one we judged stale.
    const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = readHolder(aside);
    if (moved !== content) {
      // Someone took the lock after we read it: put theirs back and give up.
      try {
        fs.linkSync(aside, file);
      } catch {
        /* a third process holds it now; either way it is not ours */
      }
      fs.rmSync(aside, { force: true });
      throw new DataDirLockedError(file, describeHolder(file, moved));
    }
    fs.rmSync(aside, { force: true });
  }
  throw new DataDirLockedError(file, describeHolder(file, readHolder(file)));
}
