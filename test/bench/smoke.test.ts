// A smoke run of the whole benchmark harness (npm run bench -- --smoke)
// against a real 3-member etcd and a real 3-member replicant group: every
// workload completes requests without errors on both, the kill -9 failover is
// measured on both, the report and JSON are complete, and every process the
// run started is gone afterwards. Figures are not checked (a smoke run is far
// too short to mean anything). etcd parts are skipped, saying so, only when
// etcd is neither installed nor installable here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureEtcd } from './etcd-binary.ts';
import { parseBenchFlags } from './flags.ts';
import { markdownReport } from './report.ts';
import { runBench } from './run.ts';
import { parseTimeline } from './timeline.ts';
import { WORKLOADS } from './workloads.ts';
import type { TargetKind } from './clusters.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('npm run bench -- --smoke: both systems, every workload, failover, report, cleanup', { timeout: 180_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-bench-smoke-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let only: TargetKind[] = ['etcd', 'replicant'];
  try {
    ensureEtcd({ install: true, log: (l) => t.diagnostic(l) });
  } catch (e) {
    t.diagnostic(`SKIPPING the etcd half of the smoke run: ${(e as Error).message}`);
    only = ['replicant'];
  }
  const jsonFile = path.join(dir, 'bench.json');
  const timelineDir = path.join(dir, 'timeline');
  const options = parseBenchFlags(['--smoke', '--json', jsonFile, '--timeline', timelineDir, ...(only.length === 1 ? ['--only', only[0]] : [])])!;
  const cleanups: (() => void | Promise<void>)[] = [];
  const runCleanups = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  };
  t.after(runCleanups);
  const log: string[] = [];
  const started = performance.now();
  const { report, pids } = await runBench(options, { after: (fn) => cleanups.push(fn) }, (l) => log.push(l));
  t.diagnostic(`smoke run took ${((performance.now() - started) / 1000).toFixed(1)} s (load average ${report.machine.loadAverage.join(' ')})`);

  for (const target of only) {
    for (const w of WORKLOADS) {
      const r = report.workloads.find((x) => x.workload === w.name && x.target === target);
      assert.ok(r, `${w.name} against ${target} is in the report`);
      assert.ok(r.completed > 0, `${w.name} against ${target} completed requests\n${log.join('\n')}`);
      assert.equal(r.errors, 0, `${w.name} against ${target}: ${JSON.stringify(r.errorKinds)}`);
      assert.equal(r.members.length, 3, `${w.name} against ${target}: CPU and RSS of 3 members`);
      for (const m of r.members) assert.ok(m.rssMaxMiB > 5, `${m.member} RSS ${m.rssMaxMiB} MiB`);
      // --timeline: one line per measured request (one round in a smoke run).
      const lines = parseTimeline(fs.readFileSync(path.join(timelineDir, `${w.name}-${target}-round1.txt`), 'utf8'));
      assert.equal(lines.length, r.ops, `${w.name} against ${target}: a timeline line per measured request`);
    }
    const kill = report.failover.find((f) => f.target === target && f.event === 'kill');
    assert.ok(kill && kill.repetitions === 1, `kill -9 failover measured against ${target}`);
    assert.ok(kill.gapsMs[0] !== null && kill.gapsMs[0] > 0, `${target} wrote again after losing its leader (gap ${kill.gapsMs[0]})`);
  }
  if (only.length === 2) assert.equal(report.targets.filter((c) => c.met !== null).length, 6, 'every target is checked');

  const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  assert.equal(json.workloads.length, WORKLOADS.length * only.length);
  assert.equal(typeof json.machine.cpuModel, 'string');
  const md = markdownReport(report);
  assert.match(md, /### Throughput and latency/);
  assert.match(md, /### Failover/);

  await runCleanups();
  const deadline = performance.now() + 10_000;
  while (pids.some(alive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pids.filter(alive), [], 'every process the run started is gone');
});
