// One chaos run, start to verdict: found a group behind the fault proxies,
// run the register workload and the nemesis schedule for the given time,
// heal, wait for recovery, read every key, check the history, compare the
// members' states, write history.log, summary.json, summary.txt, chaos.log
// and the member logs under the output directory.
// It must never leave a process or proxy running (everything is registered
// with `cleanup` as it starts), and never report ok unless every check passed.
import fs from 'node:fs';
import path from 'node:path';
import type { Cleanup } from '../../e2e/replica-cluster.ts';
import { HistoryRecorder, readHistoryFile } from '../history/index.ts';
import { checkHistory, explainResult } from '../linearizability/index.ts';
import { prng } from '../proxy/index.ts';
import { ChaosCluster } from './cluster.ts';
import { longestGap } from './availability.ts';
import { checkConvergence } from './convergence.ts';
import { finalReads } from './final-reads.ts';
import type { NemesisContext } from './nemesis/index.ts';
import type { ChaosOptions } from './options.ts';
import { waitRecovered, healAll } from './recovery.ts';
import { NemesisSchedule } from './schedule.ts';
import { problemsOf, totals, formatSummary, type ChaosSummary } from './summary.ts';
import { RegisterWorkload } from './workload.ts';

/** defaultOutDir is out/chaos/<UTC time>-<nemesis>-<seed> under `root`. */
export function defaultOutDir(root: string, o: Pick<ChaosOptions, 'nemesisText' | 'seed' | 'unsafeLocalReads'>, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const nemesis = o.nemesisText.replace(/[^A-Za-z0-9-]+/g, '+');
  return path.join(root, 'out', 'chaos', `${stamp}-${nemesis}${o.unsafeLocalReads ? '-unsafe' : ''}-${o.seed}`);
}

/** spareSlots: addresses kept for members the membership nemesis adds (about one per fault it may inject). */
function spareSlots(o: ChaosOptions): number {
  if (!o.nemeses.some((n) => n.name === 'membership')) return 0;
  const cycle = (o.quietMs[0] + o.holdMs[0]) / 1000 || 1;
  return Math.min(40, 2 + Math.ceil(o.timeSeconds / Math.max(cycle, 3)));
}

/** runChaos performs one run into `outDir` and returns its summary (also written to disk). */
export async function runChaos(o: ChaosOptions, outDir: string, cleanup: Cleanup, echo: (line: string) => void = () => undefined): Promise<ChaosSummary> {
  const wallStart = Date.now();
  fs.mkdirSync(outDir, { recursive: true });
  const logFd = fs.openSync(path.join(outDir, 'chaos.log'), 'a');
  cleanup.after(() => fs.closeSync(logFd));
  const log = (line: string) => {
    const text = `${new Date().toISOString()} ${line}`;
    fs.writeSync(logFd, text + '\n');
    echo(text);
  };
  const historyPath = path.join(outDir, 'history.log');
  const history = new HistoryRecorder({ path: historyPath, format: 'edn' }); // EDN keeps each event's time
  cleanup.after(() => history.close());
  const flags = ['--checkpoint-interval', String(o.checkpointInterval)];
  if (o.snapshotCount !== undefined) flags.push('--snapshot-count', String(o.snapshotCount), '--snapshot-catchup-entries', String(o.snapshotCatchupEntries ?? 0));
  if (o.unsafeLocalReads) flags.push('--unsafe-local-reads');

  log(`starting ${o.members} members (nemesis ${o.nemeses.map((n) => n.name).join(',') || 'none'}, seed ${o.seed}, flags ${flags.join(' ')})`);
  const cluster = await ChaosCluster.start(cleanup, { size: o.members, spares: spareSlots(o), flags, logDir: path.join(outDir, 'members') });
  log(`group founded: ${cluster.members().map((m) => `${m.name}@${m.process.ip}`).join(' ')}; ${cluster.slots.length - o.members} spare address(es)`);

  let requests = 0;
  const nextRequestId = () => `chaos-${o.seed}-${++requests}`;
  const ctx: NemesisContext = {
    cluster,
    rng: prng(o.seed, 2),
    history,
    baseSize: o.members,
    snapshotCatchupEntries: o.snapshotCatchupEntries ?? 5000,
    nextRequestId,
    log,
  };
  const workload = new RegisterWorkload({
    clients: o.clients,
    keys: o.keys,
    opTimeoutMs: o.opTimeoutMs,
    meanThinkMs: o.meanThinkMs,
    endpoints: () => cluster.members().map((m) => m.process.endpoint),
    history,
    rng: prng(o.seed, 1),
  });
  const schedule = new NemesisSchedule(ctx, o.nemeses, { quietMs: o.quietMs, holdMs: o.holdMs });
  const started = Date.now();
  history.nemesis('info', 'workload-start', `${o.clients} clients, ${o.keys} keys`);
  const workloadFrom = history.events[history.events.length - 1].time!;
  workload.start();
  schedule.start();
  cleanup.after(async () => {
    await schedule.stop();
    await workload.stop();
  });
  let lastReport = started;
  while (Date.now() - started < o.timeSeconds * 1000) {
    await new Promise((r) => setTimeout(r, Math.min(1000, o.timeSeconds * 1000 - (Date.now() - started))));
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      const t = totals(workload.counts);
      log(`${((Date.now() - started) / 1000).toFixed(0)} s: ops ok ${t.ok} fail ${t.fail} info ${t.info}; faults ${schedule.faults.length}`);
    }
  }
  history.nemesis('info', 'time-up', 'stopping the nemesis');
  const workloadTo = history.events[history.events.length - 1].time!;
  log('time is up: stopping the nemesis');
  await schedule.stop();
  const seconds = (Date.now() - started) / 1000;
  healAll(cluster);
  await workload.stop();
  log('healed; workload stopped; waiting for recovery');
  const recovery = await waitRecovered(cluster, o.recoveryTimeoutMs, nextRequestId);
  log(recovery.recovered ? `recovered in ${(recovery.ms / 1000).toFixed(1)} s (leader ${recovery.leader})` : `NOT recovered: ${recovery.reason}`);
  const reads = recovery.recovered ? await finalReads(cluster, history, o.keys, workload.nextFreeProcess(), 30_000) : [];
  history.close();
  // Check the file as written (so explanations cite its lines, and the file itself is proven readable).
  const events = readHistoryFile(historyPath);
  if (events.length !== history.events.length) throw new Error(`${historyPath}: holds ${events.length} events, the recorder ${history.events.length}`);
  log(`checking ${events.length} history events`);
  const result = checkHistory(events, { timeoutMs: o.checkTimeoutMs, source: historyPath });
  log(`checker: ${result.verdict} in ${(result.elapsedMs / 1000).toFixed(2)} s`);
  const convergence = recovery.recovered ? await checkConvergence(cluster, 30_000) : undefined;

  const availability = longestGap(history.events, workloadFrom, workloadTo);
  const faults: Record<string, number> = {};
  for (const f of schedule.faults) if (!f.error) faults[f.nemesis] = (faults[f.nemesis] ?? 0) + 1;
  const reasons = Object.fromEntries([...workload.reasons].sort((a, b) => b[1] - a[1]).slice(0, 12));
  const partial = {
    verdict: result.verdict,
    recovery,
    finalReads: reads,
    ...(convergence ? { convergence } : {}),
    checker: {
      verdict: result.verdict,
      elapsedMs: result.elapsedMs,
      keys: result.keys.map((k) => ({ key: String(k.key), verdict: k.verdict, checked: k.checked, explored: k.explored })),
      explanation: result.verdict === 'linearizable' ? [] : explainResult(result),
    },
  };
  const problems = problemsOf(partial);
  const summary: ChaosSummary = {
    outDir,
    nemesis: o.nemeses.map((n) => n.name),
    seed: o.seed,
    members: o.members,
    clients: o.clients,
    keys: o.keys,
    unsafeLocalReads: o.unsafeLocalReads,
    seconds,
    ops: { ...workload.counts, total: totals(workload.counts) },
    failureReasons: reasons,
    faults,
    faultLog: schedule.faults,
    skippedFaults: schedule.skipped,
    restarts: cluster.restarts,
    availability,
    ...partial,
    ok: problems.length === 0,
    problems,
    wallSeconds: (Date.now() - wallStart) / 1000,
  };
  if (!recovery.recovered) log(`member logs (tail):\n${cluster.logTail(30)}`);
  fs.writeFileSync(path.join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'summary.txt'), formatSummary(summary));
  log(`verdict: ${summary.verdict}${summary.ok ? '' : `; FAILED: ${problems.join('; ')}`}`);
  return summary;
}
