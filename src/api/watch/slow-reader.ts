import type { EventSink } from './sink.ts';

/** How long a cut-off stream may still drain before its connection is destroyed. */
export const CUT_OFF_GRACE_MS = 10_000;

export interface SlowReaderLimits {
  /** Bytes a stream may hold unsent before it counts as not reading. */
  highWaterMark: number;
  /** A stream over the mark this long is cut off. */
  slowTimeoutMs: number;
}

/**
 * A stream's last resort against a client that stops reading: once the sink holds the high-water
 * mark's worth of bytes a clock runs, and a client still over the mark when it runs out is cut off
 * (`cutOff` gets the reason to tell it) instead of being buffered for without bound. Every watch
 * stream, the member's and the proxy's, keeps one.
 */
export class SlowReader {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sink: EventSink,
    private readonly limits: SlowReaderLimits,
    /** Who cuts it off, as the reason names it ('edgecd', 'edgecd proxy'). */
    private readonly who: string,
    private readonly cutOff: (reason: string) => void,
  ) {}

  /** Whether the client holds the mark's worth of bytes unread. */
  get full(): boolean {
    return this.sink.buffered >= this.limits.highWaterMark;
  }

  /** After a write: a client over the mark starts its clock. */
  wrote(): void {
    if (this.timer || !this.full) return;
    this.timer = setTimeout(() => this.expire(), this.limits.slowTimeoutMs);
    this.timer.unref?.();
  }

  /** The sink drained: true, with the clock stopped, when the client is below the mark again. */
  drained(): boolean {
    if (this.full) return false;
    this.stop();
    return true;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    this.timer = undefined;
    const waiting = this.sink.buffered;
    if (waiting < this.limits.highWaterMark) return;
    this.cutOff(`${this.who}: watch stream cut off: the client did not read for ${Math.round(this.limits.slowTimeoutMs / 1000)} s (${waiting} bytes waiting)`);
  }
}

/**
 * After a cut-off stream's last words: the connection closes once they reached the network (it is
 * not kept alive), and a client that does not read them within the grace is dropped with its buffers.
 */
export function closeAfterLastWords(sink: EventSink): void {
  sink.onClose(() => sink.destroy());
  setTimeout(() => sink.destroy(), CUT_OFF_GRACE_MS).unref?.();
}
