import { batchOf, type LogBatch } from './batch.ts';
import type { EventLog } from './event-log.ts';
import { createRequest, type FeedOptions, type FeedSpec, type FeedStats } from './feed-spec.ts';
import type { Upstream, UpstreamWatch, UpstreamWatchResponse } from './upstream.ts';

/** What a catch-up found: batches after its start, complete up to `through`; or the start was compacted. */
export interface History {
  batches: LogBatch[];
  through: number;
  compacted?: number;
}

/**
 * A feed's history beyond its ring: the shared event log as far as it chains, then a catch-up
 * watch on the cluster, shared by every subscriber that needs the same start revision.
 */
export class FeedHistory {
  private readonly catchUps = new Map<number, Promise<History>>();

  constructor(
    private readonly spec: FeedSpec,
    private readonly upstream: Upstream,
    private readonly log: EventLog,
    private readonly stats: FeedStats,
    private readonly opts: FeedOptions,
    /** The feed's name in the event log (it changes once the cluster id is known). */
    private readonly logName: () => string,
    /** The token a catch-up watch is opened with. */
    private readonly token: () => string | undefined,
  ) {}

  /** Every event after `after` up to at least `target` (where the feed's ring begins): from the event log, then the cluster. */
  async read(after: number, target: number): Promise<History> {
    let batches: LogBatch[] = [];
    let through = after;
    const logged = await this.log.read(this.logName(), after);
    if (logged) {
      batches = logged.batches;
      through = logged.through;
      if (logged.batches.length) this.stats.logHits++;
    }
    if (through >= target) return { batches, through };
    let p = this.catchUps.get(through);
    if (!p) {
      const from = through;
      p = this.fromCluster(from, target).finally(() => this.catchUps.delete(from));
      this.catchUps.set(from, p);
    }
    const h = await p;
    return { batches: batches.concat(h.batches), through: h.through, compacted: h.compacted };
  }

  /** A watch from after + 1, read until a progress answer says it has reached target. */
  private fromCluster(after: number, target: number): Promise<History> {
    this.stats.catchUps++;
    return new Promise<History>((resolve, reject) => {
      const batches: LogBatch[] = [];
      let through = after;
      let done = false;
      let w: UpstreamWatch | undefined;
      const finish = (err?: Error, h?: History) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        w?.close();
        if (err) reject(err);
        else resolve(h!);
      };
      const timer = setTimeout(() => finish(new Error('catch-up timed out')), this.opts.catchUpTimeoutMs);
      timer.unref?.();
      const ask = () => !done && w?.send({ progress_request: {} });
      let open = true;
      w = this.upstream.watch(this.token(), {
        onMessage: (m) => {
          if (done) return;
          const r: UpstreamWatchResponse | undefined = m.result;
          if (!r || m.error) return finish(new Error(m.error?.message ?? 'catch-up error'));
          if (r.created) {
            if (r.canceled) return finish(new Error(r.cancel_reason ?? 'catch-up refused'));
            return void ask();
          }
          if (r.canceled) {
            if (r.compact_revision) return finish(undefined, { batches: [], through: after, compacted: Number(r.compact_revision) });
            return finish(new Error(r.cancel_reason ?? 'catch-up canceled'));
          }
          const b = batchOf(r, through);
          if (b) {
            batches.push(b);
            through = Math.max(through, b.rev);
            return;
          }
          const rev = Number(r.header?.revision ?? 0);
          if (rev > through) through = rev;
          if (through >= target) finish(undefined, { batches, through });
          else setTimeout(ask, 20).unref?.();
        },
        onEnd: (err) => {
          if (open) this.stats.upstreamWatches--;
          open = false;
          if (!done && w) this.upstream.failed(w.endpoint);
          finish(err ?? new Error('catch-up stream ended'));
        },
      });
      this.stats.upstreamWatches++;
      w.send(createRequest(this.spec, after + 1));
    });
  }
}
