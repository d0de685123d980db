import http from 'node:http';

/** A bare SSE client (many thousands per process): counts event messages and keeps their ids. */
export interface SseClient {
  /** The revisions of the events received, in order, each once (a message may carry several: a watcher catching up sends them together). */
  ids: number[];
  /** The last id seen on any message (what EventSource would send as Last-Event-ID). */
  lastId: number | undefined;
  events: number;
  status: number;
  ended: boolean;
  close(): void;
  done: Promise<void>;
}

export function openSse(url: string, opts: { lastEventId?: number; keepIds?: boolean; agent?: http.Agent } = {}): Promise<SseClient> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId);
    let finish!: () => void;
    const c: SseClient = {
      ids: [],
      lastId: opts.lastEventId,
      events: 0,
      status: 0,
      ended: false,
      close: () => req.destroy(),
      done: new Promise<void>((r) => (finish = r)),
    };
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent: opts.agent ?? false }, (res) => {
      c.status = res.statusCode ?? 0;
      res.setEncoding('latin1');
      let tail = '';
      res.on('data', (d: string) => {
        const s = tail + d;
        let at = 0;
        let i: number;
        while ((i = s.indexOf('\n\n', at)) >= 0) {
          const msg = s.slice(at, i);
          at = i + 2;
          if (msg.startsWith(':')) continue;
          const idAt = msg.indexOf('id: ');
          const id = idAt >= 0 ? Number(msg.slice(idAt + 4, msg.indexOf('\n', idAt))) : undefined;
          if (id !== undefined) c.lastId = id;
          if (!msg.startsWith('event: ') && msg.includes('"events"')) {
            c.events++;
            if (opts.keepIds !== false && id !== undefined) {
              const data = msg.slice(msg.indexOf('data: ') + 6).split('\n')[0];
              const revs = (JSON.parse(data) as { events: { kv: { mod_revision: string } }[] }).events.map((e) => Number(e.kv.mod_revision));
              for (const r of revs) if (c.ids.at(-1) !== r) c.ids.push(r);
              // The id is the last revision the message covers.
              if (c.ids.at(-1) !== id) throw new Error(`message id ${id} after events up to ${c.ids.at(-1)}`);
            }
          }
        }
        tail = s.slice(at);
      });
      const end = () => {
        c.ended = true;
        finish();
      };
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
      resolve(c);
    });
    req.on('error', (e) => {
      c.ended = true;
      finish();
      if (!c.status) reject(e);
    });
  });
}
