import { createRequest, type FeedOptions, type FeedSpec, type FeedStats } from './feed-spec.ts';
import type { Upstream, UpstreamWatch, UpstreamWatchMessage, UpstreamWatchResponse } from './upstream.ts';

/** The header fields of the cluster behind a feed, as its last answer gave them ('0' until one came). */
export interface FeedHeader {
  cluster_id: string;
  member_id: string;
  raft_term: string;
}

/** What a feed's upstream watch tells the feed, and asks of it. */
export interface FeedWatchHost {
  /** Whether the feed is live: progress requests and stall detection run only then. */
  readonly live: boolean;
  /** Where a new upstream watch starts: 0 = from now (the feed's first watch), else the revision after the last one delivered. */
  startRevision(): number;
  /** The token to open the watch with (a joined subscriber's), or undefined. */
  token(): string | undefined;
  /** The member created the watch; `rev` is its header revision. */
  created(rev: number): void;
  /** A response that is neither created nor canceled: events, or a progress answer. */
  response(r: UpstreamWatchResponse): void;
  /** The range was compacted past the revision the watch asked to start from. */
  compacted(compactRev: number): void;
  /** The member refused the token the watch was opened with; the stream is closed. The feed closes, or calls open() with another token. */
  refused(reason: string, token: string | undefined): void;
  /** The stream ended, failed or stalled: it is watched again on the next endpoint after a backoff. */
  lost(): void;
}

/**
 * The upstream side of a feed: one gateway watch stream on a member, and its lifecycle. Opens it
 * (from now, or from the revision after the last delivered), asks the member for progress while
 * the feed is idle, takes a progress request unanswered for stallMs as a hung stream, and when
 * the stream ends, fails or hangs marks the endpoint failed and watches again on the next one,
 * with a backoff (50 ms doubling to 2 s, reset by a created answer).
 */
export class FeedWatch {
  header: FeedHeader = { cluster_id: '0', member_id: '0', raft_term: '0' };
  private watch: UpstreamWatch | undefined;
  private watchToken: string | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = 50;
  private eventsSinceTick = false;
  private progressAskedAt = 0;
  private closed = false;

  constructor(
    private readonly spec: FeedSpec,
    private readonly upstream: Upstream,
    private readonly stats: FeedStats,
    private readonly opts: FeedOptions,
    private readonly host: FeedWatchHost,
  ) {}

  /** Opens the stream unless one is open or a retry is pending. */
  start(): void {
    if (!this.watch && !this.retryTimer) this.open();
  }

  /** The feed delivered events: the next progress tick is skipped (the stream is alive). */
  sawEvents(): void {
    this.eventsSinceTick = true;
  }

  /**
   * Asks the member for progress now (a gateway stream waits for its answer): the answer moves the
   * feed's `delivered` to the member's revision. Counts for stall detection as the tick's own.
   */
  askProgress(): void {
    const w = this.watch;
    if (!w || !this.host.live) return;
    if (!this.progressAskedAt) this.progressAskedAt = Date.now();
    w.send({ progress_request: {} });
  }

  open(): void {
    if (this.closed) return;
    const startRev = this.host.startRevision();
    this.watchToken = this.host.token();
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const w = this.watch;
    this.watch = undefined;
    w?.close();
    if (this.progressTimer) clearInterval(this.progressTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private tick(): void {
    const w = this.watch;
    if (!w || !this.host.live) return;
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
      return this.host.created(Number(r.header?.revision ?? 0));
    }
    if (r.canceled) {
      if (r.compact_revision) return this.host.compacted(Number(r.compact_revision));
      return this.drop(w, new Error(r.cancel_reason ?? 'upstream watch canceled'));
    }
    this.host.response(r);
  }

  private ended(w: UpstreamWatch, err?: Error & { status?: number; body?: string }): void {
    if (this.closed || this.watch !== w) return;
    if (err?.status === 401 || err?.status === 403) return this.refused(w, tokenError(err));
    this.watch = undefined;
    this.upstream.failed(w.endpoint);
    this.host.lost();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, this.backoffMs);
    this.retryTimer.unref?.();
    this.backoffMs = Math.min(this.backoffMs * 2, 2_000);
  }

  private refused(w: UpstreamWatch, reason: string): void {
    if (this.watch !== w) return;
    this.watch = undefined;
    w.close();
    this.host.refused(reason, this.watchToken);
  }
}

function tokenError(err: Error & { body?: string }): string {
  try {
    return (JSON.parse(err.body ?? '') as { error?: string }).error ?? err.message;
  } catch {
    return err.message;
  }
}
