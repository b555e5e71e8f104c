// Finds the etcd server binary the benchmark compares against (etcd 3.4 from
// Debian's etcd-server package), or installs it with apt-get when allowed and
// possible, and says which one it uses. It must never download anything but
// through apt-get, and never install without being asked to.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const INSTALL_HINT = 'apt-get install -y --no-install-recommends etcd-server';

export interface EtcdBinary {
  path: string;
  /** first line of `etcd --version`, e.g. "etcd Version: 3.4.23" */
  version: string;
  /** how it was found: $ETCD_BIN, PATH, a well-known location, or installed now */
  how: string;
}

function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function versionOf(bin: string): string {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').find((l) => /etcd Version/i.test(l))?.trim() ?? out.split('\n')[0].trim();
}

/** findEtcd looks in $ETCD_BIN, then PATH, then /usr/bin and /usr/local/bin; undefined if absent. */
export function findEtcd(): EtcdBinary | undefined {
  const candidates: [string, string][] = [];
  if (process.env.ETCD_BIN) candidates.push([process.env.ETCD_BIN, '$ETCD_BIN']);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push([path.join(dir, 'etcd'), 'PATH']);
  candidates.push(['/usr/bin/etcd', 'well-known location'], ['/usr/local/bin/etcd', 'well-known location']);
  for (const [p, how] of candidates) {
    if (!executable(p)) continue;
    try {
      return { path: p, version: versionOf(p), how: `${how} (${p})` };
    } catch {
      // not a working etcd; keep looking
    }
  }
  return undefined;
}

/**
 * ensureEtcd finds etcd, or (install = true, running as root with apt-get)
 * installs Debian's etcd-server. Throws an error naming the install command
 * when it can do neither.
 */
export function ensureEtcd(opts: { install: boolean; log: (line: string) => void }): EtcdBinary {
  const found = findEtcd();
  if (found) return found;
  const canInstall = opts.install && process.getuid?.() === 0 && executable('/usr/bin/apt-get');
  if (!canInstall) {
    throw new Error(
      `etcd not found (looked at $ETCD_BIN, PATH, /usr/bin, /usr/local/bin). Install etcd 3.4 with \`${INSTALL_HINT}\` ` +
        '(as root), or point ETCD_BIN at an etcd binary, or run with --only replicant.',
    );
  }
  opts.log(`etcd not found: installing it with \`apt-get update && ${INSTALL_HINT}\``);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'etcd-server'], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 600_000 });
  const now = findEtcd();
  if (!now) throw new Error(`installed etcd-server but still cannot find an etcd binary; install it by hand: \`${INSTALL_HINT}\``);
  return { ...now, how: `installed now with apt-get (${now.path})` };
}
