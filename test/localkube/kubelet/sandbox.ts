// How a container's process is started so that cluster DNS names resolve and
// volumes appear at their mountPath, without touching the machine's /etc and
// without special code in the program. Preferred ("namespaces" mode, needs
// root): each container runs in a private mount + UTS namespace (`unshare -m -u`)
// where the pod's generated hosts file is bind-mounted over /etc/hosts, volumes
// are bind-mounted at their mountPath, the hostname is the pod's, and
// `setpriv --pdeathsig KILL` ends the process if localkube itself dies.
// Fallback ("preload" mode, when unshare cannot mount): a Node preload passed in
// NODE_OPTIONS makes dns.lookup read the hosts file (Node programs only), and
// mountPath prefixes in command, args, env and workingDir are rewritten to the
// volume's directory.
// It must never change the machine's own /etc files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type SandboxMode = 'namespaces' | 'preload';

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface SandboxSpec {
  hostsFile: string;
  hostname: string;
  workingDir: string;
  mounts: Mount[];
  argv: string[];
  env: Record<string, string>;
}

export interface Launch {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dns-preload.mjs');

// $1 hosts file, $2 hostname, $3 working dir, $4 pdeathsig (yes/no), $5 mount count,
// then source/target/ro triples, then the command.
const SCRIPT = `set -e
hosts=$1; host=$2; wd=$3; death=$4; n=$5; shift 5
mount --bind "$hosts" /etc/hosts
hostname "$host"
while [ "$n" -gt 0 ]; do
  src=$1; dst=$2; ro=$3; shift 3
  if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; [ -e "$dst" ] || : > "$dst"; fi
  mount --bind "$src" "$dst"
  if [ "$ro" = ro ]; then mount -o remount,bind,ro "$dst"; fi
  n=$((n-1))
done
shift
cd "$wd"
if [ "$death" = yes ]; then exec setpriv --pdeathsig KILL -- "$@"; fi
exec "$@"`;

let detected: { mode: SandboxMode; pdeathsig: boolean; why: string } | undefined;

/** detectSandbox checks once whether mount namespaces work here (LOCALKUBE_SANDBOX=preload forces the fallback). */
export function detectSandbox(): { mode: SandboxMode; pdeathsig: boolean; why: string } {
  if (detected) return detected;
  const forced = process.env.LOCALKUBE_SANDBOX;
  if (forced === 'preload') return (detected = { mode: 'preload', pdeathsig: false, why: 'LOCALKUBE_SANDBOX=preload' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'localkube-probe-'));
  try {
    const hosts = path.join(dir, 'hosts');
    const marker = `127.0.0.1 localkube-sandbox-check-${process.pid}\n`;
    fs.writeFileSync(hosts, marker);
    const run = spawnSync('unshare', ['-m', '-u', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" /etc/hosts && hostname localkube-check && cat /etc/hosts', 'sh', hosts], { encoding: 'utf8', timeout: 10000 });
    const pdeathsig = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { timeout: 10000 }).status === 0;
    if (run.status === 0 && run.stdout === marker) return (detected = { mode: 'namespaces', pdeathsig, why: 'unshare -m -u works' });
    if (forced === 'namespaces') throw new Error(`LOCALKUBE_SANDBOX=namespaces but unshare failed: ${run.stderr || run.error?.message}`);
    return (detected = { mode: 'preload', pdeathsig: false, why: `unshare unavailable (${(run.stderr || run.error?.message || 'no output').trim()})` });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** within tells whether path p is dir itself or below it. */
function within(p: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`;
  return p === dir || p.startsWith(d);
}

/**
 * mountOrder orders bind mounts the way a container runtime's outcome needs:
 * a parent target before the targets inside it, and a mount whose source lies
 * under another mount's target before that target covers it (an emptyDir at
 * /tmp would otherwise hide volume directories under the host's /tmp). Stable
 * otherwise; a cycle (a nested target whose source the parent hides) keeps the
 * parent first and the mount fails loudly.
 */
export function mountOrder(mounts: Mount[]): Mount[] {
  const n = mounts.length;
  const after: Set<number>[] = mounts.map(() => new Set());
  const edge = (a: number, b: number) => after[b].add(a);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      if (within(mounts[b].target, mounts[a].target) && mounts[a].target !== mounts[b].target) edge(a, b);
      else if (within(mounts[a].source, mounts[b].target) && !within(mounts[a].target, mounts[b].target)) edge(a, b);
    }
  }
  const out: Mount[] = [];
  const done = new Set<number>();
  while (out.length < n) {
    let next = -1;
    for (let i = 0; i < n && next < 0; i++) if (!done.has(i) && [...after[i]].every((j) => done.has(j))) next = i;
    // A cycle cannot happen with the rules above (a parent never waits for its child); be safe anyway.
    if (next < 0) for (let i = 0; i < n && next < 0; i++) if (!done.has(i)) next = i;
    done.add(next);
    out.push(mounts[next]);
  }
  return out;
}

/** launch turns a container into the command that starts it in the sandbox. */
export function launch(spec: SandboxSpec, mode: SandboxMode, pdeathsig: boolean): Launch {
  if (mode === 'namespaces') {
    const mountArgs = mountOrder(spec.mounts).flatMap((m) => [m.source, m.target, m.readOnly ? 'ro' : 'rw']);
    return {
      file: 'unshare',
      args: ['-m', '-u', '--propagation', 'private', '--', 'sh', '-c', SCRIPT, 'localkube-sandbox', spec.hostsFile, spec.hostname, spec.workingDir, pdeathsig ? 'yes' : 'no', String(spec.mounts.length), ...mountArgs, '--', ...spec.argv],
      env: spec.env,
      cwd: '/',
    };
  }
  // Longest mount paths first, so /data/sub wins over /data.
  const mounts = [...spec.mounts].sort((a, b) => b.target.length - a.target.length);
  const rewrite = (s: string) => {
    for (const m of mounts) {
      if (s === m.target || s.startsWith(`${m.target}/`)) return m.source + s.slice(m.target.length);
      const at = s.indexOf(`=${m.target}`);
      if (at >= 0 && (s.length === at + 1 + m.target.length || s[at + 1 + m.target.length] === '/')) return s.slice(0, at + 1) + m.source + s.slice(at + 1 + m.target.length);
    }
    return s;
  };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = rewrite(v);
  env.LOCALKUBE_HOSTS_FILE = spec.hostsFile;
  env.NODE_OPTIONS = [`--import=${new URL(`file://${PRELOAD}`).href}`, spec.env.NODE_OPTIONS ?? ''].join(' ').trim();
  const argv = spec.argv.map(rewrite);
  const cwd = rewrite(spec.workingDir);
  fs.mkdirSync(cwd, { recursive: true });
  return { file: argv[0], args: argv.slice(1), env, cwd };
}
