// An EventSource in Node, as the HTML spec describes it: parses the stream, remembers the last event
// id, and after a dropped connection reconnects with Last-Event-ID. drop() cuts the connection as a
// network would, to test resumption.
import http from 'node:http';

export interface SseMessage {
  event: string;
  id: string;
  data: string;
}

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
    const u = new URL(this.url);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent: false }, (res) => {
      this.status = res.statusCode ?? 0;
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        // The spec's "fail the connection": no reconnection.
        this.closed = true;
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      let data: string[] = [];
      let event = '';
      let idBuf = this.lastEventId;
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.search(/\r\n|\r|\n/)) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + (buf.startsWith('\r\n', i) ? 2 : 1));
          if (line === '') {
            this.lastEventId = idBuf;
            if (data.length) {
              const m = { event: event || 'message', id: this.lastEventId, data: data.join('\n') };
              this.messages.push(m);
              this.onMessage?.(m);
            }
            data = [];
            event = '';
            continue;
          }
          if (line.startsWith(':')) continue;
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          let value = c < 0 ? '' : line.slice(c + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id' && !value.includes('\0')) idBuf = value;
          else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
        }
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
