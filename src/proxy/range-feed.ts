import { batchOf, sliceAfter, type LogBatch } from './batch.ts';
import type { EventLog } from './event-log.ts';
import type { Upstream, UpstreamWatch, UpstreamWatchMessage, UpstreamWatchResponse } from './upstream.ts';

/** The watch a feed keeps upstream: every subscriber with the same spec shares it. */
export interface FeedSpec {
  /** Byte strings (latin1), as src/api's watch parameters give them: end undefined = the one key, '' = every key from key on. */
  key: string;
  end: string | undefined;
  prevKv: boolean;
  filters: number[];
}

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** The spec's identity: subscribers whose specs give the same id share one upstream watch. */
export function feedId(s: FeedSpec): string {
  return `${b64(s.key)}|${s.end === undefined ? '-' : b64(s.end)}|${s.prevKv ? 1 : 0}|${[...new Set(s.filters)].sort().join(',')}`;
}

/** The spec as a gateway create_request (base64 bytes; "\0" as range_end = every key from key on). */
export function createRequest(s: FeedSpec, startRevision: number): object {
  return {
    create_request: {
      key: b64(s.key),
      ...(s.end === undefined ? {} : { range_end: s.end === '' ? 'AA==' : b64(s.end) }),
      ...(startRevision > 0 ? { start_revision: String(startRevision) } : {}),
      ...(s.prevKv ? { prev_kv: true } : {}),
      ...(s.filters.length ? { filters: [...new Set(s.filters)].sort() } : {}),
    },
  };
}

/** One subscriber of a feed (an SSE stream): the feed decides what it gets, the subscriber writes it. */
export interface FeedSubscriber {
  /** Every event of the range up to `sent` has been written to it. */
  sent: number;
  /** Taking live events; false while it is catching up or fell behind. */
  live: boolean;
  readonly token: string | undefined;
  readonly wantsProgress: boolean;
  /** Whether it can take more bytes now. */
  readonly writable: boolean;
  readonly closed: boolean;
  created(after: number, header: string): void;
  /** Writes b (every event of b is after `sent`) and sets sent = b.rev. */
  deliver(b: LogBatch): void;
  progress(rev: number, header: string): void;
  compacted(compactRev: number, header: string): void;
  canceled(reason: string, header: string): void;
}

export interface FeedOptions {
  /** Batches kept in memory for subscribers that resume or fall behind. */
  ringSize: number;
  /** An idle feed asks the member for progress this often: it moves `delivered` on and proves the stream alive. */
  progressMs: number;
  /** A progress request unanswered this long means the stream hangs: it is dropped and watched again. */
  stallMs: number;
  /** How long a feed without subscribers keeps its upstream watch. */
  lingerMs: number;
  /** A catch-up from the cluster that has not reached its target by then is retried. */
  catchUpTimeoutMs: number;
}

export const DEFAULT_FEED_OPTIONS: FeedOptions = { ringSize: 4096, progressMs: 1_000, stallMs: 10_000, lingerMs: 2_000, catchUpTimeoutMs: 30_000 };

/** What a catch-up found: batches after its start, complete up to `through`; or the start was compacted. */
interface History {
  batches: LogBatch[];
  through: number;
  compacted?: number;
}

export interface FeedStats {
  /** Upstream watches open now: each feed's own, plus catch-ups from the cluster. */
  upstreamWatches: number;
  catchUps: number;
  logHits: number;
}

/**
 * One upstream watch for a range, fanned out to its subscribers. Keeps the last batches in memory
 * (the ring) and appends each to the shared event log. A subscriber that starts in the past,
 * resumes, or falls behind replays from the ring when it reaches back far enough, otherwise from
 * the event log, and for what neither has, from a catch-up watch on the cluster (one per start
 * revision, however many subscribers need it). Each subscriber gets a revision once: the feed
 * passes it only what lies after its `sent`.
 * When the upstream stream ends or stalls, the feed watches again from the last revision it
 * delivered, on the next endpoint.
 */
export class RangeFeed {
  readonly id: string;
  state: 'starting' | 'live' | 'rewatching' | 'closed' = 'starting';
  /** Every event of the range up to `delivered` has reached the ring (0 until the first created). */
  delivered = 0;
  /** The revision the feed started after. */
  start = 0;
  /** The highest revision of an event seen: a cached read at or above it is still the range's state. */
  lastEventRev = 0;
  /** Whether the feed is synced with the cluster (false from a disconnect until a progress answer after the re-watch). */
  cacheable = false;
  private ring: LogBatch[] = [];
  private ringHead = 0;
  /** The ring has every event in (ringFrom, delivered]. */
  ringFrom = 0;
  readonly subs = new Set<FeedSubscriber>();
  private pending: { sub: FeedSubscriber; after: number | undefined }[] = [];
  private watch: UpstreamWatch | undefined;
  private watchToken: string | undefined;
  private readonly tokens: string[] = [];
  private header = { cluster_id: '0', member_id: '0', raft_term: '0' };
  private progressTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = 50;
  private eventsSinceTick = false;
  private progressAskedAt = 0;
  private readonly catchUps = new Map<number, Promise<History>>();
  private readonly catching = new Set<FeedSubscriber>();
  /** Called with each batch (read-cache invalidation) and when the feed loses its upstream. */
  onBatch?: (b: LogBatch) => void;
  onDisconnect?: () => void;

  constructor(
    readonly spec: FeedSpec,
    private readonly upstream: Upstream,
    private readonly log: EventLog,
    private readonly stats: FeedStats,
    private readonly opts: FeedOptions = DEFAULT_FEED_OPTIONS,
    private readonly onClosed: (f: RangeFeed) => void = () => {},
  ) {
    this.id = feedId(spec);
  }

  /** The cluster behind the feed ('0' until its first answer): shared stores keep clusters apart by it. */
  get clusterId(): string {
    return this.header.cluster_id;
  }

  /** The feed's name in the shared event log: its range, in its cluster. */
  get logName(): string {
    return `${this.header.cluster_id}/${this.id}`;
  }

  /** The header every answer carries, at revision rev. */
  headerJson(rev: number): string {
    const h = this.header;
    let s = '{';
    const parts: string[] = [];
    if (h.cluster_id !== '0') parts.push(`"cluster_id":"${h.cluster_id}"`);
    if (h.member_id !== '0') parts.push(`"member_id":"${h.member_id}"`);
    if (rev) parts.push(`"revision":"${rev}"`);
    if (h.raft_term !== '0') parts.push(`"raft_term":"${h.raft_term}"`);
    s += parts.join(',');
    return s + '}';
  }

  /**
   * Adds a subscriber: from now (after undefined), or with every event after revision `after`
   * (a start_revision - 1, a Last-Event-ID).
   */
  join(sub: FeedSubscriber, after: number | undefined): void {
    if (this.state === 'closed') throw new Error('feed closed');
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (sub.token !== undefined && !this.tokens.includes(sub.token)) this.tokens.push(sub.token);
    this.subs.add(sub);
    if (this.state === 'starting') {
      this.pending.push({ sub, after });
      if (!this.watch && !this.retryTimer) this.open();
      return;
    }
    this.admit(sub, after);
  }

  private admit(sub: FeedSubscriber, after: number | undefined): void {
    if (sub.closed) return void this.leave(sub);
    const from = after ?? this.delivered;
    sub.sent = from;
    sub.live = false;
    sub.created(from, this.headerJson(Math.max(this.delivered, 1)));
    void this.catchUp(sub);
  }

  leave(sub: FeedSubscriber): void {
    if (!this.subs.delete(sub)) return;
    this.catching.delete(sub);
    if (sub.token !== undefined && ![...this.subs].some((s) => s.token === sub.token)) {
      const i = this.tokens.indexOf(sub.token);
      if (i >= 0) this.tokens.splice(i, 1);
    }
    if (this.subs.size === 0 && this.state !== 'closed') {
      this.lingerTimer = setTimeout(() => this.subs.size === 0 && this.close(), this.opts.lingerMs);
      this.lingerTimer.unref?.();
    }
  }

  /** A subscriber's buffer emptied after it fell behind: it catches up. */
  resume(sub: FeedSubscriber): void {
    if (!sub.live && this.subs.has(sub) && this.state !== 'starting') void this.catchUp(sub);
  }

  // ---- the upstream watch

  private open(): void {
    if (this.state === 'closed') return;
    const startRev = this.state === 'starting' ? 0 : this.delivered + 1;
    this.watchToken = this.tokens[this.tokens.length - 1];
    let w: UpstreamWatch | undefined = undefined;
    let ended = false;
    const watch = this.upstream.watch(this.watchToken, {
      onMessage: (m) => {
        if (w && w === this.watch) this.message(m, w);
      },
      onEnd: (err) => {
        if (ended) return;
        ended = true;
        this.stats.upstreamWatches--;
        this.ended(w!, err);
      },
    });
    w = watch;
    this.watch = watch;
    this.stats.upstreamWatches++;
    this.progressAskedAt = 0;
    watch.send(createRequest(this.spec, startRev));
    if (!this.progressTimer) {
      this.progressTimer = setInterval(() => this.tick(), this.opts.progressMs);
      this.progressTimer.unref?.();
    }
  }

  private tick(): void {
    const w = this.watch;
    if (!w || this.state !== 'live') return;
    const now = Date.now();
    if (this.progressAskedAt && now - this.progressAskedAt > this.opts.stallMs) {
      // No answer to a progress request for stallMs: the member hangs. Watch elsewhere.
      this.drop(w, new Error('upstream watch stalled'));
      return;
    }
    if (this.eventsSinceTick) {
      this.eventsSinceTick = false;
      return;
    }
    if (!this.progressAskedAt) {
      this.progressAskedAt = now;
      w.send({ progress_request: {} });
    }
  }

  private drop(w: UpstreamWatch, err: Error): void {
    this.ended(w, err);
    w.close();
  }

  private message(m: UpstreamWatchMessage, w: UpstreamWatch): void {
    if (m.error || !m.result) return this.drop(w, new Error(m.error?.message ?? 'upstream watch error'));
    const r = m.result;
    this.progressAskedAt = 0;
    if (r.header) {
      this.header = { cluster_id: r.header.cluster_id ?? '0', member_id: r.header.member_id ?? '0', raft_term: r.header.raft_term ?? '0' };
    }
    if (r.created) {
      if (r.canceled) return this.refused(w, r.cancel_reason ?? 'watch refused');
      this.backoffMs = 50;
      if (this.state === 'starting') {
        const rev = Number(r.header?.revision ?? 0);
        this.start = this.delivered = this.ringFrom = this.lastEventRev = rev;
        this.state = 'live';
        this.cacheable = true;
        const pending = this.pending;
        this.pending = [];
        for (const p of pending) this.admit(p.sub, p.after);
      } else this.state = 'live';
      return;
    }
    if (r.canceled) {
      if (r.compact_revision) return this.compactedAll(Number(r.compact_revision));
      return this.drop(w, new Error(r.cancel_reason ?? 'upstream watch canceled'));
    }
    const b = batchOf(r, this.delivered);
    if (!b) {
      // A progress answer: no event at or below its revision is still to come.
      const rev = Number(r.header?.revision ?? 0);
      if (this.state === 'live') this.cacheable = true;
      if (rev > this.delivered) {
        this.delivered = rev;
        const hdr = this.headerJson(rev);
        for (const s of this.subs) if (s.live && s.wantsProgress && s.sent < rev) (s.sent = rev), s.progress(rev, hdr);
        for (const s of this.subs) if (s.live && s.sent < rev) s.sent = rev;
      }
      return;
    }
    this.publish(b);
  }

  private publish(b0: LogBatch): void {
    const b = sliceAfter(b0, this.delivered);
    if (!b) return;
    this.eventsSinceTick = true;
    this.delivered = b.rev;
    this.lastEventRev = b.rev;
    this.ring.push(b);
    if (this.ring.length - this.ringHead > this.opts.ringSize) {
      this.ringFrom = this.ring[this.ringHead].rev;
      this.ringHead++;
      if (this.ringHead > 1024) {
        this.ring = this.ring.slice(this.ringHead);
        this.ringHead = 0;
      }
    }
    this.log.append(this.logName, b);
    this.onBatch?.(b);
    for (const s of this.subs) {
      if (!s.live || b.rev <= s.sent) continue;
      if (!s.writable) {
        s.live = false;
        continue;
      }
      s.deliver(b.minRev > s.sent ? b : sliceAfter(b, s.sent)!);
    }
  }

  private ended(w: UpstreamWatch, err?: Error & { status?: number; body?: string }): void {
    if (this.state === 'closed' || this.watch !== w) return;
    if (err?.status === 401 || err?.status === 403) return this.refused(w, tokenError(err));
    this.watch = undefined;
    this.upstream.failed(w.endpoint);
    if (this.state === 'live') this.state = 'rewatching';
    this.cacheable = false;
    this.onDisconnect?.();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, this.backoffMs);
    this.retryTimer.unref?.();
    this.backoffMs = Math.min(this.backoffMs * 2, 2_000);
  }

  /** The member refused the token the watch was opened with: try another subscriber's, or end them all. */
  private refused(w: UpstreamWatch, reason: string): void {
    if (this.watch !== w) return;
    this.watch = undefined;
    w.close();
    const i = this.watchToken === undefined ? -1 : this.tokens.indexOf(this.watchToken);
    if (i >= 0) {
      this.tokens.splice(i, 1);
      for (const s of [...this.subs]) if (s.token === this.watchToken) this.cancelSub(s, reason);
    } else for (const s of [...this.subs]) if (s.token === undefined) this.cancelSub(s, reason);
    if (this.subs.size === 0 || this.tokens.length === 0) {
      for (const s of [...this.subs]) this.cancelSub(s, reason);
      return this.close();
    }
    this.cacheable = false;
    this.onDisconnect?.();
    this.open();
  }

  private cancelSub(s: FeedSubscriber, reason: string): void {
    s.canceled(reason, this.headerJson(this.delivered));
    this.leave(s);
  }

  private compactedAll(compactRev: number): void {
    const hdr = this.headerJson(0);
    for (const s of [...this.subs]) s.compacted(compactRev, hdr);
    this.subs.clear();
    this.close();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const w = this.watch;
    this.watch = undefined;
    w?.close();
    if (this.progressTimer) clearInterval(this.progressTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.cacheable = false;
    this.onDisconnect?.();
    this.onClosed(this);
  }

  // ---- catching up

  private async catchUp(sub: FeedSubscriber): Promise<void> {
    if (this.catching.has(sub)) return;
    this.catching.add(sub);
    try {
      for (let attempt = 0; ; attempt++) {
        if (sub.closed || !this.subs.has(sub) || this.state === 'closed') return;
        if (sub.sent >= this.ringFrom) {
          for (let i = this.ringHead; i < this.ring.length; i++) {
            const b = this.ring[i];
            if (b.rev <= sub.sent) continue;
            if (!sub.writable) return; // behind: resume() continues on drain
            sub.deliver(b.minRev > sub.sent ? b : sliceAfter(b, sub.sent)!);
          }
          if (sub.sent < this.delivered) sub.sent = this.delivered;
          sub.live = true;
          return;
        }
        let h: History;
        try {
          h = await this.history(sub.sent);
        } catch {
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2_000)));
          continue;
        }
        if (h.compacted !== undefined) {
          sub.compacted(h.compacted, this.headerJson(0));
          this.leave(sub);
          return;
        }
        for (const b0 of h.batches) {
          if (sub.closed) return;
          const b = sliceAfter(b0, sub.sent);
          if (!b) continue;
          if (!sub.writable) return;
          sub.deliver(b);
        }
        if (h.through > sub.sent) sub.sent = h.through;
      }
    } finally {
      this.catching.delete(sub);
    }
  }

  /** Every event after `after` up to at least where the ring began: from the event log, then the cluster. */
  private async history(after: number): Promise<History> {
    const target = this.ringFrom;
    let batches: LogBatch[] = [];
    let through = after;
    const logged = await this.log.read(this.logName, after);
    if (logged) {
      batches = logged.batches;
      through = logged.through;
      if (logged.batches.length) this.stats.logHits++;
    }
    if (through >= target) return { batches, through };
    let p = this.catchUps.get(through);
    if (!p) {
      const from = through;
      p = this.fromCluster(from, target).finally(() => this.catchUps.delete(from));
      this.catchUps.set(from, p);
    }
    const h = await p;
    return { batches: batches.concat(h.batches), through: h.through, compacted: h.compacted };
  }

  /** A watch from after + 1, read until a progress answer says it has reached target. */
  private fromCluster(after: number, target: number): Promise<History> {
    this.stats.catchUps++;
    return new Promise<History>((resolve, reject) => {
      const batches: LogBatch[] = [];
      let through = after;
      let done = false;
      let w: UpstreamWatch | undefined;
      const finish = (err?: Error, h?: History) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        w?.close();
        if (err) reject(err);
        else resolve(h!);
      };
      const timer = setTimeout(() => finish(new Error('catch-up timed out')), this.opts.catchUpTimeoutMs);
      timer.unref?.();
      const ask = () => !done && w?.send({ progress_request: {} });
      const token = this.tokens[this.tokens.length - 1];
      let open = true;
      w = this.upstream.watch(token, {
        onMessage: (m) => {
          if (done) return;
          const r: UpstreamWatchResponse | undefined = m.result;
          if (!r || m.error) return finish(new Error(m.error?.message ?? 'catch-up error'));
          if (r.created) {
            if (r.canceled) return finish(new Error(r.cancel_reason ?? 'catch-up refused'));
            return void ask();
          }
          if (r.canceled) {
            if (r.compact_revision) return finish(undefined, { batches: [], through: after, compacted: Number(r.compact_revision) });
            return finish(new Error(r.cancel_reason ?? 'catch-up canceled'));
          }
          const b = batchOf(r, through);
          if (b) {
            batches.push(b);
            through = Math.max(through, b.rev);
            return;
          }
          const rev = Number(r.header?.revision ?? 0);
          if (rev > through) through = rev;
          if (through >= target) finish(undefined, { batches, through });
          else setTimeout(ask, 20).unref?.();
        },
        onEnd: (err) => {
          if (open) this.stats.upstreamWatches--;
          open = false;
          if (!done && w) this.upstream.failed(w.endpoint);
          finish(err ?? new Error('catch-up stream ended'));
        },
      });
      this.stats.upstreamWatches++;
      w.send(createRequest(this.spec, after + 1));
    });
  }
}

function tokenError(err: Error & { body?: string }): string {
  try {
    return (JSON.parse(err.body ?? '') as { error?: string }).error ?? err.message;
  } catch {
    return err.message;
  }
}
