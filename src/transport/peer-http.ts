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

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
