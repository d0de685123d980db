import http from 'node:http';

/** A POST /v3/watch stream kept open: requests are written as the test goes, answer lines kept as they come. */
export interface GatewayClient {
  status: number;
  /** Answer lines, as written. */
  lines: string[];
  ended: boolean;
  done: Promise<void>;
  send(req: object): void;
  close(): void;
  /** The mod_revisions of the events answered for watch id (in order, as often as they came). */
  revs(id?: string): number[];
  /** Resolves once pred holds (checked on every line), or throws after ms. */
  until(pred: () => boolean, ms?: number, what?: string): Promise<void>;
}

export function openGateway(base: string, first: object[], opts: { token?: string; query?: string; agent?: http.Agent } = {}): Promise<GatewayClient> {
  const u = new URL(`/v3/watch${opts.query ?? ''}`, base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token) headers.authorization = opts.token;
    let finish!: () => void;
    const waiters = new Set<() => void>();
    const c: GatewayClient = {
      status: 0,
      lines: [],
      ended: false,
      done: new Promise<void>((r) => (finish = r)),
      send: (obj) => void req.write(JSON.stringify(obj)),
      close: () => req.destroy(),
      revs(id = '0') {
        const out: number[] = [];
        for (const l of c.lines) {
          const r = JSON.parse(l).result;
          if (r && String(r.watch_id ?? '0') === id && r.events) for (const e of r.events) out.push(Number(e.kv.mod_revision));
        }
        return out;
      },
      until(pred, ms = 20_000, what = 'a condition') {
        if (pred()) return Promise.resolve();
        return new Promise((res, rej) => {
          const check = () => {
            if (!pred()) return;
            clearTimeout(t);
            waiters.delete(check);
            res();
          };
          const t = setTimeout(() => {
            waiters.delete(check);
            rej(new Error(`timed out waiting for ${what}; lines:\n${c.lines.join('\n')}`));
          }, ms);
          waiters.add(check);
        });
      },
    };
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers, agent: opts.agent ?? false }, (res) => {
      c.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      let rest = '';
      res.on('data', (d: string) => {
        rest += d;
        let i: number;
        while ((i = rest.indexOf('\n')) >= 0) {
          c.lines.push(rest.slice(0, i));
          rest = rest.slice(i + 1);
        }
        for (const w of [...waiters]) w();
      });
      const end = () => {
        if (rest) c.lines.push(rest);
        rest = '';
        c.ended = true;
        for (const w of [...waiters]) w();
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
    req.flushHeaders();
    for (const o of first) req.write(JSON.stringify(o));
  });
}

/** A line with the cluster's identity masked (what may differ between a member and the proxy's answer). */
export const masked = (line: string) => line.replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"<$1>"');
