// Summarises a sampling heap profile (alloc-sampler.ts, or node --heap-prof):
// the total sampled and the functions that allocated most themselves, with
// the stacks that led there: node test/bench/alloc-summary.ts FILE [--top N].
// It only reads the file.
import fs from 'node:fs';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

function frameName(n: ProfileNode): string {
  const where = n.callFrame.url.split('/').slice(-2).join('/');
  return `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
}

export function summarise(head: ProfileNode, top: number): string[] {
  const self = new Map<string, number>();
  const stacks = new Map<string, Map<string, number>>();
  let total = 0;
  const walk = (n: ProfileNode, stack: string[]) => {
    const name = frameName(n);
    const here = [...stack, name];
    if (n.selfSize > 0) {
      total += n.selfSize;
      self.set(name, (self.get(name) ?? 0) + n.selfSize);
      const by = stacks.get(name) ?? new Map<string, number>();
      const key = here.slice(-5, -1).join(' < ');
      by.set(key, (by.get(key) ?? 0) + n.selfSize);
      stacks.set(name, by);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, []);
  const mb = (b: number) => (b / 1e6).toFixed(1).padStart(7);
  const out = [`sampled ${mb(total).trim()} MB`];
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    out.push(`${mb(bytes)} MB ${name}`);
    const [stack] = [...stacks.get(name)!].sort((a, b) => b[1] - a[1]);
    if (stack) out.push(`           mostly from ${stack[0]}`);
  }
  return out;
}

if (import.meta.main) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node test/bench/alloc-summary.ts FILE [--top N]\n');
    process.exit(2);
  }
  const topAt = rest.indexOf('--top');
  const top = topAt >= 0 ? Number(rest[topAt + 1]) : 20;
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: ProfileNode };
  for (const line of summarise(profile.head, top)) console.log(line);
}
