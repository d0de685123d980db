import type { Clock } from './clock.ts';

/**
 * Auto-compaction as etcd 3.4's v3compactor, run by the leader only.
 *
 * - periodic: keep `retentionMs` of history. The current revision is sampled every tenth of the
 *   compaction interval (the retention, at most an hour); once the retention has passed since the
 *   start (then every interval) the oldest sample kept is compacted: etcd keeps retention/tenth + 1
 *   samples, so that is a retention and a tenth of an interval ago.
 * - revision: every 5 minutes, compact to the current revision minus `retention` revisions.
 */
export type AutoCompaction = { mode: 'periodic'; retentionMs: number } | { mode: 'revision'; retention: number };

export interface CompactorOptions {
  clock: Clock;
  /** The store's revision now. */
  revision(): number;
  /** Whether this member leads (followers sample nothing and compact nothing). */
  leading(): boolean;
  /** Proposes a compaction; resolves once it applied (rejects with the reason otherwise). */
  compact(revision: number): Promise<void>;
  /** Told of each compaction tried (for logs). */
  onCompact?: (revision: number, err?: unknown) => void;
}

const HOUR = 3_600_000;
const REVISION_INTERVAL = 5 * 60_000;
/** etcd answers this when the revision is compacted already: as good as done. */
const ALREADY = /required revision has been compacted/;

export class Compactor {
  private timer: unknown;
  private running = false;
  private samples: number[] = [];
  private lastSuccess: number;
  private base: number;
  private prev = 0;

  constructor(
    private readonly policy: AutoCompaction,
    private readonly o: CompactorOptions,
  ) {
    this.lastSuccess = o.clock.now();
    this.base = policy.mode === 'periodic' ? policy.retentionMs : 0;
  }

  /** etcd's interval: the retention up to an hour; samples are taken ten times per interval. */
  private get interval(): number {
    return this.policy.mode === 'periodic' ? Math.min(this.policy.retentionMs, HOUR) : REVISION_INTERVAL;
  }

  private get every(): number {
    return this.policy.mode === 'periodic' ? this.interval / 10 : REVISION_INTERVAL;
  }

  start(): void {
    if (this.policy.mode === 'periodic') this.sample();
    this.schedule();
  }

  stop(): void {
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.o.clock.setTimeout(() => void this.step(), this.every);
  }

  private sample(): void {
    if (this.policy.mode !== 'periodic') return;
    this.samples.push(this.o.revision());
    const keep = Math.floor(this.policy.retentionMs / this.every) + 1;
    if (this.samples.length > keep) this.samples = this.samples.slice(this.samples.length - keep);
  }

  private async step(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // Followers keep sampling (as etcd's paused compactor), so a new leader compacts on time.
      if (!this.o.leading()) return;
      if (this.policy.mode === 'periodic') await this.periodic();
      else await this.byRevision(this.policy.retention);
    } finally {
      this.running = false;
      if (this.timer !== undefined) this.schedule();
      if (this.policy.mode === 'periodic') this.sample();
    }
  }

  private async periodic(): Promise<void> {
    if (this.o.clock.now() - this.lastSuccess < this.base || this.samples.length === 0) return;
    // After the first wait of a whole retention, compaction runs every interval.
    this.base = this.interval;
    const rev = this.samples[0];
    if (await this.tryCompact(rev)) this.lastSuccess = this.o.clock.now();
  }

  private async byRevision(retention: number): Promise<void> {
    const rev = this.o.revision() - retention;
    if (rev <= 0 || rev === this.prev) return;
    if (await this.tryCompact(rev)) this.prev = rev;
  }

  private async tryCompact(rev: number): Promise<boolean> {
    if (rev <= 0) return false;
    try {
      await this.o.compact(rev);
      this.o.onCompact?.(rev);
      return true;
    } catch (err) {
      const done = ALREADY.test(String((err as Error)?.message ?? err));
      this.o.onCompact?.(rev, done ? undefined : err);
      return done;
    }
  }
}
