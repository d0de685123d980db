import type { BytesEncoding } from '../api/json/bytes-encoding.ts';
import type { HeaderInfo } from '../api/json/encode.ts';
import type { WatchResponseFields } from '../api/watch/encode.ts';
import { eventsJsonIn, gatewayLine, type LogBatch } from './batch.ts';
import type { FeedSubscriber } from './feed-spec.ts';
import type { RangeFeed } from './range-feed.ts';

/** What a watcher needs of its gateway stream. */
export interface WatcherStream {
  readonly enc: BytesEncoding;
  readonly writable: boolean;
  readonly closed: boolean;
  write(chunk: Uint8Array | string): void;
  line(f: WatchResponseFields, info: HeaderInfo): void;
  /** The feed's progress answer reached the watcher (its `sent` moved): a waiting progress request may be answered. */
  progressed(): void;
  /** The watcher's start was compacted: it gets nothing more, its id stays taken (as etcd keeps it). */
  compacted(w: GatewayWatcher, compactRev: number): void;
  /** The feed gave the watcher up (the member refused every token it had): the watcher is canceled with the reason. */
  canceled(w: GatewayWatcher, reason: string): void;
}

/**
 * Events gathered while catching up go out as one answer, as a member sends a catching-up watcher's
 * history in one response per sync round (etcd's watchBatchMaxRevs caps a round at 1,000 revisions).
 */
const MAX_CATCH_UP_EVENTS = 1000;

/**
 * One watcher of a gateway stream on a shared feed: a subscriber of the feed that writes the
 * member's answers for its watch id. Live events are the member's responses as they came (one line
 * per batch, made once per watch id and encoding for every stream); history (a past start_revision,
 * a resume after falling behind) is gathered and sent as one response whose header revision is the
 * feed's revision when the watcher caught up, as a member's catch-up response carries its revision.
 */
export class GatewayWatcher implements FeedSubscriber {
  sent = 0;
  /** Progress answers of the feed reach it (they move `sent`), so a stream's progress request can be answered; it writes nothing for them. */
  readonly wantsProgress = true;
  /** No events since the last progress-notify tick (etcd's progress map). */
  idle = true;
  private isLive = false;
  private gone = false;
  private pending: string[] = [];
  private pendingEvents = 0;

  constructor(
    private readonly stream: WatcherStream,
    readonly feed: RangeFeed,
    readonly id: string,
    readonly token: string | undefined,
    readonly progressNotify: boolean,
  ) {}

  get live(): boolean {
    return this.isLive;
  }

  /** The feed sets it once the watcher has caught up: what it gathered goes out before any live event. */
  set live(v: boolean) {
    const caughtUp = v && !this.isLive;
    if (caughtUp) this.flush();
    this.isLive = v;
    if (caughtUp) this.stream.progressed();
  }

  get writable(): boolean {
    return !this.gone && this.stream.writable;
  }

  get closed(): boolean {
    return this.gone || this.stream.closed;
  }

  /** The stream wrote the created answer before the watcher joined the feed. */
  created(): void {}

  deliver(b: LogBatch): void {
    this.idle = false;
    if (this.isLive) {
      this.stream.write(gatewayLine(b, this.id, this.stream.enc));
      this.sent = b.rev;
      this.stream.progressed();
      return;
    }
    const events = eventsJsonIn(b, this.stream.enc);
    this.pending.push(events.slice(1, -1));
    this.pendingEvents += b.events.length;
    this.sent = b.rev;
    if (this.pendingEvents >= MAX_CATCH_UP_EVENTS) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const events = `[${this.pending.join(',')}]`;
    this.pending = [];
    this.pendingEvents = 0;
    this.stream.line({ revision: Math.max(this.sent, this.feed.delivered), watchId: this.id, events }, this.feed.headerInfo);
  }

  progress(): void {
    this.stream.progressed();
  }

  compacted(compactRev: number): void {
    this.pending = [];
    this.gone = true;
    this.stream.compacted(this, compactRev);
  }

  canceled(reason: string): void {
    this.pending = [];
    this.gone = true;
    this.stream.canceled(this, reason);
  }

  /** Canceled by its client, or its stream is over. */
  leave(): void {
    this.gone = true;
    this.pending = [];
    this.feed.leave(this);
  }
}
