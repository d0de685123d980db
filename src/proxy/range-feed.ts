import { batchOf, sliceAfter, type LogBatch } from './batch.ts';
import type { EventLog } from './event-log.ts';
import { FeedHistory, type History } from './feed-history.ts';
import { BatchRing } from './feed-ring.ts';
import { DEFAULT_FEED_OPTIONS, feedId, type FeedOptions, type FeedSpec, type FeedStats, type FeedSubscriber } from './feed-spec.ts';
import { FeedWatch } from './feed-watch.ts';
import type { HeaderInfo } from '../api/json/encode.ts';
import type { Upstream, UpstreamWatchResponse } from './upstream.ts';

export { DEFAULT_FEED_OPTIONS, createRequest, feedId, type FeedOptions, type FeedSpec, type FeedStats, type FeedSubscriber } from './feed-spec.ts';

/**
 * One upstream watch for a range (feed-watch.ts), fanned out to its subscribers. Keeps the last
 * batches in memory (feed-ring.ts) and appends each to the shared event log. A subscriber that
 * starts in the past, resumes, or falls behind replays from the ring when it reaches back far
 * enough, otherwise from the event log, and for what neither has, from a catch-up watch on the
 * cluster (feed-history.ts). Each subscriber gets a revision once: the feed passes it only what
 * lies after its `sent`.
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
  private readonly ring: BatchRing;
  readonly subs = new Set<FeedSubscriber>();
  private pending: { sub: FeedSubscriber; after: number | undefined }[] = [];
  private readonly tokens: string[] = [];
  private readonly upstreamWatch: FeedWatch;
  private readonly history: FeedHistory;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly catching = new Set<FeedSubscriber>();
  private afterProgress: (() => void)[] = [];
  /** Called with each batch (read-cache invalidation) and when the feed loses its upstream. */
  onBatch?: (b: LogBatch) => void;
  onDisconnect?: () => void;

  constructor(
    readonly spec: FeedSpec,
    upstream: Upstream,
    private readonly log: EventLog,
    stats: FeedStats,
    private readonly opts: FeedOptions = DEFAULT_FEED_OPTIONS,
    private readonly onClosed: (f: RangeFeed) => void = () => {},
  ) {
    this.id = feedId(spec);
    this.ring = new BatchRing(opts.ringSize);
    const lastToken = () => this.tokens[this.tokens.length - 1];
    this.history = new FeedHistory(spec, upstream, log, stats, opts, () => this.logName, lastToken);
    const feed = this;
    this.upstreamWatch = new FeedWatch(spec, upstream, stats, opts, {
      get live() {
        return feed.state === 'live';
      },
      startRevision: () => (this.state === 'starting' ? 0 : this.delivered + 1),
      token: lastToken,
      created: (rev) => this.created(rev),
      response: (r) => this.response(r),
      compacted: (rev) => this.compactedAll(rev),
      refused: (reason, token) => this.refused(reason, token),
      lost: () => {
        if (this.state === 'live') this.state = 'rewatching';
        this.cacheable = false;
        this.onDisconnect?.();
      },
    });
  }

  /** The cluster behind the feed ('0' until its first answer): shared stores keep clusters apart by it. */
  get clusterId(): string {
    return this.upstreamWatch.header.cluster_id;
  }

  /** The feed's name in the shared event log: its range, in its cluster. */
  get logName(): string {
    return `${this.clusterId}/${this.id}`;
  }

  /** The ring has every event in (ringFrom, delivered]. */
  get ringFrom(): number {
    return this.ring.from;
  }

  /** The cluster's header fields as the feed's member last gave them (for answers built with src/api's encoders). */
  get headerInfo(): HeaderInfo {
    const h = this.upstreamWatch.header;
    return { clusterId: h.cluster_id, memberId: h.member_id, raftTerm: Number(h.raft_term) };
  }

  /**
   * Asks the member for progress now: `delivered`, and every live subscriber's `sent`, reach its
   * revision; `then` runs at the next progress answer (a re-watching feed's first).
   */
  askProgress(then?: () => void): void {
    if (then) this.afterProgress.push(then);
    this.upstreamWatch.askProgress();
  }

  /** The header every answer carries, at revision rev. */
  headerJson(rev: number): string {
    const h = this.upstreamWatch.header;
    const parts: string[] = [];
    if (h.cluster_id !== '0') parts.push(`"cluster_id":"${h.cluster_id}"`);
    if (h.member_id !== '0') parts.push(`"member_id":"${h.member_id}"`);
    if (rev) parts.push(`"revision":"${rev}"`);
    if (h.raft_term !== '0') parts.push(`"raft_term":"${h.raft_term}"`);
    return `{${parts.join(',')}}`;
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
      this.upstreamWatch.start();
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

  // ---- what the upstream watch says

  private created(rev: number): void {
    if (this.state !== 'starting') {
      this.state = 'live';
      return;
    }
    this.start = this.delivered = this.lastEventRev = this.ring.from = rev;
    this.state = 'live';
    this.cacheable = true;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) this.admit(p.sub, p.after);
  }

  private response(r: UpstreamWatchResponse): void {
    const b = batchOf(r, this.delivered);
    if (b) return this.publish(b);
    // A progress answer: no event at or below its revision is still to come.
    const rev = Number(r.header?.revision ?? 0);
    if (this.state === 'live') this.cacheable = true;
    if (rev > this.delivered) {
      this.delivered = rev;
      const hdr = this.headerJson(rev);
      for (const s of this.subs) if (s.live && s.wantsProgress && s.sent < rev) (s.sent = rev), s.progress(rev, hdr);
      for (const s of this.subs) if (s.live && s.sent < rev) s.sent = rev;
    }
    if (this.afterProgress.length) {
      const then = this.afterProgress;
      this.afterProgress = [];
      for (const fn of then) fn();
    }
  }

  /** Fans a batch out to every live subscriber, each given only what lies after its `sent`. */
  private publish(b0: LogBatch): void {
    const b = sliceAfter(b0, this.delivered);
    if (!b) return;
    this.upstreamWatch.sawEvents();
    this.delivered = b.rev;
    this.lastEventRev = b.rev;
    this.ring.push(b);
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

  /** The member refused the token the watch was opened with: try another subscriber's, or end them all. */
  private refused(reason: string, watchToken: string | undefined): void {
    const i = watchToken === undefined ? -1 : this.tokens.indexOf(watchToken);
    if (i >= 0) {
      this.tokens.splice(i, 1);
      for (const s of [...this.subs]) if (s.token === watchToken) this.cancelSub(s, reason);
    } else for (const s of [...this.subs]) if (s.token === undefined) this.cancelSub(s, reason);
    if (this.subs.size === 0 || this.tokens.length === 0) {
      for (const s of [...this.subs]) this.cancelSub(s, reason);
      return this.close();
    }
    this.cacheable = false;
    this.onDisconnect?.();
    this.upstreamWatch.open();
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
    this.afterProgress = [];
    this.upstreamWatch.close();
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.cacheable = false;
    this.onDisconnect?.();
    this.onClosed(this);
  }

  // ---- a subscriber catching up: from the ring, else the history

  private async catchUp(sub: FeedSubscriber): Promise<void> {
    if (this.catching.has(sub)) return;
    this.catching.add(sub);
    try {
      for (let attempt = 0; ; attempt++) {
        if (sub.closed || !this.subs.has(sub) || this.state === 'closed') return;
        if (sub.sent >= this.ring.from) {
          for (let i = this.ring.first; i < this.ring.end; i++) {
            const b = this.ring.at(i);
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
          h = await this.history.read(sub.sent, this.ring.from);
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
}
