// Lease-based leader election for operator replicas (client-node has none),
// with client-go's semantics and defaults: lease 15 s, renew deadline 10 s,
// retry 2 s. Expiry is judged by when *we* last saw the record change, not by
// the timestamps in it, so clock skew between operators cannot shorten a lease.
// Safety rests on the API server's optimistic concurrency: create answers 409
// when the lease exists, update answers 409 on a stale resourceVersion.
// Must never act as leader after failing to renew within the renew deadline.

export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: Date;
  renewTime: Date;
  leaseTransitions: number;
  resourceVersion?: string;
}

/** LeaseStore is the API server seen through one Lease object. */
export interface LeaseStore {
  /** get returns the lease, or undefined when it does not exist. */
  get(): Promise<LeaseRecord | undefined>;
  /** create fails with a ConflictError when the lease already exists. */
  create(r: LeaseRecord): Promise<LeaseRecord>;
  /** update fails with a ConflictError when r.resourceVersion is stale. */
  update(r: LeaseRecord): Promise<LeaseRecord>;
  describe(): string;
}

export class ConflictError extends Error {
  constructor(what: string) {
    super(`conflict: ${what}`);
    this.name = 'ConflictError';
  }
}

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const CLIENT_GO_TIMING: ElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface ElectorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ElectorOptions {
  identity: string;
  store: LeaseStore;
  timing?: ElectionTiming;
  now?: () => number;
  log: ElectorLogger;
  onStartedLeading(): void;
  /** onStoppedLeading: leadership was lost; the caller must stop acting at once (client-go exits). */
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

export class LeaderElector {
  private readonly o: ElectorOptions;
  private readonly t: ElectionTiming;
  private readonly now: () => number;
  private observed: LeaseRecord | undefined;
  /** observedAt: local time when the observed record last changed */
  private observedAt = 0;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastLeader = '';

  constructor(o: ElectorOptions) {
    this.o = o;
    this.t = o.timing ?? CLIENT_GO_TIMING;
    if (!(this.t.leaseDurationMs > this.t.renewDeadlineMs && this.t.renewDeadlineMs > this.t.retryPeriodMs)) {
      throw new Error('leader election: need lease duration > renew deadline > retry period');
    }
    this.now = o.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      await this.tick();
      if (!this.stopped) this.timer = setTimeout(loop, this.t.retryPeriodMs);
    };
    void loop();
  }

  /** tick is one acquire-or-renew attempt (exposed for tests). */
  async tick(): Promise<void> {
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, `leader election: cannot reach ${this.o.store.describe()}`);
    }
    const now = this.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.o.log.info({ identity: this.o.identity }, 'became leader');
        this.o.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew >= this.t.renewDeadlineMs) {
      this.leading = false;
      this.o.log.warn({ identity: this.o.identity }, 'lost leadership: could not renew the lease in time');
      this.o.onStoppedLeading();
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const current = await this.o.store.get();
    const fresh = (holder: string, transitions: number, acquire: Date): LeaseRecord => ({
      holderIdentity: holder,
      leaseDurationSeconds: Math.round(this.t.leaseDurationMs / 1000),
      acquireTime: acquire,
      renewTime: new Date(now),
      leaseTransitions: transitions,
    });
    if (!current) {
      try {
        this.observe(await this.o.store.create(fresh(this.o.identity, 0, new Date(now))));
        return true;
      } catch (e) {
        if (e instanceof ConflictError) return false;
        throw e;
      }
    }
    if (!this.observed || !sameRecord(this.observed, current)) this.observe(current);
    const holder = current.holderIdentity;
    const mine = holder === this.o.identity;
    const expired = this.observedAt + current.leaseDurationSeconds * 1000 <= now;
    if (holder && !mine && !expired) return false;
    const next = fresh(this.o.identity, mine ? current.leaseTransitions : current.leaseTransitions + 1, mine ? current.acquireTime : new Date(now));
    next.resourceVersion = current.resourceVersion;
    try {
      this.observe(await this.o.store.update(next));
      return true;
    } catch (e) {
      if (e instanceof ConflictError) return false;
      throw e;
    }
  }

  private observe(r: LeaseRecord): void {
    this.observed = r;
    this.observedAt = this.now();
    if (r.holderIdentity && r.holderIdentity !== this.lastLeader) {
      this.lastLeader = r.holderIdentity;
      this.o.onNewLeader?.(r.holderIdentity);
    }
  }

  /** stop ends the loop; when leading it releases the lease so another operator takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const current = await this.o.store.get();
      if (current?.holderIdentity === this.o.identity) {
        await this.o.store.update({ ...current, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new Date(this.now()) });
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'could not release the lease');
    }
  }
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.renewTime.getTime() === b.renewTime.getTime() &&
    a.leaseTransitions === b.leaseTransitions &&
    a.resourceVersion === b.resourceVersion
  );
}
