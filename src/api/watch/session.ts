import type { WatchableStore } from '../../mvcc/watchable-store.ts';
import { Watcher, type EventBatch, type WatchOwner } from '../../mvcc/watcher-group.ts';
import type { HeaderInfo } from '../json/encode.ts';
import type { EventSink } from './sink.ts';
import { closeAfterLastWords, SlowReader } from './slow-reader.ts';

export interface WatchLimits {
  /** Bytes a stream may hold unsent before its watchers stop taking live events and fall behind. */
  highWaterMark: number;
  /** A stream that stays over the high-water mark this long is cut off. */
  slowTimeoutMs: number;
  /** Period of progress notifications to idle watchers that asked for them (plus up to 10% jitter). */
  progressIntervalMs: number;
  /** etcd's --max-request-bytes: fragmented responses are cut at this plus 512 KiB. */
  maxRequestBytes: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = {
  highWaterMark: 1 << 20,
  slowTimeoutMs: 60_000,
  progressIntervalMs: 10 * 60_000,
  maxRequestBytes: 1.5 * 1024 * 1024,
};

/** A watcher on a client stream: its id there and the options the stream applies. */
export class StreamWatcher extends Watcher {
  id = '0';
  progressNotify = false;
  fragment = false;
  /** Whether no events were sent since the last progress tick (etcd's progress map). */
  idle = true;
}

/**
 * The watchers of one client stream (a POST /v3/watch or an SSE connection): owns their back-
 * pressure. While the sink holds more than the high-water mark the stream is not writable, so the
 * store stops handing it live events (its watchers catch up from history later). A stream that stays
 * blocked past slowTimeoutMs is cut off with a message saying why.
 */
export abstract class WatchSession implements WatchOwner {
  protected readonly watchers = new Map<string, StreamWatcher>();
  protected closed = false;
  private readonly slow: SlowReader;
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly store: WatchableStore,
    protected readonly sink: EventSink,
    protected readonly limits: WatchLimits,
    protected readonly headerInfo: () => HeaderInfo,
  ) {
    this.slow = new SlowReader(sink, limits, 'edgecd', (reason) => this.cutOff(reason));
    sink.onClose(() => this.close());
    sink.onDrain(() => this.drained());
  }

  get writable(): boolean {
    return !this.closed && !this.slow.full;
  }

  abstract deliver(w: Watcher, batch: EventBatch, revision: number, through: number): void;
  abstract compacted(w: Watcher, compactRev: number): void;
  /** A progress notification for w at revision rev (all its events up to rev were sent). */
  protected abstract sendProgress(w: StreamWatcher, rev: number): void;
  /** The last words of a stream the server ends: 8 (a client too slow to read) or 14 (shutdown). */
  protected abstract finalMessage(reason: string, code: 8 | 14): string;

  synced(_w: Watcher): void {}

  protected write(chunk: Uint8Array | string): void {
    if (this.closed) return;
    this.sink.write(chunk);
    this.slow.wrote();
  }

  private drained(): void {
    if (this.closed || !this.slow.drained()) return;
    this.store.kick();
  }

  private cutOff(reason: string): void {
    if (this.closed) return;
    // The reason sits behind everything still buffered: a client that reads again soon gets it all.
    this.sink.write(this.finalMessage(reason, 8));
    this.sink.end();
    closeAfterLastWords(this.sink);
    this.close();
  }

  /** Ends the stream from the server side (shutdown), saying why. */
  shutdown(reason: string): void {
    if (this.closed) return;
    this.sink.write(this.finalMessage(reason, 14));
    this.sink.end();
    this.close();
  }

  protected addWatcher(w: StreamWatcher, startRev: number): void {
    this.watchers.set(w.id, w);
    if (w.progressNotify) this.startProgress();
    this.store.watch(w, startRev);
  }

  protected removeWatcher(w: StreamWatcher): void {
    this.watchers.delete(w.id);
    this.store.cancel(w);
  }

  private startProgress(): void {
    if (this.progressTimer) return;
    const every = this.limits.progressIntervalMs;
    const tick = () => {
      for (const w of this.watchers.values()) {
        if (!w.progressNotify) continue;
        if (w.idle && this.store.isSynced(w) && this.writable) this.sendProgress(w, this.store.revision);
        w.idle = true;
      }
    };
    this.progressTimer = setInterval(tick, every + Math.floor(Math.random() * (every / 10)));
    this.progressTimer.unref?.();
  }

  /** Ends the stream's watchers; the sink is closed or closing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) this.store.cancel(w);
    this.watchers.clear();
    this.slow.stop();
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.onClosed();
  }

  protected onClosed(): void {}
}
