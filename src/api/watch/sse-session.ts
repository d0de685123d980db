import type { WatchableStore } from '../../mvcc/watchable-store.ts';
import type { EventBatch, Watcher } from '../../mvcc/watcher-group.ts';
import { BASE64, type BytesEncoding } from '../json/bytes-encoding.ts';
import type { HeaderInfo } from '../json/encode.ts';
import { batchBytes, batchEventsJson, watchResponseJson } from './encode.ts';
import type { EventSink } from './sink.ts';
import { StreamWatcher, WatchSession, type WatchLimits } from './session.ts';

export interface SseWatchSpec {
  key: string;
  end: string | undefined;
  startRev: number;
  prevKv: boolean;
  filters: number[];
  progressNotify: boolean;
}

/**
 * One watch as Server-Sent Events. Every message's `id:` is a revision up to which the client has
 * every event of the watch, so an EventSource that reconnects with Last-Event-ID resumes at the next
 * revision: nothing lost, nothing repeated.
 *   event: created   (id: the revision the watch starts after)
 *   (message)        a WatchResponse with events (id: the last revision it covers)
 *   event: progress  an idle watch's progress notification (id: the current revision)
 *   event: compacted the resume point was compacted away; the stream ends (the client should close)
 *   event: canceled  the server ends the stream (a client too slow to read, shutdown)
 * and comments as heartbeats.
 */
export class SseWatchSession extends WatchSession {
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    store: WatchableStore,
    sink: EventSink,
    limits: WatchLimits,
    headerInfo: () => HeaderInfo,
    heartbeatMs: number,
    /** How events write keys and values (encoding=text: plain strings). */
    private readonly enc: BytesEncoding = BASE64,
  ) {
    super(store, sink, limits, headerInfo);
    this.heartbeat = setInterval(() => {
      if (this.writable) this.write(': heartbeat\n\n');
    }, heartbeatMs);
    this.heartbeat.unref?.();
  }

  start(spec: SseWatchSpec, retryMs?: number): void {
    if (retryMs !== undefined) this.write(`retry: ${retryMs}\n\n`);
    const w = new StreamWatcher(this, spec.key, spec.end, spec.prevKv, spec.filters);
    w.progressNotify = spec.progressNotify;
    w.strict = true;
    const rev = this.store.revision;
    const after = spec.startRev > 0 ? spec.startRev - 1 : rev;
    this.write(this.message('created', after, watchResponseJson(this.headerInfo(), { revision: rev, watchId: '0', created: true })));
    this.addWatcher(w, spec.startRev);
  }

  private message(event: string | undefined, id: number | undefined, data: string): string {
    return `${event ? `event: ${event}\n` : ''}${id !== undefined ? `id: ${id}\n` : ''}data: ${data}\n\n`;
  }

  deliver(w: Watcher, batch: EventBatch, revision: number, through: number): void {
    (w as StreamWatcher).idle = false;
    const info = this.headerInfo();
    this.write(
      batchBytes(batch, `s${revision}|${through}|${this.enc.name}`, () => this.message(undefined, through, watchResponseJson(info, { revision, watchId: '0', events: batchEventsJson(batch, this.enc) }))),
    );
  }

  compacted(_w: Watcher, compactRev: number): void {
    this.write(this.message('compacted', undefined, watchResponseJson(this.headerInfo(), { revision: 0, watchId: '0', canceled: true, compactRevision: compactRev })));
    this.sink.end();
    this.close();
  }

  protected sendProgress(_w: StreamWatcher, rev: number): void {
    this.write(this.message('progress', rev, watchResponseJson(this.headerInfo(), { revision: rev, watchId: '0' })));
  }

  /**
   * A member shutting down ends the stream with a comment, not a cancellation: the browser's
   * EventSource reconnects (to another member behind the same address) and resumes after the last
   * id it saw, missing nothing. A client cut off for reading too slowly is told its watch is over.
   */
  protected finalMessage(reason: string, code: 8 | 14): string {
    if (code === 14) return `: ${reason.replace(/[\r\n]/g, ' ')}\n\n`;
    return this.message('canceled', undefined, watchResponseJson(this.headerInfo(), { revision: this.store.revision, watchId: '0', canceled: true, cancelReason: reason }));
  }

  protected override onClosed(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
