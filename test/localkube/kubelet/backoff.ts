// The kubelet's restart back-off for one container: the first restart is
// immediate, then each restart waits initial (10 s), doubling up to max (300 s),
// measured from the last exit; a container that ran cleanly for resetAfter
// (10 min) starts over. It must never sleep: callers ask how long to wait.

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export class RestartBackoff {
  readonly #settings: BackoffSettings;
  /** #current is the wait before the next restart; 0 until the first restart happened. */
  #current = 0;

  constructor(settings: BackoffSettings) {
    this.#settings = settings;
  }

  /** waitMs tells how long to wait before restarting a container that exited at finishedAt (ran for ranMs). */
  waitMs(finishedAt: number, ranMs: number, now: number): number {
    if (ranMs >= this.#settings.resetAfterMs) this.#current = 0;
    return Math.max(0, finishedAt + this.#current - now);
  }

  /** restarted records a restart: the next one waits longer. */
  restarted(): void {
    this.#current = this.#current === 0 ? this.#settings.initialMs : Math.min(this.#current * 2, this.#settings.maxMs);
  }

  /** currentMs is the back-off the kubelet reports in CrashLoopBackOff messages. */
  get currentMs(): number {
    return this.#current;
  }
}
