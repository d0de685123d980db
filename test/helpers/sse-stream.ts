// Reading Server-Sent Events by the HTML spec's EventSource rules, shared by the tests' SseClient and
// the robustness harness's watchers and observers, so that all of them resume by the same rules.
import http from 'node:http';

export interface SseMessage {
  /** 'message' unless the message named its type. */
  event: string;
  /** The last event id once this message is complete (a reconnection's Last-Event-ID). */
  id: string;
  data: string;
}

/** GETs an event stream; with a lastEventId, asks to resume after it. */
export function getEventStream(url: string | URL, lastEventId: string, onResponse?: (res: http.IncomingMessage) => void): http.ClientRequest {
  const u = new URL(url);
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (lastEventId) headers['last-event-id'] = lastEventId;
  return http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent: false }, onResponse);
}

/** The messages of one connection, from its chunks of text. */
export class SseFrames {
  /** Where a reconnection resumes: the id as of the last complete message. */
  lastEventId: string;
  /** The server's reconnection delay, once it has sent one. */
  retryMs: number | undefined;
  private buf = '';
  private data: string[] = [];
  private event = '';
  private idBuf: string;

  constructor(lastEventId = '') {
    this.lastEventId = lastEventId;
    this.idBuf = lastEventId;
  }

  /**
   * Reads a chunk; onMessage gets each complete message that has data. It may answer false to stop
   * reading: that message's id then does not count, so a reader that stops on a message (one that
   * cancels the stream) resumes before it, not after.
   */
  push(chunk: string, onMessage: (m: SseMessage) => boolean | void): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + (this.buf.startsWith('\r\n', i) ? 2 : 1));
      if (line === '') {
        const data = this.data;
        const event = this.event;
        this.data = [];
        this.event = '';
        if (data.length && onMessage({ event: event || 'message', id: this.idBuf, data: data.join('\n') }) === false) return;
        this.lastEventId = this.idBuf;
        continue;
      }
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id' && !value.includes('\0')) this.idBuf = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
  }
}
