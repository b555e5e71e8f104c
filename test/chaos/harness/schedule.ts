// The nemesis schedule: one fault at a time, Jepsen style — a quiet spell,
// inject a fault from a randomly chosen nemesis, hold it, heal it — until
// stopped. Each start and stop goes into the history as a :nemesis event and
// into `faults` for the summary. A nemesis that throws is recorded and the
// schedule goes on.
// It must never leave a fault in force after stop() resolves.
import type { ActiveFault, Nemesis, NemesisContext } from './nemesis/index.ts';
import { pickOne } from './nemesis/index.ts';

export interface FaultRecord {
  nemesis: string;
  description: string;
  /** how the fault ended ("healed", "restarted m2", ...) */
  healed: string;
  /** ms since the schedule started */
  at: number;
  /** ms from inject to healed */
  durationMs: number;
  error?: string;
}

export interface ScheduleOptions {
  /** quiet spell before each fault: U[min, max) ms */
  quietMs: readonly [number, number];
  /** how long a fault is held: U[min, max) ms */
  holdMs: readonly [number, number];
}

export class NemesisSchedule {
  readonly faults: FaultRecord[] = [];
  /** skipped counts injections a nemesis declined (no leader known, no spare address) */
  skipped = 0;
  private readonly ctx: NemesisContext;
  private readonly nemeses: readonly Nemesis[];
  private readonly o: ScheduleOptions;
  private stopping = false;
  private wake: (() => void) | undefined;
  private done: Promise<void> = Promise.resolve();
  private started = 0;

  constructor(ctx: NemesisContext, nemeses: readonly Nemesis[], o: ScheduleOptions) {
    this.ctx = ctx;
    this.nemeses = nemeses;
    this.o = o;
  }

  start(): void {
    this.started = Date.now();
    if (this.nemeses.length > 0) this.done = this.loop();
  }

  /** stop interrupts the current wait, heals the fault in force (if any) and resolves when nothing is left running. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.done;
  }

  private between([min, max]: readonly [number, number]): number {
    return min + this.ctx.rng() * (max - min);
  }

  /** pause waits `ms` unless stop() comes first. */
  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    const h = this.ctx.history;
    while (!this.stopping) {
      await this.pause(this.between(this.o.quietMs));
      if (this.stopping) break;
      const nemesis = pickOne(this.ctx.rng, this.nemeses);
      const at = Date.now() - this.started;
      let fault: ActiveFault | undefined;
      try {
        fault = await nemesis.inject(this.ctx);
      } catch (e) {
        const error = (e as Error).message;
        this.ctx.log(`nemesis ${nemesis.name} failed to inject: ${error}`);
        h.nemesis('info', `${nemesis.name}-error`, error);
        this.faults.push({ nemesis: nemesis.name, description: 'inject failed', healed: '', at, durationMs: Date.now() - this.started - at, error });
        continue;
      }
      if (!fault) {
        this.skipped++;
        continue;
      }
      h.nemesis('info', `${nemesis.name}-start`, fault.description);
      this.ctx.log(`nemesis ${nemesis.name}: ${fault.description}`);
      await this.pause(this.between(this.o.holdMs));
      const record: FaultRecord = { nemesis: nemesis.name, description: fault.description, healed: '', at, durationMs: 0 };
      try {
        record.healed = (await fault.heal()) || 'healed';
      } catch (e) {
        record.error = (e as Error).message;
        record.healed = 'heal failed';
        this.ctx.log(`nemesis ${nemesis.name} failed to heal: ${record.error}`);
      }
      record.durationMs = Date.now() - this.started - at;
      h.nemesis('info', `${nemesis.name}-stop`, record.healed);
      this.ctx.log(`nemesis ${nemesis.name}: ${record.healed}`);
      this.faults.push(record);
    }
  }
}
