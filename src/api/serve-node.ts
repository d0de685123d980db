import type { ServerOptions as HttpServerOptions } from 'node:http';
import https from 'node:https';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';

/** Certificates for an https listener; clientCertAuth demands a client certificate signed by `ca`. */
export interface ServeTls {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  clientCertAuth?: boolean;
}

/**
 * Serves the app on each listen URL (http, or https with `tls`) and resolves once all are listening.
 * `http` passes Node's server options (its timeouts: requestTimeout, headersTimeout, ...).
 */
export async function serveNode(app: Hono, urls: string[], tls: ServeTls = {}, http: HttpServerOptions = {}): Promise<ServerType[]> {
  const servers: ServerType[] = [];
  for (const u of urls) {
    const url = new URL(u);
    const secure = url.protocol === 'https:';
    if (secure && (!tls.cert || !tls.key)) throw new Error(`${u} needs a certificate and key`);
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (secure ? 443 : 80));
    await new Promise<void>((resolve, reject) => {
      const options = secure
        ? {
            fetch: app.fetch,
            hostname,
            port,
            createServer: https.createServer,
            serverOptions: { ...http, cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: !!tls.clientCertAuth, rejectUnauthorized: !!tls.clientCertAuth },
          }
        : { fetch: app.fetch, hostname, port, serverOptions: http };
      const server = serve(options, () => resolve());
      server.once('error', reject);
      servers.push(server);
    });
  }
  return servers;
}

export async function closeServers(servers: ServerType[]): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    ),
  );
}
