import type { BytesEncoding } from '../api/json/bytes-encoding.ts';
import type { HeaderInfo } from '../api/json/encode.ts';
import type { WatchCreateRequest, WatchRequest } from '../api/json/watch-messages.ts';
import { gatewayStreamError, watchResponseJson, type WatchResponseFields } from '../api/watch/encode.ts';
import { emptyRange, watchRange } from '../api/watch/gateway-session.ts';
import type { WatchLimits } from '../api/watch/session.ts';
import type { EventSink } from '../api/watch/sink.ts';
import { closeAfterLastWords, SlowReader } from '../api/watch/slow-reader.ts';
import type { FeedSpec } from './feed-spec.ts';
import { PrivateWatches } from './gateway-private.ts';
import { GatewayWatcher, type WatcherStream } from './gateway-watcher.ts';
import type { RangeFeed } from './range-feed.ts';
import type { Upstream } from './upstream.ts';
import type { ClusterHeader, WatchChecker } from './watch-check.ts';

/** What a gateway stream needs of the proxy. */
export interface GatewayHost {
  feedFor(spec: FeedSpec): RangeFeed;
  readonly checker: WatchChecker;
  readonly upstream: Upstream;
  readonly stats: ConstructorParameters<typeof PrivateWatches>[1];
}

/** A watch id taken by a watcher that gets nothing more (compacted), or one on the private stream. */
type Slot = GatewayWatcher | 'compacted' | 'private';

/**
 * One POST /v3/watch stream through the proxy, answering as a member's GatewayWatchSession
 * (src/api/watch/gateway-session.ts) does, from the shared feeds: watch ids per stream from 0 (or
 * the client's), created with the member's revision, events as the member wrote them, cancel,
 * compaction, progress requests and progress notifications, the member's refusals. Requests are
 * handled one after another, as a member reads them: a create waits for the cluster's answer to
 * its check (watch-check.ts) before the next request is looked at.
 */
export class GatewayStream implements WatcherStream {
  private readonly watchers = new Map<string, Slot>();
  private nextId = 0;
  private queue: Promise<void> = Promise.resolve();
  private over = false;
  /** The newest header a member answered this stream's checks with. */
  private last: ClusterHeader = { info: { clusterId: '0', memberId: '0', raftTerm: 0 }, revision: 0 };
  private readonly waiting: { rev: number; info: HeaderInfo; privateDone: boolean; asked: boolean }[] = [];
  private priv: PrivateWatches | undefined;
  private readonly slow: SlowReader;
  private progressTimer: NodeJS.Timeout | undefined;
  onClosed?: () => void;
  /** Runs after the proxy ended the stream (its last line is queued): the connection is closed once it is sent. */
  onEnded?: () => void;

  constructor(
    private readonly host: GatewayHost,
    private readonly sink: EventSink,
    readonly enc: BytesEncoding,
    private readonly token: string | undefined,
    private readonly limits: WatchLimits,
  ) {
    this.slow = new SlowReader(sink, limits, 'edgecd proxy', (reason) => this.cutOff(reason));
    sink.onClose(() => this.close());
    sink.onDrain(() => this.drained());
  }

  get closed(): boolean {
    return this.over || this.sink.closed;
  }

  get writable(): boolean {
    return !this.closed && !this.slow.full;
  }

  /** Shared watchers now (for metrics). */
  get sharedWatchers(): number {
    let n = 0;
    for (const s of this.watchers.values()) if (s instanceof GatewayWatcher) n++;
    return n;
  }

  handle(req: WatchRequest): void {
    this.queue = this.queue.then(() => this.process(req)).catch((err: Error) => this.end(`edgecd proxy: no member answers: ${err.message}`, 14));
  }

  private async process(req: WatchRequest): Promise<void> {
    if (this.closed) return;
    if (req.createRequest) await this.create(req.createRequest);
    else if (req.cancelRequest) this.cancel(req.cancelRequest.watchId.toString());
    else if (req.progressRequest) await this.progressRequested();
  }

  write(chunk: Uint8Array | string): void {
    if (this.closed) return;
    this.sink.write(chunk);
    this.slow.wrote();
  }

  line(f: WatchResponseFields, info: HeaderInfo): void {
    this.write(`{"result":${watchResponseJson(info, f)}}\n`);
  }

  // ---- create

  /** The next automatic id, as the member picks it (the lowest free one from where it last stopped). */
  private pickId(c: WatchCreateRequest): string | undefined {
    if (c.watchId !== 0n) {
      const id = c.watchId.toString();
      return this.watchers.has(id) ? undefined : id;
    }
    while (this.watchers.has(String(this.nextId))) this.nextId++;
    return String(this.nextId);
  }

  private async create(c: WatchCreateRequest): Promise<void> {
    if (c.key === '' || c.fragment) return this.createPrivate(c);
    const check = await this.host.checker.create(c.key, c.rangeEnd, c.startRevision, this.token);
    if (this.closed) return;
    const h = check.header;
    if (h.revision > this.last.revision) this.last = h;
    const refuse = (cancelReason: string) => this.line({ revision: h.revision, watchId: '-1', created: true, canceled: true, cancelReason }, h.info);
    if ('refused' in check) return refuse(check.refused);
    const { key, end } = watchRange(c.key, c.rangeEnd);
    if (emptyRange(key, end)) return refuse('mvcc: watcher range is empty');
    const id = this.pickId(c);
    if (id === undefined) return refuse('mvcc: duplicate watch ID provided on the WatchStream');
    if (c.watchId === 0n) this.nextId++;
    // Created goes first: every answer of the watcher follows it.
    this.line({ revision: h.revision, watchId: id, created: true }, h.info);
    if (check.compacted || c.startRevision < 0) {
      // A member answers this watch compacted: ask one what it says (the compacted revision), and join no feed.
      this.watchers.set(id, 'compacted');
      const rev = await this.host.checker.compactRevision(c.key, c.rangeEnd, c.startRevision, this.token);
      if (rev !== undefined) return this.line({ revision: 0, watchId: id, canceled: true, compactRevision: rev }, h.info);
      if (this.watchers.get(id) !== 'compacted' || this.closed) return;
    }
    const feed = this.host.feedFor({ key, end, prevKv: c.prevKv, filters: c.filters });
    const w = new GatewayWatcher(this, feed, id, this.token, c.progressNotify);
    this.watchers.set(id, w);
    if (c.progressNotify) this.startProgressNotify();
    // From the member's revision at the check (its created revision), or from start_revision.
    feed.join(w, c.startRevision > 0 ? c.startRevision - 1 : h.revision);
  }

  private async createPrivate(c: WatchCreateRequest): Promise<void> {
    const id = this.pickId(c);
    if (id === undefined) {
      const h = await this.host.checker.current();
      return this.line({ revision: h.revision, watchId: '-1', created: true, canceled: true, cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream' }, h.info);
    }
    this.priv ??= new PrivateWatches(this.host.upstream, this.host.stats, this.token, this.enc, (l) => this.write(l), (why) => this.end(why, 14));
    const r = await this.priv.create(c, id);
    if (!r.canceled) {
      // The member took the id (a refusal takes none, there as here).
      if (c.watchId === 0n) this.nextId++;
      this.watchers.set(id, 'private');
    }
  }

  // ---- cancel

  private cancel(id: string): void {
    const w = this.watchers.get(id);
    if (!w) return;
    this.watchers.delete(id);
    if (w === 'private') return this.priv?.cancel(id);
    let h = this.last;
    if (w instanceof GatewayWatcher) {
      w.leave();
      if (w.feed.delivered > h.revision) h = { info: w.feed.headerInfo, revision: w.feed.delivered };
    }
    this.line({ revision: h.revision, watchId: id, canceled: true }, h.info);
    this.progressed();
  }

  compacted(w: GatewayWatcher, compactRev: number): void {
    if (this.watchers.get(w.id) === w) this.watchers.set(w.id, 'compacted');
    this.line({ revision: 0, watchId: w.id, canceled: true, compactRevision: compactRev }, w.feed.headerInfo);
    this.progressed();
  }

  canceled(w: GatewayWatcher, reason: string): void {
    if (this.watchers.get(w.id) === w) this.watchers.delete(w.id);
    this.line({ revision: w.feed.delivered, watchId: w.id, canceled: true, cancelReason: reason }, w.feed.headerInfo);
    this.progressed();
  }

  // ---- progress

  /**
   * A member answers a progress request once every watcher of the stream is synced, with its
   * revision then (at once when they are). Here: the member's revision now (status), then the
   * answer once every shared watcher has been sent everything up to it (its feed is asked for
   * progress to get there) and the private stream, if any, answered its own progress request.
   */
  private async progressRequested(): Promise<void> {
    const h = await this.host.checker.current();
    const wait = { rev: h.revision, info: h.info, privateDone: true, asked: false };
    if (this.priv?.active) {
      wait.privateDone = false;
      void this.priv.askProgress().then((p) => {
        if (p.revision < wait.rev) (wait.rev = p.revision), (wait.info = p.info);
        wait.privateDone = true;
        this.progressed();
      });
    }
    this.waiting.push(wait);
    this.progressed();
  }

  /** Answers the progress requests whose revision every watcher has reached, in order. */
  progressed(): void {
    while (this.waiting.length && !this.closed) {
      const p = this.waiting[0];
      const behind: GatewayWatcher[] = [];
      for (const w of this.watchers.values()) if (w instanceof GatewayWatcher && !(w.live && w.sent >= p.rev)) behind.push(w);
      if (behind.length || !p.privateDone) {
        if (!p.asked) {
          p.asked = true;
          for (const f of new Set(behind.map((w) => w.feed))) f.askProgress();
        }
        return;
      }
      this.waiting.shift();
      this.line({ revision: p.rev, watchId: '-1' }, p.info);
    }
  }

  /**
   * etcd's progress notifications: every interval (plus up to 10% jitter), to each idle synced
   * watcher that asked for them, at the member's revision: each feed with such a watcher is asked
   * for progress, and the notification goes out at its answer (if the watcher is still idle).
   */
  private startProgressNotify(): void {
    if (this.progressTimer) return;
    const every = this.limits.progressIntervalMs;
    this.progressTimer = setInterval(
      () => {
        const due = new Map<RangeFeed, GatewayWatcher[]>();
        for (const w of this.watchers.values()) {
          if (!(w instanceof GatewayWatcher) || !w.progressNotify) continue;
          if (w.idle && w.live) due.set(w.feed, [...(due.get(w.feed) ?? []), w]);
          w.idle = true;
        }
        for (const [feed, ws] of due) {
          feed.askProgress(() => {
            for (const w of ws) if (w.idle && w.live && !w.closed && this.writable && this.watchers.get(w.id) === w) this.line({ revision: feed.delivered, watchId: w.id }, feed.headerInfo);
          });
        }
      },
      every + Math.floor(Math.random() * (every / 10)),
    );
    this.progressTimer.unref?.();
  }

  // ---- back-pressure and the end

  private drained(): void {
    if (this.closed || !this.slow.drained()) return;
    for (const w of this.watchers.values()) if (w instanceof GatewayWatcher && !w.live) w.feed.resume(w);
  }

  private cutOff(reason: string): void {
    if (this.closed) return;
    this.end(reason, 8);
    closeAfterLastWords(this.sink);
  }

  /** Ends the stream from the proxy's side with grpc-gateway's error line: 14 (shutdown, no member), 8 (a client too slow). */
  end(reason: string, code: 8 | 14): void {
    if (this.closed) return;
    this.sink.write(gatewayStreamError(reason, code));
    this.sink.end();
    this.close();
    this.onEnded?.();
  }

  close(): void {
    if (this.over) return;
    this.over = true;
    for (const w of this.watchers.values()) if (w instanceof GatewayWatcher) w.leave();
    this.watchers.clear();
    this.priv?.close();
    this.slow.stop();
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.onClosed?.();
  }
}
