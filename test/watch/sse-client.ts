// An EventSource in Node, as the HTML spec describes it: parses the stream, remembers the last event
// id, and after a dropped connection reconnects with Last-Event-ID. drop() cuts the connection as a
// network would, to test resumption.
import type http from 'node:http';
import { getEventStream, SseFrames, type SseMessage } from '../helpers/sse-stream.ts';

export type { SseMessage };

export class SseClient {
  lastEventId = '';
  readonly messages: SseMessage[] = [];
  connects = 0;
  closed = false;
  status = 0;
  private req: http.ClientRequest | undefined;
  private retryMs = 50;
  private onMessage: ((m: SseMessage) => void) | undefined;

  constructor(private readonly url: string) {}

  start(onMessage?: (m: SseMessage) => void): void {
    this.onMessage = onMessage;
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    this.connects++;
    const req = getEventStream(this.url, this.lastEventId, (res) => {
      this.status = res.statusCode ?? 0;
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        // The spec's "fail the connection": no reconnection.
        this.closed = true;
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      const frames = new SseFrames(this.lastEventId);
      res.on('data', (chunk: string) => {
        frames.push(chunk, (m) => {
          this.lastEventId = m.id;
          this.messages.push(m);
          this.onMessage?.(m);
        });
        this.lastEventId = frames.lastEventId;
        this.retryMs = frames.retryMs ?? this.retryMs;
      });
      const again = () => {
        if (this.req !== req) return;
        this.req = undefined;
        setTimeout(() => this.connect(), this.retryMs);
      };
      res.on('end', again);
      res.on('error', again);
      res.on('close', again);
    });
    req.on('error', () => {
      if (this.req !== req) return;
      this.req = undefined;
      setTimeout(() => this.connect(), this.retryMs);
    });
    this.req = req;
  }

  /** Cuts the connection (the client reconnects with Last-Event-ID). */
  drop(): void {
    this.req?.destroy();
  }

  close(): void {
    this.closed = true;
    const r = this.req;
    this.req = undefined;
    r?.destroy();
  }
}
