import type { ServerType } from '@hono/node-server';
import { closeServers, serveNode } from '../api/serve-node.ts';
import { proxyApp } from './app.ts';
import { NO_EVENT_LOG } from './event-log.ts';
import { NodeUpstream } from './node-upstream.ts';
import { ProxyCore } from './proxy.ts';
import { DEFAULT_FEED_OPTIONS } from './feed-spec.ts';
import { connectRedis, RedisEventLog, RedisReadStore } from './redis.ts';
import { DEFAULT_SUBSCRIBER_LIMITS } from './sse.ts';
import { Endpoints } from './upstream.ts';

export interface ProxyConfig {
  endpoints: string[];
  /** host:port */
  listenAddr: string;
  redisUrl?: string;
  /** Batches kept per range in the Redis event log (XADD MAXLEN ~). */
  eventLogSize: number;
  /** Period of progress notifications to gateway watchers that asked for them (default 10 minutes, as a member's). */
  watchProgressIntervalMs?: number;
}

export interface RunningProxy {
  core: ProxyCore;
  servers: ServerType[];
  url: string;
  close(): Promise<void>;
}

/** Starts the proxy: Node's HTTP server on listenAddr, the cluster at endpoints, Redis when given. */
export async function startProxy(cfg: ProxyConfig): Promise<RunningProxy> {
  const upstream = new NodeUpstream(new Endpoints(cfg.endpoints));
  const redis = cfg.redisUrl ? connectRedis(cfg.redisUrl) : undefined;
  const log = redis ? new RedisEventLog(redis, cfg.eventLogSize) : NO_EVENT_LOG;
  const gateway = cfg.watchProgressIntervalMs ? { progressIntervalMs: cfg.watchProgressIntervalMs } : {};
  const core = new ProxyCore(upstream, log, DEFAULT_SUBSCRIBER_LIMITS, DEFAULT_FEED_OPTIONS, redis ? new RedisReadStore(redis) : undefined, undefined, gateway);
  const url = `http://${cfg.listenAddr}`;
  const servers = await serveNode(proxyApp(core), [url]);
  // Streams (SSE, watches, keep-alives) last as long as their clients keep them.
  for (const s of servers) (s as import('node:http').Server).requestTimeout = 0;
  return {
    core,
    servers,
    url,
    async close() {
      core.close();
      await closeServers(servers);
      upstream.close();
      await log.close();
    },
  };
}
