import { DecodeError } from './proto-decode.ts';
import { EMPTY, JsonSyntaxError, parseGoJsonPrefix, T, type Node } from './go-json.ts';

export type StreamItem<R> = { req: R } | { error: string; code: number };

/** A request a stream's decoder refuses with a gRPC code of its own (DecodeError means 2). */
export class StreamError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/**
 * Splits a streaming request body (POST /v3/watch, /v3/lease/keepalive) into requests as the
 * bytes arrive, reading successive JSON values the way the gateway's Go decoder does (values may
 * follow each other with or without space). The first bad value ends the stream: an error item,
 * then nothing more.
 */
export class JsonValueStream<R> {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(
    private readonly decode: (node: Node) => R,
    /** Most bytes of a half-received value kept while waiting for the rest. */
    private readonly maxPending: number,
    /** The limit the error message names (gRPC's, which may be below maxPending). */
    private readonly reportedMax = maxPending,
  ) {}

  push(chunk: Uint8Array): StreamItem<R>[] {
    if (this.done) return [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    return this.drain(false);
  }

  end(): StreamItem<R>[] {
    if (this.done) return [];
    const items = this.drain(true);
    this.done = true;
    return items;
  }

  private drain(atEnd: boolean): StreamItem<R>[] {
    const items: StreamItem<R>[] = [];
    while (!this.done) {
      let parsed: ReturnType<typeof parseGoJsonPrefix>;
      try {
        parsed = parseGoJsonPrefix(this.buf);
      } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        if (e.message === 'unexpected EOF' && !atEnd) {
          // Half a value: wait for the rest, but not for ever.
          if (this.buf.length > this.maxPending) return this.fail(items, `grpc: received message larger than max (${this.buf.length} vs. ${this.reportedMax})`, 8);
          break;
        }
        return this.fail(items, e.message, 2);
      }
      if (parsed === EMPTY) {
        this.buf = Buffer.alloc(0);
        break;
      }
      const { node, end } = parsed;
      // A number at the very end may go on in the next chunk.
      if (!atEnd && end === this.buf.length && (node.t === T.Num || node.t === T.True || node.t === T.False || node.t === T.Null)) break;
      this.buf = this.buf.subarray(end);
      try {
        items.push({ req: this.decode(node) });
      } catch (e) {
        if (e instanceof DecodeError) return this.fail(items, e.message, 2);
        if (e instanceof StreamError) return this.fail(items, e.message, e.code);
        throw e;
      }
    }
    return items;
  }

  private fail(items: StreamItem<R>[], error: string, code: number): StreamItem<R>[] {
    this.done = true;
    this.buf = Buffer.alloc(0);
    items.push({ error, code });
    return items;
  }
}
