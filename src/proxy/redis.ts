import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { batchFromStored, type LogBatch } from './batch.ts';
import { chainFrom, type EventLog } from './event-log.ts';

/**
 * A connection that fails fast: while Redis is away, commands are refused at once (no offline
 * queue, no retries) and the proxy answers from the cluster instead; it reconnects by itself.
 */
export function connectRedis(url: string): Redis {
  const r = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    lazyConnect: false,
  });
  // Errors are seen by each command; the connection's own are expected while Redis is down.
  r.on('error', () => {});
  return r;
}

const rangeKey = (prefix: string, range: string) => `${prefix}events:${createHash('sha1').update(range).digest('hex')}`;

/** How many entries one XRANGE reads at a time. */
const PAGE = 1_000;
/** A range's stream expires this long after its last append (an unwatched range leaves nothing behind). */
const TTL_MS = 24 * 3600_000;

/**
 * The event log as one Redis stream per watched range, entry id = the batch's revision. Every proxy
 * watching the range appends the same batches; XADD refuses an id at or below the last one, so the
 * second writer of a revision is a no-op. Each stream is capped at about `maxEntries` (XADD MAXLEN ~).
 */
export class RedisEventLog implements EventLog {
  private readonly reads = new Map<string, Promise<{ batches: LogBatch[]; through: number } | undefined>>();
  private readonly expiresSet = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly maxEntries: number,
    private readonly prefix = 'edgecd:',
  ) {}

  append(range: string, b: LogBatch): void {
    if (this.redis.status !== 'ready') return;
    const key = rangeKey(this.prefix, range);
    this.redis.xadd(key, 'MAXLEN', '~', this.maxEntries, `${b.rev}-0`, 'f', b.from, 'd', b.data).catch(() => {
      // "equal or smaller than the target stream top item": another proxy wrote it. Other errors
      // leave a gap, which the next entry's `from` exposes to readers.
    });
    const now = Date.now();
    if ((this.expiresSet.get(key) ?? 0) < now - 60_000) {
      this.expiresSet.set(key, now);
      this.redis.pexpire(key, TTL_MS).catch(() => {});
    }
  }

  read(range: string, after: number): Promise<{ batches: LogBatch[]; through: number } | undefined> {
    const id = `${range}\n${after}`;
    let p = this.reads.get(id);
    if (!p) {
      p = this.readChain(rangeKey(this.prefix, range), after).finally(() => this.reads.delete(id));
      this.reads.set(id, p);
    }
    return p;
  }

  private async readChain(key: string, after: number): Promise<{ batches: LogBatch[]; through: number } | undefined> {
    if (this.redis.status !== 'ready') return undefined;
    const batches: LogBatch[] = [];
    let through = after;
    try {
      for (;;) {
        const entries = await this.redis.xrange(key, `${through + 1}-0`, '+', 'COUNT', PAGE);
        const stored = entries.map(([id, fields]) => {
          const f = fieldMap(fields);
          return batchFromStored(Number(id.split('-')[0]), Number(f.f), f.d);
        });
        const chain = chainFrom(stored, through);
        batches.push(...chain.batches);
        through = chain.through;
        if (entries.length < PAGE || chain.batches.length < stored.length) break;
      }
    } catch {
      return undefined;
    }
    return { batches, through };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

function fieldMap(fields: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) m[fields[i]] = fields[i + 1];
  return m;
}

/** Serializable read answers shared between proxies; each proxy checks them against its own feeds before use. */
export class RedisReadStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs = 60_000,
    private readonly prefix = 'edgecd:',
  ) {}

  private key(k: string): string {
    return `${this.prefix}read:${createHash('sha1').update(k).digest('hex')}`;
  }

  async get(k: string): Promise<{ rev: number; body: string } | undefined> {
    if (this.redis.status !== 'ready') return undefined;
    const v = await this.redis.get(this.key(k));
    if (!v) return undefined;
    const nl = v.indexOf('\n');
    return { rev: Number(v.slice(0, nl)), body: v.slice(nl + 1) };
  }

  set(k: string, v: { rev: number; body: string }): void {
    if (this.redis.status !== 'ready') return;
    this.redis.set(this.key(k), `${v.rev}\n${v.body}`, 'PX', this.ttlMs).catch(() => {});
  }
}
