import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Endpoints, Upstream, UpstreamAnswer, UpstreamWatch, UpstreamWatchHandlers } from './upstream.ts';

/** Errors that say the request never reached the member: safe to send again to another one. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

type ReqErr = Error & { code?: string; reused?: boolean };

function notSent(err: ReqErr): boolean {
  // A kept-alive socket that the member closed while it sat idle: the request did not reach it.
  return NOT_SENT.has(err.code ?? '') || (err.code === 'ECONNRESET' && !!err.reused);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length']);

function forwardHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/** The gateway's error body for a proxy that reaches no member (gRPC code 14, as etcd's Unavailable). */
export function unavailableBody(why: string): string {
  const msg = `edgecd proxy: ${why}`;
  return JSON.stringify({ error: msg, code: 14, message: msg });
}

/** The cluster over HTTP: keep-alive connections for calls, one connection per watch stream. */
export class NodeUpstream implements Upstream {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 512 });

  constructor(
    readonly endpoints: Endpoints,
    private readonly callTimeoutMs = 30_000,
  ) {}

  failed(endpoint: string): void {
    this.endpoints.failed(endpoint);
  }

  private lib(url: URL) {
    return url.protocol === 'https:' ? { mod: https, agent: this.httpsAgent } : { mod: http, agent: this.httpAgent };
  }

  async call(path: string, body: string, token?: string): Promise<UpstreamAnswer> {
    let last: ReqErr | undefined;
    for (const ep of this.endpoints.order()) {
      try {
        return await this.callOnce(ep, path, body, token);
      } catch (err) {
        last = err as ReqErr;
        if (!notSent(last)) throw err;
        this.failed(ep);
      }
    }
    throw last ?? new Error('no endpoint');
  }

  private callOnce(ep: string, path: string, body: string, token?: string): Promise<UpstreamAnswer> {
    const url = new URL(path, ep);
    const { mod, agent } = this.lib(url);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = token;
      const req = mod.request(url, { method: 'POST', agent, headers, timeout: this.callTimeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), endpoint: ep }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('upstream call timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (e: ReqErr) => reject(Object.assign(e, { reused: req.reusedSocket })));
      req.end(body);
    });
  }

  watch(token: string | undefined, h: UpstreamWatchHandlers, query = ''): UpstreamWatch {
    const endpoint = this.endpoints.current;
    const url = new URL('/v3/watch' + query, endpoint);
    const { mod } = this.lib(url);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = token;
    let ended = false;
    const end = (err?: Error & { status?: number; body?: string }) => {
      if (ended) return;
      ended = true;
      h.onEnd(err);
    };
    const req = mod.request(url, { method: 'POST', agent: false, headers }, (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => end(Object.assign(new Error(`upstream watch answered ${res.statusCode}`), { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') })));
        res.on('error', (e) => end(e));
        return;
      }
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (ended) return;
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (!line.trim()) continue;
          let m;
          try {
            m = JSON.parse(line);
          } catch {
            req.destroy();
            return end(new Error('upstream watch sent a line that is not JSON'));
          }
          h.onMessage(m);
          if (ended) return;
        }
      });
      res.on('end', () => end(new Error('upstream closed the watch')));
      res.on('error', (e) => end(e));
      res.on('close', () => end(new Error('upstream watch connection closed')));
    });
    req.on('error', (e) => end(e));
    req.flushHeaders();
    return {
      endpoint,
      send: (obj) => {
        if (!ended) req.write(JSON.stringify(obj) + '\n');
      },
      close: () => {
        req.destroy();
        end();
      },
    };
  }

  /**
   * Passes a request through to the cluster and its answer back, bytes untouched. A body already
   * read (`body`) is sent again to the next endpoint while one refuses the connection; a stream
   * (body undefined: /v3/watch, keep-alives, observe) goes to the first endpoint that accepts it.
   */
  forward(incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer | undefined): void {
    const order = this.endpoints.order();
    const path = incoming.url ?? '/';
    const headers = forwardHeaders(incoming.headers);
    if (body) headers['content-length'] = String(body.length);
    let clientGone = false;
    let current: http.ClientRequest | undefined;
    outgoing.once('close', () => {
      clientGone = true;
      if (!outgoing.writableFinished) current?.destroy();
    });
    const attempt = (i: number): void => {
      if (clientGone) return;
      if (i >= order.length) return answer503('no endpoint accepts connections');
      const ep = order[i];
      const url = new URL(path, ep);
      const { mod, agent } = this.lib(url);
      let responded = false;
      let piping = false;
      const req = mod.request(url, { method: incoming.method, headers, agent: body ? agent : false }, (res) => {
        responded = true;
        const h = forwardHeaders(res.headers);
        outgoing.writeHead(res.statusCode ?? 502, h);
        outgoing.flushHeaders();
        res.pipe(outgoing);
        res.on('error', () => outgoing.destroy());
        res.on('close', () => {
          if (!res.complete) outgoing.destroy();
        });
      });
      current = req;
      req.on('error', (e: ReqErr) => {
        if (responded || clientGone) return void outgoing.destroy();
        const err = Object.assign(e, { reused: req.reusedSocket });
        if (!piping && notSent(err)) {
          this.failed(ep);
          return attempt(i + 1);
        }
        if (piping) return void outgoing.destroy();
        answer503(`the member at ${ep} went away before answering: the request may or may not have taken effect`);
      });
      if (body) req.end(body);
      else {
        req.flushHeaders();
        req.once('socket', (s) => {
          const go = () => {
            piping = true;
            incoming.pipe(req);
          };
          if (s.connecting) s.once('connect', go);
          else go();
        });
      }
    };
    const answer503 = (why: string) => {
      if (outgoing.headersSent) return void outgoing.destroy();
      outgoing.writeHead(503, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      outgoing.end(unavailableBody(why));
    };
    attempt(0);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
