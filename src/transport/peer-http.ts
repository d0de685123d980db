import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

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

  constructor(tls: PeerTls = {}) {
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  request(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string | Readable, timeoutMs = 5000): Promise<PeerResponse> {
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
