import { Hono } from 'hono';
import type { Member } from '../server/member.ts';
import { CORS_HEADERS, TEXT_HEADERS, type GatewayContext } from './gateway.ts';
import { kvRoutes } from './routes/kv.ts';
import { leaseRoutes } from './routes/lease.ts';
import { watchRoutes, type WatchRouteOptions } from './routes/watch.ts';
import { createWatchStore } from '../server/watch-history.ts';

import { clusterRoutes, type ClusterRouteOptions } from './routes/cluster.ts';
import { VERSION } from './version.ts';

export interface AppOptions {
  maxRequestBytes: number;
  maxTxnOps: number;
  cluster?: ClusterRouteOptions;
  /** Watch streams: back-pressure limits, progress and heartbeat periods. */
  watch?: WatchRouteOptions;
}

const GATEWAY_PREFIXES = ['/v3/', '/v3beta/'];

/** The HTTP face of a member: etcd's JSON gateway plus edgecd's own routes. */
export function createApp(member: Member, opts: AppOptions): Hono {
  const app = new Hono();
  const g: GatewayContext = {
    headerInfo: () => ({ clusterId: member.clusterId.toString(), memberId: member.memberId.toString(), raftTerm: member.term }),
    maxRequestBytes: opts.maxRequestBytes,
    maxTxnOps: opts.maxTxnOps,
    authEnabled: () => false,
  };

  // Before the catch-all preflight: the SSE route answers its own.
  watchRoutes(app, g, createWatchStore(member), opts.watch);

  // etcd answers every preflight, whatever the path.
  app.options('*', (c) => c.body(null, 200, CORS_HEADERS));

  kvRoutes(app, g, member);
  leaseRoutes(app, g, member);
  if (opts.cluster) clusterRoutes(app, g, member, opts.cluster);

  app.get('/version', (c) => c.body(JSON.stringify(VERSION), 200, { ...CORS_HEADERS, 'content-type': 'application/json' }));
  app.on(['POST', 'PUT', 'DELETE', 'PATCH'], '/version', (c) => c.body('Method Not Allowed\n', 405, { ...TEXT_HEADERS, allow: 'GET' }));
  app.get('/health', (c) => c.body(JSON.stringify({ health: member.healthy() ? 'true' : 'false' }), member.healthy() ? 200 : 503, TEXT_HEADERS));

  app.notFound((c) => {
    const inGateway = GATEWAY_PREFIXES.some((p) => c.req.path.startsWith(p));
    return c.body(inGateway ? 'Not Found\n' : '404 page not found\n', 404, TEXT_HEADERS);
  });
  return app;
}
