import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { PeerFaults } from './peer-faults.ts';

/** Peer TLS: our certificate for client auth, and the CA that signs the cluster's certificates. */
export interface PeerTls {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  clientCertAuth?: boolean;
}

export interface PeerResponse {
  status: number;
  body: string;
}

/**
 * HTTP(S) requests between members. Node's http client (not fetch) because peers may need a
 * private CA and a client certificate, and keep-alive agents keep one connection per peer warm.
 */
export class PeerHttp {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent: https.Agent;

  constructor(
    tls: PeerTls = {},
    /** Test-only fault injection (--experimental-peer-faults). */
    private readonly faults?: PeerFaults,
  ) {
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  request(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string | Readable, timeoutMs = 5000): Promise<PeerResponse> {
    const fault = this.faults?.decide(url);
    if (fault) return this.faulty(fault, method, url, headers, body, timeoutMs);
    return this.send(method, url, headers, body, timeoutMs);
  }

  /** A request under an injected fault: held back, then lost or sent. */
  private async faulty(fault: { drop: boolean; delayMs: number }, method: 'GET' | 'POST', url: string, headers: Record<string, string>, body: string | Readable | undefined, timeoutMs: number): Promise<PeerResponse> {
    if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (!fault.drop) return this.send(method, url, headers, body, timeoutMs);
    // Raft messages are lost on the wire unnoticed; anything else fails as a refused connection would.
    if (method === 'POST' && new URL(url).pathname === '/raft/messages') return { status: 204, body: '' };
    throw Object.assign(new Error(`connect ECONNREFUSED ${new URL(url).host} (injected peer fault)`), { code: 'ECONNREFUSED' });
  }

  private send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body: string | Readable | undefined, timeoutMs: number): Promise<PeerResponse> {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const lib = secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        u,
        { method, headers, agent: secure ? this.httpsAgent : this.httpAgent, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`peer request to ${u.host} timed out`)));
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (typeof body === 'string') req.end(body);
      else {
        // A streamed body (a snapshot) has no deadline of its own: only the idle timeout applies.
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  /**
   * Opens a long-lived request whose body is written as it goes (raft messages to one peer). The
   * peer answers only when the body ends; onClose reports an error, or that the peer answered
   * early (it refused the stream). Injected faults apply to each write.
   */
  openStream(url: string, headers: Record<string, string>, onClose: (err?: Error) => void, onDrain: () => void): PeerStream {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const req = (secure ? https : http).request(u, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-ndjson' }, agent: secure ? this.httpsAgent : this.httpAgent });
    let closed = false;
    const close = (err?: Error) => {
      if (closed) return;
      closed = true;
      req.destroy();
      onClose(err);
    };
    req.on('error', (err) => close(err));
    req.on('response', (res) => {
      res.resume();
      close(new Error(`peer answered ${res.statusCode}`));
    });
    req.on('drain', onDrain);
    req.flushHeaders();
    const faults = this.faults;
    return {
      write(line: string): boolean {
        if (closed) return false;
        const fault = faults?.decide(url);
        if (!fault) return req.write(line);
        // Lost on the wire unnoticed, or held back (and so maybe overtaken: raft copes).
        if (!fault.drop) setTimeout(() => closed || req.write(line), fault.delayMs);
        return true;
      },
      get congested() {
        return req.writableNeedDrain;
      },
      close: () => close(),
      get closed() {
        return closed;
      },
    };
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** A body being written to a peer, line by line. */
export interface PeerStream {
  /** Writes a line; false when the socket is full (wait for onDrain) or the stream is closed. */
  write(line: string): boolean;
  readonly congested: boolean;
  readonly closed: boolean;
  close(): void;
}
