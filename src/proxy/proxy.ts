import type { IncomingMessage, ServerResponse } from 'node:http';
import { NO_EVENT_LOG, type EventLog } from './event-log.ts';
import { DEFAULT_FEED_OPTIONS, feedId, type FeedOptions, type FeedSpec, type FeedStats } from './feed-spec.ts';
import { RangeFeed } from './range-feed.ts';
import { ReadCache } from './read-cache.ts';
import { DEFAULT_SUBSCRIBER_LIMITS, type SseSubscriber, type SubscriberLimits } from './sse.ts';
import type { Upstream, UpstreamAnswer } from './upstream.ts';
import { DEFAULT_WATCH_LIMITS, type WatchLimits } from '../api/watch/session.ts';
import type { GatewayHost, GatewayStream } from './gateway-stream.ts';
import { WatchChecker } from './watch-check.ts';

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** The proxy's state, apart from HTTP: its feeds, subscribers, read cache and the cluster behind it. */
export class ProxyCore implements GatewayHost {
  readonly feeds = new Map<string, RangeFeed>();
  readonly subscribers = new Set<SseSubscriber>();
  /** POST /v3/watch streams served from the feeds. */
  readonly gatewayStreams = new Set<GatewayStream>();
  readonly stats: FeedStats & { privateStreams: number } = { upstreamWatches: 0, catchUps: 0, logHits: 0, privateStreams: 0 };
  readonly cache: ReadCache;
  readonly checker: WatchChecker;
  /** Limits of gateway watch streams, as a member's (its defaults; progress notifications every 10 minutes unless told). */
  readonly watchLimits: WatchLimits;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly heartbeatBytes = Buffer.from(': heartbeat\n\n');

  constructor(
    readonly upstream: Upstream & { forward?(incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer | undefined): void },
    readonly log: EventLog = NO_EVENT_LOG,
    readonly limits: SubscriberLimits = DEFAULT_SUBSCRIBER_LIMITS,
    private readonly feedOptions: FeedOptions = DEFAULT_FEED_OPTIONS,
    shared?: ConstructorParameters<typeof ReadCache>[2],
    heartbeatMs = 15_000,
    gatewayLimits: Partial<WatchLimits> = {},
  ) {
    this.cache = new ReadCache(upstream, () => this.feeds.values(), shared);
    this.checker = new WatchChecker(upstream, this.stats);
    this.watchLimits = { ...DEFAULT_WATCH_LIMITS, highWaterMark: limits.highWaterMark, slowTimeoutMs: limits.slowTimeoutMs, ...gatewayLimits };
    this.heartbeat = setInterval(() => {
      for (const s of this.subscribers) if (!s.ownHeartbeatTimer) s.heartbeat(this.heartbeatBytes);
    }, heartbeatMs);
    this.heartbeat.unref?.();
  }

  /** The feed for spec, started by its first subscriber. */
  feedFor(spec: FeedSpec): RangeFeed {
    const id = feedId(spec);
    let f = this.feeds.get(id);
    if (!f || f.state === 'closed') {
      f = new RangeFeed(spec, this.upstream, this.log, this.stats, this.feedOptions, (gone) => {
        if (this.feeds.get(gone.id) === gone) this.feeds.delete(gone.id);
      });
      this.feeds.set(id, f);
    }
    return f;
  }

  /**
   * Whether the token may read the range, asked of the cluster as the subscriber would ask it (a
   * serializable count_only range): undefined when it may, else the member's refusal to pass on.
   */
  async permitted(spec: FeedSpec, token: string | undefined): Promise<UpstreamAnswer | undefined> {
    const body: Record<string, unknown> = { key: b64(spec.key), serializable: true, count_only: true };
    if (spec.end !== undefined) body.range_end = spec.end === '' ? 'AA==' : b64(spec.end);
    const a = await this.upstream.call('/v3/kv/range', JSON.stringify(body), token);
    return a.status === 200 ? undefined : a;
  }

  forward(incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer | undefined): void {
    if (!this.upstream.forward) throw new Error('this upstream cannot pass requests through');
    this.upstream.forward(incoming, outgoing, body);
  }

  metricsText(): string {
    const c = this.cache.stats;
    const lines = [
      ['edgecd_proxy_subscribers', 'gauge', 'SSE subscribers connected', this.subscribers.size],
      ['edgecd_proxy_gateway_streams', 'gauge', 'POST /v3/watch streams connected', this.gatewayStreams.size],
      ['edgecd_proxy_gateway_watchers', 'gauge', 'Watchers of gateway streams served from the shared feeds', [...this.gatewayStreams].reduce((n, s) => n + s.sharedWatchers, 0)],
      ['edgecd_proxy_private_watch_streams', 'gauge', 'Upstream watch streams of one client, for creates the feeds cannot answer exactly (fragment, empty key)', this.stats.privateStreams],
      ['edgecd_proxy_feeds', 'gauge', 'Distinct watched ranges (each with one upstream watch)', this.feeds.size],
      ['edgecd_proxy_upstream_watches', 'gauge', 'Watches open on the cluster: one per feed, plus catch-ups in progress', this.stats.upstreamWatches],
      ['edgecd_proxy_catch_ups_total', 'counter', 'Catch-ups read from the cluster (history the proxy and the event log did not have)', this.stats.catchUps],
      ['edgecd_proxy_event_log_hits_total', 'counter', 'Resumes served from the shared event log', this.stats.logHits],
      ['edgecd_proxy_read_cache_hits_total', 'counter', 'Serializable ranges answered from the local cache', c.hits],
      ['edgecd_proxy_read_cache_shared_hits_total', 'counter', 'Serializable ranges answered from the shared (Redis) cache', c.sharedHits],
      ['edgecd_proxy_read_cache_misses_total', 'counter', 'Cacheable serializable ranges read from the cluster', c.misses],
      ['edgecd_proxy_read_cache_auth_checks_total', 'counter', 'Calls to /v3/auth/status made before serving cached answers (one in flight, shared by the hits waiting for it)', this.cache.authChecks],
      ['edgecd_proxy_read_stale_refused_total', 'counter', 'Serializable answers older than a feed had delivered, read again linearizably', c.staleRefused],
    ] as const;
    return lines.map(([n, t, h, v]) => `# HELP ${n} ${h}\n# TYPE ${n} ${t}\n${n} ${v}\n`).join('');
  }

  /** Ends every stream (SSE with a comment: EventSource reconnects elsewhere and resumes; gateway streams with code 14, as a member shutting down) and every feed. */
  close(reason = 'edgecd proxy shutting down'): void {
    clearInterval(this.heartbeat);
    for (const s of [...this.subscribers]) s.shutdown(reason);
    for (const s of [...this.gatewayStreams]) s.end(reason, 14);
    for (const f of [...this.feeds.values()]) f.close();
  }
}

