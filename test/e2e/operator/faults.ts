// Faults the operator end-to-end tests inflict through localkube's hooks, and
// the clock that measures recovery: a crash loop (kill -9 a member's process
// every time it comes back), and `recovery` which follows a group from a fault
// to full fault tolerance with a writer running. Must never wait by sleeping
// for an outcome: every wait polls a condition with a deadline.
import type { ReplicaGroup } from '../../../operator/api/index.ts';
import { NAMESPACE, type OperatorEnv } from './env.ts';
import { settled } from './group.ts';
import type { Outage, Writer } from './writer.ts';

export interface CrashLoop {
  /** kills is how many times the process was killed. */
  readonly kills: number;
  stop(): Promise<void>;
}

/** crashLoop kills a member's container with SIGKILL whenever it runs, until stopped or its pod is gone. */
export function crashLoop(env: OperatorEnv, pod: string, everyMs = 250): CrashLoop {
  let stopped = false;
  let kills = 0;
  const loop = (async () => {
    while (!stopped) {
      const p = env.pod(pod);
      if (!p || p.metadata?.deletionTimestamp) return;
      try {
        await env.lk.hooks.crash(NAMESPACE, pod);
        kills++;
      } catch {
        // not running right now (restarting or backing off)
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    get kills() {
      return kills;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export interface Recovery {
  /** restoredAfterMs: from the fault until the group tolerates as many failures as desired again (settled, victim gone). */
  restoredAfterMs: number;
  writes: Outage;
  group: ReplicaGroup;
}

/** recovery waits until `victim` is out of the configuration and the group is settled again, and measures it. */
export async function recovery(env: OperatorEnv, name: string, victim: string, faultAt: number, writer: Writer | undefined, voters = 3, timeoutMs = 180_000): Promise<Recovery> {
  const group = await env.waitGroup(
    name,
    `${victim} replaced and full fault tolerance restored`,
    (g) => settled(g, voters) && !g.status!.configuration!.voters.includes(victim) && !g.status!.members!.some((m) => m.name === victim) && g,
    timeoutMs,
  );
  const restoredAt = Date.now();
  return {
    restoredAfterMs: restoredAt - faultAt,
    writes: writer ? writer.outage(faultAt, restoredAt) : { resumedAfterMs: 0, longestGapMs: 0, failures: 0 },
    group,
  };
}

/** describeRecovery renders the measured figures for the report. */
export function describeRecovery(label: string, r: Recovery): string {
  const w = r.writes;
  const writes =
    w.failures === 0 && w.longestGapMs < 1000
      ? `writes were not interrupted (longest gap without an acknowledged write ${w.longestGapMs} ms)`
      : `writes stopped for up to ${w.longestGapMs} ms and flowed again ${w.resumedAfterMs} ms after the fault (${w.failures} failed writes)`;
  return `${label}: full fault tolerance restored ${r.restoredAfterMs} ms after the fault; ${writes}`;
}

/** waitAcks waits until the writer has at least n acknowledgements. */
export async function waitAcks(w: Writer, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (w.acked.length < n) {
    if (Date.now() > deadline) throw new Error(`writer got ${w.acked.length} acknowledgements, wanted ${n}; failures: ${w.failures.slice(-3).map((f) => f.message).join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** otherReplacements lists replacements of members other than `victims` (to report, and to bound). */
export function otherReplacements(env: OperatorEnv, name: string, victims: string[]): string[] {
  return env.eventLines(name).filter((l) => l.startsWith('Warning ReplacingMember: ') && !victims.some((v) => l.startsWith(`Warning ReplacingMember: ${v} is faulty`)));
}
