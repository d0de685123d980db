import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';

/** Serves the app on each listen URL (http only for now) and resolves once all are listening. */
export async function serveNode(app: Hono, urls: string[]): Promise<ServerType[]> {
  const servers: ServerType[] = [];
  for (const u of urls) {
    const url = new URL(u);
    if (url.protocol !== 'http:') throw new Error(`serving ${url.protocol} is not supported yet: ${u}`);
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || 80);
    await new Promise<void>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, hostname, port }, () => resolve());
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
