import type { ServerResponse } from 'node:http';

/**
 * Where a stream's bytes go: small enough to implement over any runtime's response. Writers never
 * wait: they check `buffered` and stop producing while it is high, then resume on drain.
 */
export interface EventSink {
  /** Queues bytes for the client. */
  write(chunk: Uint8Array | string): void;
  /** Bytes queued and not yet taken by the network (or the reader). */
  readonly buffered: number;
  readonly closed: boolean;
  /** fn runs whenever the queue has emptied after having been high. */
  onDrain(fn: () => void): void;
  /** fn runs once when the stream is over (the client went away, or end/destroy). */
  onClose(fn: () => void): void;
  /** Finishes the response after the queued bytes. */
  end(): void;
  /** Drops the connection at once. */
  destroy(): void;
}

/** A sink over a Node response: writes go straight to the socket (no Web Streams on the hot path). */
export class NodeSink implements EventSink {
  private corked = false;
  private done = false;
  private readonly socket: ServerResponse['socket'];

  constructor(
    private readonly res: ServerResponse,
    status: number,
    headers: Record<string, string>,
  ) {
    this.socket = res.socket;
    res.writeHead(status, headers);
    res.flushHeaders();
    res.once('close', () => (this.done = true));
  }

  write(chunk: Uint8Array | string): void {
    if (this.done || this.res.writableEnded) return;
    // Writes made in one turn of the event loop leave in one syscall.
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        this.res.uncork();
      });
    }
    this.res.write(chunk);
  }

  get buffered(): number {
    return this.res.writableLength;
  }

  get closed(): boolean {
    return this.done || this.res.writableEnded || this.res.destroyed;
  }

  onDrain(fn: () => void): void {
    this.res.on('drain', fn);
  }

  onClose(fn: () => void): void {
    this.res.once('close', fn);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  /** Drops the response and its connection (after end() too: it is not kept alive for another request). */
  destroy(): void {
    this.done = true;
    this.res.destroy();
    this.socket?.destroy();
  }
}

/**
 * A sink that feeds a Web ReadableStream (for runtimes without Node's response: Deno, Bun,
 * workers). The stream's queue is counted in bytes, so `buffered` is what the reader has not taken.
 */
export class WebStreamSink implements EventSink {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private done = false;
  private wasHigh = false;
  private readonly drainFns: (() => void)[] = [];
  private readonly closeFns: (() => void)[] = [];
  private readonly encoder = new TextEncoder();
  private queued = 0;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => {
          this.queued = Math.max(0, -(this.controller.desiredSize ?? 0));
          if (this.wasHigh && this.queued === 0) {
            this.wasHigh = false;
            for (const fn of this.drainFns) fn();
          }
        },
        cancel: () => this.finish(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
    );
  }

  write(chunk: Uint8Array | string): void {
    if (this.done) return;
    const bytes = typeof chunk === 'string' ? this.encoder.encode(chunk) : chunk;
    this.controller.enqueue(bytes);
    this.queued = -(this.controller.desiredSize ?? 0);
    if (this.queued > 0) this.wasHigh = true;
  }

  get buffered(): number {
    return this.queued;
  }

  get closed(): boolean {
    return this.done;
  }

  onDrain(fn: () => void): void {
    this.drainFns.push(fn);
  }

  onClose(fn: () => void): void {
    this.closeFns.push(fn);
  }

  end(): void {
    if (this.done) return;
    this.controller.close();
    this.finish();
  }

  destroy(): void {
    if (this.done) return;
    this.controller.error(new Error('stream cut off'));
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    for (const fn of this.closeFns) fn();
  }
}
