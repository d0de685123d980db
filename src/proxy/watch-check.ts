import type { HeaderInfo } from '../api/json/encode.ts';
import { watchCancelReason } from '../api/watch/encode.ts';
import type { FeedStats } from './feed-spec.ts';
import type { Upstream, UpstreamWatch } from './upstream.ts';

/** A member's answer header: the cluster's identity and the member's revision. */
export interface ClusterHeader {
  info: HeaderInfo;
  revision: number;
}

/** What a member would answer a create request: refused (its cancel_reason), or created at header.revision, maybe compacted. */
export type CreateCheck = { refused: string; header: ClusterHeader } | { header: ClusterHeader; compacted: boolean };

interface RawHeader {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
  raft_term?: string;
}

export function clusterHeader(h: RawHeader | undefined): ClusterHeader {
  return {
    info: { clusterId: h?.cluster_id ?? '0', memberId: h?.member_id ?? '0', raftTerm: Number(h?.raft_term ?? 0) },
    revision: Number(h?.revision ?? 0),
  };
}

/** A read, tried again when the member went away under it (the next try finds its connection refused and moves to the next endpoint): reads are safe to repeat. */
async function retried<T>(f: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100 * i));
    }
  }
}

/** gRPC codes with which a member refuses a watch's token or range (a cancel_reason, not a stream error). */
const REFUSALS = new Set([3, 7, 16]);

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/**
 * Asks the cluster what a member would answer a gateway watch request, without opening a watch:
 * the member checks a create request's token and range as it checks a range read of the same
 * [key, range_end) (both go through its read permission check), so a serializable count_only
 * range with the client's token answers with the member's refusal, or with the member's revision
 * then (a create's header revision). Given `revision: start_revision`, the same read says whether
 * the start was compacted (a range and a watch use the same rule: below the compacted revision).
 */
export class WatchChecker {
  constructor(
    private readonly upstream: Upstream,
    private readonly stats: FeedStats,
  ) {}

  /** key and rangeEnd as the request gives them (bytes; '' = none), not yet turned into a watched range. */
  async create(key: string, rangeEnd: string, startRev: number, token: string | undefined): Promise<CreateCheck> {
    let a = await this.range(key, rangeEnd, startRev > 0 ? startRev : 0, token);
    let compacted = false;
    if (!a.ok && a.code === 11 && startRev > 0) {
      // A compacted or a future start: the range was permitted (the member checks that first); ask for the revision.
      compacted = /compacted/.test(a.message);
      a = await this.range(key, rangeEnd, 0, token);
    }
    if (a.ok) return { header: a.header, compacted };
    if (REFUSALS.has(a.code)) return { refused: watchCancelReason(a.code, a.message), header: await this.current() };
    throw new Error(`the member answered ${a.status}: ${a.message}`);
  }

  /** The member's revision now, in its header (what a progress answer or a refusal carries). Status needs no token. */
  async current(): Promise<ClusterHeader> {
    const a = await retried(() => this.upstream.call('/v3/maintenance/status', '{}'));
    if (a.status !== 200) throw new Error(`the member answered ${a.status}: ${a.body}`);
    return clusterHeader((JSON.parse(a.body) as { header?: RawHeader }).header);
  }

  private async range(key: string, rangeEnd: string, revision: number, token: string | undefined) {
    const body: Record<string, unknown> = { key: b64(key), serializable: true, count_only: true };
    if (rangeEnd !== '') body.range_end = b64(rangeEnd);
    if (revision) body.revision = String(revision);
    const a = await retried(() => this.upstream.call('/v3/kv/range', JSON.stringify(body), token));
    let parsed: { header?: RawHeader; error?: string; message?: string; code?: number } = {};
    try {
      parsed = JSON.parse(a.body);
    } catch {
      // not JSON: an answer from something that is not a member
    }
    if (a.status === 200) return { ok: true as const, header: clusterHeader(parsed.header) };
    return { ok: false as const, status: a.status, code: parsed.code ?? -1, message: parsed.error ?? parsed.message ?? a.body };
  }

  /**
   * The compact_revision a member answers a watch from startRev with, once the range check said the
   * start is compacted (or it is negative, which a member always answers compacted): a watch of its
   * own, read until the member says compacted (the revision) or sends events (undefined: not
   * compacted after all).
   */
  compactRevision(key: string, rangeEnd: string, startRev: number, token: string | undefined, timeoutMs = 10_000): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      let done = false;
      let w: UpstreamWatch | undefined;
      let open = true;
      const finish = (err: Error | undefined, rev?: number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        w?.close();
        if (err) reject(err);
        else resolve(rev);
      };
      const timer = setTimeout(() => finish(new Error('compaction check timed out')), timeoutMs);
      timer.unref?.();
      w = this.upstream.watch(token, {
        onMessage: (m) => {
          const r = m.result;
          if (!r) return finish(new Error(m.error?.message ?? 'compaction check failed'));
          if (r.canceled && r.compact_revision) return finish(undefined, Number(r.compact_revision));
          if (r.created && !r.canceled) return; // the compacted answer follows
          finish(undefined, undefined);
        },
        onEnd: (err) => {
          if (open) this.stats.upstreamWatches--;
          open = false;
          finish(err ?? new Error('compaction check stream ended'));
        },
      });
      this.stats.upstreamWatches++;
      const req: Record<string, unknown> = { key: b64(key), start_revision: String(startRev) };
      if (rangeEnd !== '') req.range_end = b64(rangeEnd);
      w.send({ create_request: req });
    });
  }
}
