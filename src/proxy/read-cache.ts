import type { FeedSpec } from './feed-spec.ts';
import type { RangeFeed } from './range-feed.ts';
import type { Upstream, UpstreamAnswer } from './upstream.ts';

/** A stored answer to a serializable range: its body, and the revision it was read at. */
export interface CachedRead {
  rev: number;
  body: string;
}

/** Where answers are shared between proxies (Redis); failures are misses. */
export interface SharedReadStore {
  get(key: string): Promise<CachedRead | undefined>;
  set(key: string, v: CachedRead): void;
}

export interface RangeRequest {
  key: string;
  rangeEnd: string;
  serializable: boolean;
  revision: number;
}

const bytes = (b64: unknown): string => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('latin1') : '');

/** The fields of a range request the cache decides on; undefined when the body is not plain JSON. */
export function parseRange(body: string): RangeRequest | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!j || typeof j !== 'object') return undefined;
  const ser = j.serializable;
  const rev = j.revision;
  return {
    key: bytes(j.key),
    rangeEnd: bytes(j.range_end ?? j.rangeEnd),
    serializable: ser === true || ser === 'true',
    revision: typeof rev === 'string' || typeof rev === 'number' ? Number(rev) || 0 : 0,
  };
}

/** Whether the feed's watch sees every change of the request's keys (byte strings compare as etcd's keys). */
export function covers(spec: FeedSpec, r: RangeRequest, ignoreFilters = false): boolean {
  if (spec.filters.length && !ignoreFilters) return false;
  const fk = spec.key;
  const fe = spec.end;
  const single = r.rangeEnd === '';
  const toEnd = r.rangeEnd === '\0';
  const key = r.key === '' && !single ? '\0' : r.key;
  if (fe === undefined) return single && key === fk;
  if (key < fk) return false;
  if (fe === '') return true;
  if (single) return key < fe;
  return !toEnd && r.rangeEnd <= fe;
}

export interface ReadCacheStats {
  hits: number;
  sharedHits: number;
  misses: number;
  /** Serializable answers older than what a feed had delivered, read again linearizably. */
  staleRefused: number;
}

const MAX_LOCAL = 10_000;

/**
 * Serializable ranges answered from memory (and from other proxies through `shared`), only where a
 * feed of this proxy watches every key of the range and is synced: an answer read at revision R
 * stays the range's state for as long as the feed has seen no event above R. So a cached answer is
 * never older than what the proxy has delivered on that range. Without such a feed, or with a
 * token (permissions differ by user), the read goes to the cluster; and any serializable answer
 * older than what a covering feed delivered is read again linearizably. A hit is served only once
 * the cluster confirms auth is still off (see authOff).
 */
export class ReadCache {
  private readonly local = new Map<string, CachedRead>();
  readonly stats: ReadCacheStats = { hits: 0, sharedHits: 0, misses: 0, staleRefused: 0 };

  constructor(
    private readonly upstream: Upstream,
    private readonly feeds: () => Iterable<RangeFeed>,
    private readonly shared?: SharedReadStore,
  ) {}

  private coveringFeeds(r: RangeRequest): RangeFeed[] {
    const out: RangeFeed[] = [];
    for (const f of this.feeds()) if (f.state !== 'closed' && coversAny(f, r)) out.push(f);
    return out;
  }

  private static valid(f: RangeFeed, c: CachedRead): boolean {
    return f.cacheable && f.state === 'live' && c.rev >= f.start && f.lastEventRev <= c.rev;
  }

  /** Answers POST /v3/kv/range. */
  async range(path: string, body: string, token: string | undefined): Promise<UpstreamAnswer> {
    const r = parseRange(body);
    if (!r || r.revision !== 0) return this.upstream.call(path, body, token);
    const feeds = this.coveringFeeds(r);
    if (feeds.length === 0) return this.upstream.call(path, body, token);
    const floor = Math.max(...feeds.map((f) => f.delivered));
    const exact = feeds.find((f) => covers(f.spec, r) && f.cacheable && f.state === 'live');
    const useCache = r.serializable && token === undefined && exact !== undefined;
    const key = `${exact?.clusterId ?? ''}\n${path}\n${body}`;
    if (useCache) {
      const c = this.local.get(key);
      if (c && ReadCache.valid(exact, c) && (await this.authOff()) && ReadCache.valid(exact, c)) {
        this.stats.hits++;
        return { status: 200, body: c.body, endpoint: 'cache' };
      }
      const s = await this.shared?.get(key).catch(() => undefined);
      if (s && ReadCache.valid(exact, s) && (await this.authOff()) && ReadCache.valid(exact, s)) {
        this.stats.sharedHits++;
        this.remember(key, s);
        return { status: 200, body: s.body, endpoint: 'cache' };
      }
      this.stats.misses++;
    }
    let a = await this.upstream.call(path, body, token);
    if (!r.serializable || a.status !== 200) return a;
    let rev = revisionOf(a.body);
    if (rev < floor) {
      // The member that answered is behind what this proxy has delivered on the range.
      this.stats.staleRefused++;
      a = await this.upstream.call(path, JSON.stringify({ ...JSON.parse(body), serializable: false }), token);
      if (a.status !== 200) return a;
      rev = revisionOf(a.body);
    }
    if (useCache && ReadCache.valid(exact, { rev, body: '' })) {
      const c = { rev, body: a.body };
      this.remember(key, c);
      this.shared?.set(key, c);
    }
    return a;
  }

  /** /v3/auth/status calls made for hits (each shared by every hit that waited for it). */
  authChecks = 0;
  private authQueued: Promise<boolean> | undefined;
  private authRunning: Promise<boolean> | undefined;

  /**
   * Whether auth is off on the cluster, asked after the caller arrived. A cached answer was read
   * without a token while auth was off; once auth is enabled (through any proxy or member, and no
   * key need change) a read without a token must be refused as the member refuses it, so every hit
   * waits for an /v3/auth/status asked after it came. One status call is in flight at a time and
   * the next one is shared by every hit that arrives while it waits.
   */
  private authOff(): Promise<boolean> {
    if (this.authQueued) return this.authQueued;
    const prev = this.authRunning ?? Promise.resolve(false);
    const q = prev
      .catch(() => false)
      .then(() => {
        this.authQueued = undefined;
        this.authChecks++;
        const r = this.upstream.call('/v3/auth/status', '{}', undefined).then(
          (a) => a.status === 200 && (JSON.parse(a.body) as { enabled?: boolean }).enabled !== true,
          () => false,
        );
        this.authRunning = r;
        void r.finally(() => {
          if (this.authRunning === r) this.authRunning = undefined;
        });
        return r;
      });
    this.authQueued = q;
    return q;
  }

  private remember(key: string, c: CachedRead): void {
    if (this.local.size >= MAX_LOCAL) {
      let n = MAX_LOCAL / 10;
      for (const k of this.local.keys()) {
        this.local.delete(k);
        if (--n <= 0) break;
      }
    }
    this.local.set(key, c);
  }
}

/** Whether f watches every key the request reads, whatever its filters (for the freshness floor). */
const coversAny = (f: RangeFeed, r: RangeRequest): boolean => covers(f.spec, r, true);

function revisionOf(body: string): number {
  const m = /"revision":"(\d+)"/.exec(body.slice(0, 200));
  return m ? Number(m[1]) : 0;
}
