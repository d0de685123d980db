import { revKey } from '../mvcc/kv-store.ts';
import type { LeaseOp, MemberOp, RevisionRow } from '../storage/rows.ts';
import type { StateStore } from '../storage/stores.ts';
import type { Clock } from './clock.ts';

/** How long a batch of applied rows waits for more before it is committed (etcd's backend batch interval). */
export const GATHER_MS = 100;
/** A batch this large is committed at once (etcd's backend batch limit)... */
export const BATCH_ROWS = 10_000;
/** ...or one whose keys and values take this much memory. */
export const BATCH_BYTES = 32 << 20;

/**
 * Short batches for a store whose one connection serves both lanes (embedded PGlite): a long
 * applied commit would hold the log lane's next commit, and every answer with it. Measured on one
 * embedded member, put 64 clients: 100 ms batches of ~550 rows took 27 ms each and put p99 went
 * from 47 to 70 ms.
 */
export const SHARED_CONNECTION_BATCHES = { gatherMs: 10, batchRows: 1_000 };

export interface AppliedLaneOptions {
  store: StateStore;
  clock: Clock;
  /** The raft index and MVCC revision the applied state has reached. */
  appliedIndex(): number;
  revision(): number;
  fail(err: unknown): void;
  failed(): boolean;
  /** Told how long each commit took (etcd's backend commit duration). */
  committed?: (seconds: number) => void;
  /** Defaults GATHER_MS and BATCH_ROWS. */
  gatherMs?: number;
  batchRows?: number;
}

/**
 * The applied lane: revision rows, leases, members and the applied index go to the database beside
 * the log lane, one transaction at a time, each carrying whatever was applied since the last. Small
 * batches wait up to GATHER_MS for more, as etcd's backend commits in batches: every commit wakes a
 * database backend, which costs more than the rows. Nothing here needs to be durable before an
 * answer (the log is); a compaction, a snapshot or a close asks for it now. Rows applied but not
 * yet committed are served from memory to history reads.
 */
export class AppliedLane {
  /** The applied index the database holds (rows and meta committed up to it, maybe not yet flushed). */
  persisted = 0;
  /** The applied index known to be on disk: a later synchronous log commit flushed it. */
  durable = 0;
  private readonly unflushed = new Map<string, RevisionRow>();
  private rows: RevisionRow[] = [];
  private rowBytes = 0;
  private compactions: { rev: number; done: () => void }[] = [];
  private leaseOps: LeaseOp[] = [];
  private memberOps: MemberOp[] = [];
  private meta: [string, string][] = [];
  private flushing: Promise<void> | undefined;
  /** A drain waits: the running flush goes on until nothing is left. */
  private flushNow = false;
  private timer: unknown;

  constructor(private readonly o: AppliedLaneOptions) {}

  /** The database holds the state up to index (at start-up, or after a snapshot was installed). */
  loaded(index: number): void {
    this.unflushed.clear();
    this.persisted = index;
    this.durable = index;
  }

  record(rows: RevisionRow[]): void {
    for (const r of rows) {
      this.rows.push(r);
      this.rowBytes += r.key.length + r.value.length;
      this.unflushed.set(revKey(r), r);
    }
  }

  /** Queues a compaction's row deletion; resolves once it is committed. */
  compact(rev: number): Promise<void> {
    return new Promise<void>((done) => this.compactions.push({ rev, done }));
  }

  leaseOp(op: LeaseOp): void {
    this.leaseOps.push(op);
  }

  memberOp(op: MemberOp): void {
    this.memberOps.push(op);
  }

  /** A named value the applied state sets (alarms). */
  setMeta(name: string, value: string): void {
    this.meta.push([name, value]);
  }

  /** Commits what was applied: soon (now = false: gathering a batch first) or at once. */
  flush(now = false): void {
    if (this.o.failed()) return;
    if (this.flushing) {
      if (now) this.flushNow = true;
      return;
    }
    if (!this.hasWork()) return;
    if (!now && !this.batchFull()) {
      this.timer ??= this.o.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush(true);
      }, this.o.gatherMs ?? GATHER_MS);
      return;
    }
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.hasWork() && !this.o.failed()) {
        const rows = this.rows;
        const compactions = this.compactions;
        const leaseOps = this.leaseOps;
        const memberOps = this.memberOps;
        const meta = this.meta;
        this.meta = [];
        this.rows = [];
        this.rowBytes = 0;
        this.compactions = [];
        this.leaseOps = [];
        this.memberOps = [];
        const applied = this.o.appliedIndex();
        const t0 = performance.now();
        await this.o.store.commitApplied({
          rows,
          compactions: compactions.map((c) => c.rev),
          leaseOps,
          memberOps,
          meta,
          appliedIndex: applied,
          revision: this.o.revision(),
          compactRev: compactions.length ? compactions[compactions.length - 1].rev : undefined,
        });
        this.o.committed?.((performance.now() - t0) / 1000);
        this.persisted = applied;
        for (const r of rows) this.unflushed.delete(revKey(r));
        for (const c of compactions) c.done();
        if (!this.flushNow && !this.batchFull()) break;
      }
    } catch (err) {
      this.o.fail(err);
    } finally {
      this.flushing = undefined;
      this.flushNow = false;
    }
    this.flush();
  }

  private hasWork(): boolean {
    return this.rows.length > 0 || this.compactions.length > 0 || this.leaseOps.length > 0 || this.memberOps.length > 0 || this.meta.length > 0 || this.persisted < this.o.appliedIndex();
  }

  /** Enough to commit without waiting: many rows, or a compaction someone waits for. */
  private batchFull(): boolean {
    return this.rows.length >= (this.o.batchRows ?? BATCH_ROWS) || this.rowBytes >= BATCH_BYTES || this.compactions.length > 0;
  }

  /** Commits everything applied so far and waits for it. */
  async drain(): Promise<void> {
    for (;;) {
      this.flush(true);
      if (!this.flushing) return;
      await this.flushing;
    }
  }

  /** Waits until the database holds the applied state up to index (a snapshot sent from it must). */
  async flushedTo(index: number, gaveUp: () => boolean): Promise<void> {
    while (this.persisted < index && !this.o.failed() && !gaveUp()) {
      this.flush(true);
      await new Promise<void>((r) => this.o.clock.setTimeout(r, 10));
    }
  }

  /**
   * Revision rows with after < main <= until (revisions already applied), oldest first, at most
   * limit of them: the history a watcher catching up reads. Rows not committed yet come from memory.
   */
  async rowsBetween(after: number, until: number, limit: number): Promise<RevisionRow[]> {
    // Copy the unflushed rows before querying: a row committed meanwhile is then in one of the two.
    const recent: RevisionRow[] = [];
    for (const r of this.unflushed.values()) if (r.main > after && r.main <= until) recent.push(r);
    const stored = await this.o.store.rowsBetween(after, until, limit);
    if (recent.length === 0) return stored;
    const seen = new Set(stored.map((r) => revKey(r)));
    const all = stored.concat(recent.filter((r) => !seen.has(revKey(r))));
    all.sort((a, b) => a.main - b.main || a.sub - b.sub);
    return all.length > limit ? all.slice(0, limit) : all;
  }

  /** Value and lease of past revisions, for the key-value store's history reads. */
  async values(revs: { main: number; sub: number }[]): Promise<Map<string, { value: string; lease: bigint }>> {
    const out = new Map<string, { value: string; lease: bigint }>();
    const ask: { main: number; sub: number }[] = [];
    for (const r of revs) {
      const row = this.unflushed.get(revKey(r));
      if (row) out.set(revKey(r), { value: row.value, lease: row.lease });
      else ask.push(r);
    }
    if (ask.length) for (const [k, v] of await this.o.store.values(ask)) out.set(k, v);
    return out;
  }
}
