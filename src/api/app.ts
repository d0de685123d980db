import { Hono } from 'hono';
import type { WatchableStore } from '../mvcc/watchable-store.ts';
import type { Member } from '../server/member.ts';
import { GATEWAY_PREFIXES, type GatewayContext } from './gateway.ts';
import { authToken } from './middleware/auth-token/index.ts';
import { cors } from './middleware/cors/index.ts';
import { methodNotAllowed } from './middleware/method-not-allowed/index.ts';
import { requestLimits } from './middleware/request-limits/index.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { requestMetrics, type SlowRequestLog } from './request-metrics.ts';
import { healthRoutes } from './routes/health.ts';
import { authRoutes } from './routes/auth.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { kvRoutes } from './routes/kv.ts';
import { leaseRoutes } from './routes/lease.ts';
import { maintenanceRoutes } from './routes/maintenance.ts';
import { watchRoutes, type WatchRouteOptions } from './routes/watch.ts';
import { SSE_CORS, SSE_PATH } from './routes/watch-sse.ts';
import { electionRoutes } from './routes/election.ts';
import { OBSERVE_SSE_PATH } from './routes/election-observe.ts';
import { lockRoutes } from './routes/lock.ts';
import { OpenStreams } from './streams.ts';
import { VERSION } from './version.ts';

export interface AppOptions {
  maxRequestBytes: number;
  maxTxnOps: number;
  /** The member's watchable store (src/server/watch-history.ts builds it). */
  watchStore: WatchableStore;
  /** Watch streams: back-pressure limits, progress and heartbeat periods. */
  watch?: WatchRouteOptions;
  /** The member's metrics: requests are counted in them, and /metrics serves them. */
  metrics?: Metrics;
  /** Where slow requests are reported (etcd's "took too long" warnings). */
  slowRequest?: SlowRequestLog;
}

export interface GatewayApp {
  app: Hono;
  /** Ends every open stream (watches, keep-alives) with etcd's last words: for shutdown. */
  closeStreams(reason?: string): void;
}

const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8' };

/** The HTTP face of a member: etcd's JSON gateway plus edgecd's own routes. */
export function createApp(member: Member, opts: AppOptions): GatewayApp {
  const app = new Hono();
  const streams = new OpenStreams();
  const g: GatewayContext = {
    headerInfo: () => ({ clusterId: member.clusterId.toString(), memberId: member.memberId.toString(), raftTerm: member.term }),
    limits: requestLimits(opts.maxRequestBytes),
    maxTxnOps: opts.maxTxnOps,
    metricsFor: opts.metrics && requestMetrics(opts.metrics, opts.slowRequest),
  };

  // The SSE route's preflight allows more headers; registered first, it answers before the general one.
  app.use(SSE_PATH, cors(SSE_CORS));
  app.use(OBSERVE_SSE_PATH, cors(SSE_CORS));
  app.use('*', cors());
  const verify = (token: string) => member.auth.authInfo(token);
  const fromCertificate = (cn: string) => member.auth.fromCertificate(cn);
  for (const prefix of GATEWAY_PREFIXES) app.use(`${prefix}/*`, authToken({ verify, fromCertificate }));
  for (const path of [SSE_PATH, OBSERVE_SSE_PATH]) app.use(path, authToken({ verify, fromCertificate, queryParam: 'token' }));

  watchRoutes(app, g, opts.watchStore, streams, { ...opts.watch, permitted: (ai, key, rangeEnd) => member.auth.checkRead(ai, { key, rangeEnd }) });
  kvRoutes(app, g, member);
  leaseRoutes(app, g, member, streams);
  clusterRoutes(app, g, member);
  authRoutes(app, g, member);
  maintenanceRoutes(app, g, member);
  const { locks, elections } = member.coordination(opts.watchStore);
  lockRoutes(app, g, locks, streams);
  electionRoutes(app, g, elections, streams);

  app.get('/version', (c) => c.body(JSON.stringify(VERSION), 200, { 'content-type': 'application/json' }));
  app.on(['POST', 'PUT', 'DELETE', 'PATCH'], '/version', methodNotAllowed({ allow: 'GET' }));
  healthRoutes(app, member, opts.metrics);

  app.notFound((c) => {
    const inGateway = GATEWAY_PREFIXES.some((p) => c.req.path.startsWith(p + '/'));
    return c.body(inGateway ? 'Not Found\n' : '404 page not found\n', 404, TEXT_HEADERS);
  });
  return { app, closeStreams: (reason) => streams.closeAll(reason) };
}
