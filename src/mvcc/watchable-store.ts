import type { RevisionRow } from '../storage/rows.ts';
import type { Bytes, Change, KeyValue } from './types.ts';
import { EventBatch, EventType, isCreateEvent, Watcher, WatcherGroup, WatcherState, type WatchEvent } from './watcher-group.ts';

/** Where watchers that fell behind read what they missed (the member's database and memory). */
export interface WatchHistory {
  /** Rows with after < main <= until, oldest first, at most limit (every row with main <= until is applied). */
  rows(after: number, until: number, limit: number): Promise<RevisionRow[]>;
  /** Each key's value at a revision; undefined where the key did not exist then or it is compacted. */
  valuesAt(reqs: { key: Bytes; rev: number }[]): Promise<(KeyValue | undefined)[]>;
  /** The store's revision now. */
  currentRev(): number;
  /** The revision history is compacted up to (-1 if never). */
  compactRev(): number;
}

export interface WatchableStoreOptions {
  /** Most unsynced watchers handled in one catch-up round (etcd: 512). */
  maxWatchersPerSync?: number;
  /** Most history rows read in one catch-up round (a revision is never split). */
  maxRowsPerSync?: number;
  /** How often to look for revisions that arrived without a notification (a snapshot installed). */
  resyncIntervalMs?: number;
  /** How long to wait before reading history again after it failed. */
  retryMs?: number;
  onError?: (err: unknown) => void;
}

const UNBOUNDED = 2 ** 31 - 1;

/**
 * Watchers over a revisioned store, after etcd's watchable_store.go. A synced watcher gets the
 * events of each write as it is applied (notify, called synchronously in revision order). A watcher
 * that starts in the past, or whose owner cannot take more (a slow client), is unsynced: it only
 * remembers the first revision it has not received, and a catch-up loop reads history for it in
 * bounded batches, never splitting a revision, until it reaches the current revision and is synced
 * again. Writers never wait for watchers; memory held per watcher is constant.
 */
export class WatchableStore {
  private readonly synced = new WatcherGroup();
  private readonly unsynced = new Set<Watcher>();
  private rev: number;
  private syncing = false;
  private syncScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly resyncTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly maxWatchersPerSync: number;
  private readonly maxRowsPerSync: number;

  constructor(
    private readonly history: WatchHistory,
    private readonly opts: WatchableStoreOptions = {},
  ) {
    this.rev = history.currentRev();
    this.maxWatchersPerSync = opts.maxWatchersPerSync ?? 512;
    this.maxRowsPerSync = opts.maxRowsPerSync ?? 1000;
    const every = opts.resyncIntervalMs ?? 100;
    if (every > 0) {
      this.resyncTimer = setInterval(() => this.checkGap(), every);
      this.resyncTimer.unref?.();
    }
  }

  /** The last revision this store has seen applied. */
  get revision(): number {
    return this.rev;
  }

  get syncedCount(): number {
    return this.synced.size;
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  /**
   * Starts w from startRev (0: from the next revision). A start in the past makes it unsynced: it
   * catches up from history (or is dropped as compacted); a future start waits for that revision.
   */
  watch(w: Watcher, startRev: number): void {
    if (this.closed) throw new Error('watchable store closed');
    const rev = startRev === 0 ? this.rev + 1 : startRev;
    w.minRev = rev;
    if (rev > this.rev) {
      w.state = WatcherState.Synced;
      this.synced.add(w);
    } else {
      w.state = WatcherState.Unsynced;
      this.unsynced.add(w);
      this.kick();
    }
  }

  cancel(w: Watcher): void {
    if (w.state === WatcherState.Synced) this.synced.delete(w);
    else if (w.state === WatcherState.Unsynced) this.unsynced.delete(w);
    w.state = WatcherState.Canceled;
  }

  isSynced(w: Watcher): boolean {
    return w.state === WatcherState.Synced;
  }

  /** Asks for catch-up work to run (an owner calls it when it can take responses again). */
  kick(): void {
    if (this.syncScheduled || this.syncing || this.closed || this.retryTimer) return;
    this.syncScheduled = true;
    setImmediate(() => {
      this.syncScheduled = false;
      void this.syncLoop();
    });
  }

  /** The changes of one applied write at revision rev. Must be called for every revision, in order. */
  notify(rev: number, changes: Change[]): void {
    if (rev <= this.rev) return;
    if (rev !== this.rev + 1) this.fallBehindAll();
    this.rev = rev;
    if (this.synced.size === 0) return;
    const events = changes.map(toEvent);
    const out: { w: Watcher; batch: EventBatch }[] = [];
    if (events.length === 1) {
      const ev = events[0];
      let plain: EventBatch | undefined;
      let withPrev: EventBatch | undefined;
      this.synced.forEachMatching(ev.kv.key, (w) => {
        if (rev < w.minRev || w.filters(ev)) return;
        const batch = w.prevKv ? (withPrev ??= new EventBatch(events, true)) : (plain ??= new EventBatch(events, false));
        out.push({ w, batch });
      });
    } else {
      const picks = new Map<Watcher, number[]>();
      for (let i = 0; i < events.length; i++) {
        const ev = events[i];
        this.synced.forEachMatching(ev.kv.key, (w) => {
          if (rev < w.minRev || w.filters(ev)) return;
          const list = picks.get(w);
          if (list) list.push(i);
          else picks.set(w, [i]);
        });
      }
      const batches = new Map<string, EventBatch>();
      for (const [w, idx] of picks) {
        const sig = (w.prevKv ? 'p' : '') + idx.join(',');
        let batch = batches.get(sig);
        if (!batch) batches.set(sig, (batch = new EventBatch(idx.length === events.length ? events : idx.map((i) => events[i]), w.prevKv)));
        out.push({ w, batch });
      }
    }
    let fellBehind = false;
    for (const { w, batch } of out) {
      if (w.state !== WatcherState.Synced) continue;
      if (w.owner.writable) {
        w.owner.deliver(w, batch, rev, rev);
      } else {
        // A slow owner: forget the events, read them again from history once it keeps up.
        this.synced.delete(w);
        w.minRev = rev;
        w.state = WatcherState.Unsynced;
        this.unsynced.add(w);
        fellBehind = true;
      }
    }
    if (fellBehind) this.kick();
  }

  close(): void {
    this.closed = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** Revisions were applied without notifications (a snapshot replaced the state): every synced watcher catches up from history. */
  private fallBehindAll(): void {
    for (const w of [...this.synced]) {
      this.synced.delete(w);
      w.minRev = Math.max(w.minRev, this.rev + 1);
      w.state = WatcherState.Unsynced;
      this.unsynced.add(w);
    }
    this.kick();
  }

  private checkGap(): void {
    if (this.closed) return;
    const cur = this.history.currentRev();
    if (cur > this.rev) {
      this.fallBehindAll();
      this.rev = cur;
    }
  }

  private async syncLoop(): Promise<void> {
    if (this.syncing || this.closed) return;
    this.syncing = true;
    try {
      while (!this.closed && (await this.syncOnce()));
    } catch (err) {
      (this.opts.onError ?? ((e) => console.error('edgecd: watch catch-up failed, retrying:', e)))(err);
      if (!this.closed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, this.opts.retryMs ?? 1000);
        this.retryTimer.unref?.();
      }
    } finally {
      this.syncing = false;
    }
  }

  /** One catch-up round (etcd's syncWatchers). Returns whether there may be more to do. */
  private async syncOnce(): Promise<boolean> {
    const chosen: Watcher[] = [];
    const compactRev = this.history.compactRev();
    let dropped = false;
    for (const w of this.unsynced) {
      if (!w.owner.writable) continue;
      if (w.compactedAt(compactRev)) {
        this.dropCompacted(w, compactRev);
        dropped = true;
        continue;
      }
      chosen.push(w);
      if (chosen.length >= this.maxWatchersPerSync) break;
    }
    if (chosen.length === 0) return dropped;

    const until = this.rev;
    let minRev = Infinity;
    for (const w of chosen) minRev = Math.min(minRev, w.minRev);
    if (minRev > until) {
      for (const w of chosen) this.toSynced(w);
      return true;
    }
    const { rows, through } = await this.readRevisions(minRev - 1, until);
    const events = rows.map(rowToEvent);

    // Each watcher takes the events it wants; watchers wanting the same ones share a batch.
    const batches = new Map<string, EventBatch>();
    const plan: { w: Watcher; batch: EventBatch | undefined }[] = [];
    const needPrev = new Set<WatchEvent>();
    const compactNow = this.history.compactRev();
    for (const w of chosen) {
      if (w.state !== WatcherState.Unsynced) continue;
      // A compaction during the read may have removed rows the watcher needed.
      if (w.compactedAt(compactNow)) {
        this.dropCompacted(w, compactNow);
        continue;
      }
      const sig = `${w.minRev}|${w.filterMask}|${w.prevKv ? 1 : 0}|${w.key.length}:${w.key}|${w.end ?? '\u0100'}`;
      let batch = batches.get(sig);
      if (batch === undefined && !batches.has(sig)) {
        const picked: WatchEvent[] = [];
        for (const ev of events) if (ev.kv.modRevision >= w.minRev && w.matches(ev.kv.key) && !w.filters(ev)) picked.push(ev);
        batch = picked.length ? new EventBatch(picked, w.prevKv) : undefined;
        batches.set(sig, batch as EventBatch);
        if (batch && w.prevKv) for (const ev of picked) if (!ev.prevLoaded) needPrev.add(ev);
      }
      plan.push({ w, batch });
    }
    if (needPrev.size) {
      const evs = [...needPrev].filter((e) => !isCreateEvent(e));
      const prevs = await this.history.valuesAt(evs.map((e) => ({ key: e.kv.key, rev: e.kv.modRevision - 1 })));
      evs.forEach((e, i) => (e.prevKv = prevs[i]));
      for (const e of needPrev) e.prevLoaded = true;
    }
    for (const { w, batch } of plan) {
      if (w.state !== WatcherState.Unsynced) continue;
      if (batch) w.owner.deliver(w, batch, until, through);
      // A watcher further ahead than what this round read keeps its place.
      if (through + 1 > w.minRev) w.minRev = through + 1;
      if (w.minRev > this.rev) this.toSynced(w);
    }
    return true;
  }

  /** Reads whole revisions in (after, until]: as many as fit the row budget, at least one. */
  private async readRevisions(after: number, until: number): Promise<{ rows: RevisionRow[]; through: number }> {
    const limit = this.maxRowsPerSync;
    const rows = await this.history.rows(after, until, limit);
    if (rows.length < limit) return { rows, through: until };
    const last = rows[rows.length - 1].main;
    if (rows[0].main === last) {
      // One revision larger than the budget: read all of it.
      return { rows: await this.history.rows(last - 1, last, UNBOUNDED), through: last };
    }
    let n = rows.length;
    while (rows[n - 1].main === last) n--;
    rows.length = n;
    return { rows, through: last - 1 };
  }

  private toSynced(w: Watcher): void {
    this.unsynced.delete(w);
    w.state = WatcherState.Synced;
    this.synced.add(w);
    w.owner.synced?.(w);
  }

  private dropCompacted(w: Watcher, compactRev: number): void {
    this.unsynced.delete(w);
    w.state = WatcherState.Canceled;
    w.owner.compacted(w, compactRev);
  }
}

function toEvent(c: Change): WatchEvent {
  return { type: c.tombstone ? EventType.DELETE : EventType.PUT, kv: c.kv, prevKv: c.prev, prevLoaded: true };
}

function rowToEvent(r: RevisionRow): WatchEvent {
  const kv: KeyValue = r.tombstone
    ? { key: r.key, createRevision: 0, modRevision: r.main, version: 0, value: '', lease: 0n }
    : { key: r.key, createRevision: r.createRev, modRevision: r.main, version: r.version, value: r.value, lease: r.lease };
  return { type: r.tombstone ? EventType.DELETE : EventType.PUT, kv, prevLoaded: false };
}
