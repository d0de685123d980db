import type { BytesEncoding } from '../api/json/bytes-encoding.ts';
import type { EventSink } from '../api/watch/sink.ts';
import { CUT_OFF_GRACE_MS, SlowReader } from '../api/watch/slow-reader.ts';
import { sseBytes, type LogBatch } from './batch.ts';
import type { FeedSubscriber } from './feed-spec.ts';

export interface SubscriberLimits {
  /** Bytes a subscriber may hold unsent before it stops taking live events (it catches up later). */
  highWaterMark: number;
  /** A subscriber over the mark this long is cut off. */
  slowTimeoutMs: number;
}

export const DEFAULT_SUBSCRIBER_LIMITS: SubscriberLimits = { highWaterMark: 1 << 20, slowTimeoutMs: 60_000 };

const message = (event: string | undefined, id: number | undefined, data: string) =>
  `${event ? `event: ${event}\n` : ''}${id !== undefined ? `id: ${id}\n` : ''}data: ${data}\n\n`;

/**
 * One SSE stream of the proxy, in the member's format (src/api/watch/sse-session.ts): `created`,
 * then one message per watch response with `id:` the revision it completes, `progress`, and
 * `compacted` or `canceled` as last words. Event bytes come ready-made from the batch (encoded once
 * for all subscribers).
 */
export class SseSubscriber implements FeedSubscriber {
  sent = 0;
  live = false;
  private readonly slow: SlowReader;
  private ownHeartbeat: NodeJS.Timeout | undefined;
  private over = false;

  constructor(
    private readonly sink: EventSink,
    readonly enc: BytesEncoding,
    readonly token: string | undefined,
    readonly wantsProgress: boolean,
    limits: SubscriberLimits,
    /** Runs when a subscriber that fell behind can take events again. */
    onDrain: () => void,
    heartbeatMs?: number,
  ) {
    this.slow = new SlowReader(sink, limits, 'edgecd proxy', (reason) => this.cutOff(reason));
    sink.onDrain(() => {
      if (this.closed || !this.slow.drained()) return;
      if (!this.live) onDrain();
    });
    sink.onClose(() => this.finish());
    if (heartbeatMs !== undefined) {
      this.ownHeartbeat = setInterval(() => this.heartbeat(), heartbeatMs);
      this.ownHeartbeat.unref?.();
    }
  }

  get closed(): boolean {
    return this.over || this.sink.closed;
  }

  get writable(): boolean {
    return !this.closed && !this.slow.full;
  }

  /** Whether it keeps its own heartbeat period (else the proxy's shared one writes to it). */
  get ownHeartbeatTimer(): boolean {
    return this.ownHeartbeat !== undefined;
  }

  write(chunk: Uint8Array | string): void {
    if (this.closed) return;
    this.sink.write(chunk);
    this.slow.wrote();
  }

  heartbeat(bytes: Uint8Array | string = ': heartbeat\n\n'): void {
    if (this.writable) this.sink.write(bytes);
  }

  created(after: number, header: string): void {
    this.write(message('created', after, `{"header":${header},"created":true}`));
  }

  deliver(b: LogBatch): void {
    this.write(sseBytes(b, this.enc));
    this.sent = b.rev;
  }

  progress(rev: number, header: string): void {
    this.write(message('progress', rev, `{"header":${header}}`));
  }

  compacted(compactRev: number, header: string): void {
    this.write(message('compacted', undefined, `{"header":${header},"canceled":true,"compact_revision":"${compactRev}"}`));
    this.sink.end();
    this.finish();
  }

  canceled(reason: string, header: string): void {
    this.write(message('canceled', undefined, `{"header":${header},"canceled":true,"cancel_reason":${JSON.stringify(reason)}}`));
    this.sink.end();
    this.finish();
  }

  /** The proxy shuts down: a comment, not a cancellation, so EventSource reconnects (to another proxy) and resumes. */
  shutdown(reason: string): void {
    if (this.closed) return;
    this.sink.write(`: ${reason.replace(/[\r\n]/g, ' ')}\n\n`);
    this.sink.end();
    this.finish();
  }

  private cutOff(reason: string): void {
    if (this.closed) return;
    this.sink.write(message('canceled', undefined, `{"header":{},"canceled":true,"cancel_reason":${JSON.stringify(reason)}}`));
    this.sink.end();
    const sink = this.sink;
    setTimeout(() => sink.destroy(), CUT_OFF_GRACE_MS).unref?.();
    this.finish();
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.live = false;
    this.slow.stop();
    if (this.ownHeartbeat) clearInterval(this.ownHeartbeat);
    this.onClosed?.();
  }

  onClosed?: () => void;
}
