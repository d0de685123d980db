import type { AuthInfo } from '../../auth/index.ts';
import { Errors } from '../../errors.ts';
import type { KeyValue } from '../../mvcc/types.ts';
import { Watcher, type EventBatch } from '../../mvcc/watcher-group.ts';
import type { ResponseHeader } from '../rpc-types.ts';
import { missingLeaderKey, noLeader, notLeader, viaClient } from './errors.ts';
import { byRevision, LeaderTracker } from './leader-tracker.ts';
import {
  type CoordinationKv,
  type CoordinationLeases,
  createRevisionIs,
  DEFAULT_SESSION_TTL,
  deleteOp,
  firstCreated,
  getOp,
  kvsOf,
  prefixEnd,
  putOp,
  rangeRequest,
  sessionKey,
} from './requests.ts';
import { type KeyWatches, waitDeletes } from './wait-deletes.ts';

/** v3electionpb.LeaderKey: what a campaign answers and proclaim and resign are given. */
export interface LeaderKey {
  name: string;
  key: string;
  /** The key's create revision: a fencing token (compare it in a txn). */
  rev: number;
  lease: bigint;
}

/** Where observe sends what it sees. */
export interface ObserveSink {
  /** False while the client cannot take more: the observer then catches up from history later. */
  readonly writable: boolean;
  /** Observing starts after revision rev (the first leader, if any, follows). */
  start?(rev: number): void;
  /** The leader's key-value, as of revision rev. */
  leader(kv: KeyValue, rev: number): void;
  /** The observer cannot go on (its history was compacted away while it lagged). */
  end(err: unknown): void;
}

/** An observer running: close it when its client goes; kick it when its client can take more again. */
export interface Observer {
  close(): void;
  kick(): void;
}

export interface ObserveOptions {
  /** Resume after this revision (what the client last saw), without repeating the leader of then. */
  afterRev?: number;
}

/**
 * etcd's v3election service, as clientv3's concurrency.Election runs it: a campaign puts the
 * session's key under the name and waits until every older key is gone; the leader is the key
 * with the lowest create revision; proclaim and resign act only while that key still has the
 * create revision the campaign answered.
 */
export class ElectionService {
  constructor(
    private readonly kv: CoordinationKv,
    private readonly leases: CoordinationLeases,
    private readonly watches: KeyWatches,
  ) {}

  /** etcd's session: a lease of 0 grants a 60 s lease that nobody renews. */
  private async session(lease: bigint, ai: AuthInfo): Promise<bigint> {
    return lease === 0n ? (await this.leases.grant(0n, DEFAULT_SESSION_TTL, ai)).ID : lease;
  }

  async campaign(name: string, lease: bigint, value: string, ai: AuthInfo, signal: AbortSignal): Promise<{ header: ResponseHeader; leader: LeaderKey }> {
    try {
      lease = await this.session(lease, ai);
      const prefix = name + '/';
      const key = sessionKey(prefix, lease);
      const resp = await this.kv.txn({ compare: [createRevisionIs(key, 0)], success: [putOp(key, value, lease)], failure: [getOp(rangeRequest({ key }))] }, ai);
      const leader: LeaderKey = { name, key, rev: resp.header.revision, lease };
      if (!resp.succeeded) {
        // This session campaigned already: keep its place, with the new value.
        const kv = kvsOf(resp, 0)[0];
        leader.rev = kv.createRevision;
        if (kv.value !== value) {
          try {
            await this.put(leader, value, ai);
          } catch (err) {
            await this.delete(leader, ai).catch(() => {});
            throw err === notLeaderMarker ? notLeader() : err;
          }
        }
      }
      try {
        signal.throwIfAborted();
        await waitDeletes(this.kv, this.watches, prefix, leader.rev - 1, ai, signal);
        signal.throwIfAborted();
      } catch (err) {
        // A campaigner gone while waiting resigns, as etcd's Campaign does on a cancelled context.
        if (signal.aborted) await this.delete(leader, ai).catch(() => {});
        throw err;
      }
      return { header: resp.header, leader };
    } catch (err) {
      throw viaClient(err);
    }
  }

  async proclaim(leader: LeaderKey | undefined, value: string, ai: AuthInfo): Promise<{ header: ResponseHeader }> {
    if (!leader) throw missingLeaderKey();
    try {
      const lease = await this.session(leader.lease, ai);
      return { header: await this.put({ ...leader, lease }, value, ai) };
    } catch (err) {
      throw viaClient(err === notLeaderMarker ? notLeader() : err);
    }
  }

  /** Gives up leadership (or a place in the queue). Answers the same whether or not the key was still there. */
  async resign(leader: LeaderKey | undefined, ai: AuthInfo): Promise<{ header: ResponseHeader }> {
    if (!leader) throw missingLeaderKey();
    try {
      await this.session(leader.lease, ai);
      return { header: await this.delete(leader, ai) };
    } catch (err) {
      throw viaClient(err);
    }
  }

  async leader(name: string, ai: AuthInfo): Promise<{ header: ResponseHeader; kv: KeyValue }> {
    let resp;
    try {
      resp = await this.kv.range(firstCreated(name + '/'), ai);
    } catch (err) {
      throw viaClient(err);
    }
    if (resp.kvs.length === 0) throw noLeader();
    return { header: resp.header, kv: resp.kvs[0] };
  }

  /**
   * Follows the leader of name: sends the current one (unless resuming), then every change, in
   * revision order.
   */
  async observe(name: string, ai: AuthInfo, sink: ObserveSink, opts: ObserveOptions = {}): Promise<Observer> {
    const prefix = name + '/';
    const end = prefixEnd(prefix);
    // Errors are thrown as the KV service gives them (a compacted resume point stays recognisable).
    const start = await this.kv.range(rangeRequest({ key: prefix, rangeEnd: end, revision: opts.afterRev ?? 0 }), ai);
    const tracker = new LeaderTracker(start.kvs);
    const atRev = opts.afterRev ?? start.header.revision;
    sink.start?.(atRev);
    const first = tracker.next();
    if (first && opts.afterRev === undefined) sink.leader(first, atRev);
    const w = new Watcher(
      {
        get writable() {
          return sink.writable;
        },
        deliver(_w, batch: EventBatch) {
          for (const g of byRevision(batch.events)) {
            tracker.apply(g.events);
            const l = tracker.next();
            if (l) sink.leader(l, g.rev);
          }
        },
        compacted: () => sink.end(Errors.compacted()),
      },
      prefix,
      end,
      false,
    );
    this.watches.watch(w, atRev + 1);
    return { close: () => this.watches.cancel(w), kick: () => this.watches.kick() };
  }

  /** Proclaim's txn: the value goes in only while the key is the one the campaign made. */
  private async put(leader: LeaderKey, value: string, ai: AuthInfo): Promise<ResponseHeader> {
    const resp = await this.kv.txn({ compare: [createRevisionIs(leader.key, leader.rev)], success: [putOp(leader.key, value, leader.lease)], failure: [] }, ai);
    if (!resp.succeeded) throw notLeaderMarker;
    return resp.header;
  }

  private async delete(leader: LeaderKey, ai: AuthInfo): Promise<ResponseHeader> {
    const resp = await this.kv.txn({ compare: [createRevisionIs(leader.key, leader.rev)], success: [deleteOp(leader.key)], failure: [] }, ai);
    return resp.header;
  }
}

const notLeaderMarker = new Error('not leader');
