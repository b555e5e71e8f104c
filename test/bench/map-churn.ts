// Shows, alone, why the per-request tables are IdTables and not Maps
// (docs/benchmarks.md, item 37): 64 live objects churned through a JS Map,
// through a plain array and through an IdTable, while the old generation
// grows (as a store's does), each in a child node with --trace-gc-nvp; it
// prints what each child's scavenges promoted and how long they took. A Map's
// retired backing tables stay linked to their successors, so once one is old
// every object the Map held since is promoted.
// Usage: node test/bench/map-churn.ts [--seconds 4]
// A measurement tool: it must never be part of a test's pass/fail on timings.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { IdTable } from '../../replica/util/id-table.ts';

const LIVE = 64;

function churn(kind: string, seconds: number): void {
  const map = new Map<number, object>();
  const table = new IdTable<object>();
  const ring = new Array<object | undefined>(1024).fill(undefined);
  const kept = new Array<string>(100_000).fill('');
  const make = (i: number) => ({ i, a: new Array(16).fill(i), s: 'x'.repeat(100) + i, c: { d: [i, i] } });
  const end = Date.now() + seconds * 1000;
  for (let id = 0; Date.now() < end; ) {
    for (let k = 0; k < 1000; k++, id++) {
      if (kind === 'map') {
        map.set(id, make(id));
        if (id >= LIVE) map.delete(id - LIVE);
      } else if (kind === 'idtable') {
        table.set(id, make(id));
        if (id >= LIVE) table.delete(id - LIVE);
      } else {
        ring[id & 1023] = make(id);
        if (id >= LIVE) ring[(id - LIVE) & 1023] = undefined;
      }
      // what lives on (a store's values): the old generation grows, so full collections come
      if (id % 20 === 0) kept[(id / 20) % kept.length] = 'y'.repeat(200) + id;
    }
  }
}

/** summarise reads --trace-gc-nvp lines: scavenges (gc=s) and full collections (gc=mc) after the first second. */
function summarise(out: string): string {
  const scavenges: { pause: number; promoted: number }[] = [];
  let fulls = 0;
  for (const line of out.split('\n')) {
    const m = /\s(\d+) ms: pause=([\d.]+) .*?gc=(\w+) /.exec(line);
    if (!m || Number(m[1]) < 1000) continue;
    if (m[3] === 'mc') fulls++;
    if (m[3] !== 's') continue;
    scavenges.push({ pause: Number(m[2]), promoted: Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0) });
  }
  const n = scavenges.length || 1;
  const mean = (f: (s: { pause: number; promoted: number }) => number) => scavenges.reduce((a, s) => a + f(s), 0) / n;
  return `${scavenges.length} scavenges, mean ${mean((s) => s.pause).toFixed(2)} ms, promoted ${(mean((s) => s.promoted) / 1024).toFixed(0)} KB each; ${fulls} full collections`;
}

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' }, child: { type: 'string' } } });
const seconds = Number(values.seconds);
if (values.child) {
  churn(values.child, seconds);
} else {
  const self = fileURLToPath(import.meta.url);
  for (const kind of ['map', 'array', 'idtable']) {
    const r = spawnSync(process.execPath, ['--max-semi-space-size=16', '--heap-growing-percent=50', '--trace-gc-nvp', self, '--child', kind, '--seconds', String(seconds)], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`map-churn: the ${kind} child failed: ${r.stderr}`);
    console.log(`${kind.padEnd(8)} ${summarise(r.stdout)}`);
  }
}
