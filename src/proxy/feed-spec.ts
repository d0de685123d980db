import type { LogBatch } from './batch.ts';

/** The watch a feed keeps upstream: every subscriber with the same spec shares it. */
export interface FeedSpec {
  /** Byte strings (latin1), as src/api's watch parameters give them: end undefined = the one key, '' = every key from key on. */
  key: string;
  end: string | undefined;
  prevKv: boolean;
  filters: number[];
}

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** The spec's identity: subscribers whose specs give the same id share one upstream watch. */
export function feedId(s: FeedSpec): string {
  return `${b64(s.key)}|${s.end === undefined ? '-' : b64(s.end)}|${s.prevKv ? 1 : 0}|${[...new Set(s.filters)].sort().join(',')}`;
}

/** The spec as a gateway create_request (base64 bytes; "\0" as range_end = every key from key on). */
export function createRequest(s: FeedSpec, startRevision: number): object {
  return {
    create_request: {
      key: b64(s.key),
      ...(s.end === undefined ? {} : { range_end: s.end === '' ? 'AA==' : b64(s.end) }),
      ...(startRevision > 0 ? { start_revision: String(startRevision) } : {}),
      ...(s.prevKv ? { prev_kv: true } : {}),
      ...(s.filters.length ? { filters: [...new Set(s.filters)].sort() } : {}),
    },
  };
}

/** One subscriber of a feed (an SSE stream, a watcher of a gateway stream): the feed decides what it gets, the subscriber writes it. */
export interface FeedSubscriber {
  /** Every event of the range up to `sent` has been written to it. */
  sent: number;
  /** Taking live events; false while it is catching up or fell behind. */
  live: boolean;
  readonly token: string | undefined;
  readonly wantsProgress: boolean;
  /** Whether it can take more bytes now. */
  readonly writable: boolean;
  readonly closed: boolean;
  created(after: number, header: string): void;
  /** Writes b (every event of b is after `sent`) and sets sent = b.rev. */
  deliver(b: LogBatch): void;
  progress(rev: number, header: string): void;
  compacted(compactRev: number, header: string): void;
  canceled(reason: string, header: string): void;
}

export interface FeedOptions {
  /** Batches kept in memory for subscribers that resume or fall behind. */
  ringSize: number;
  /** An idle feed asks the member for progress this often: it moves `delivered` on and proves the stream alive. */
  progressMs: number;
  /** A progress request unanswered this long means the stream hangs: it is dropped and watched again. */
  stallMs: number;
  /** How long a feed without subscribers keeps its upstream watch. */
  lingerMs: number;
  /** A catch-up from the cluster that has not reached its target by then is retried. */
  catchUpTimeoutMs: number;
}

export const DEFAULT_FEED_OPTIONS: FeedOptions = { ringSize: 4096, progressMs: 1_000, stallMs: 10_000, lingerMs: 2_000, catchUpTimeoutMs: 30_000 };

export interface FeedStats {
  /** Upstream watches open now: each feed's own, plus catch-ups from the cluster. */
  upstreamWatches: number;
  catchUps: number;
  logHits: number;
}
