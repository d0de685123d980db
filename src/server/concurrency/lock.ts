import type { AuthInfo } from '../../auth/index.ts';
import { Errors } from '../../errors.ts';
import type { ResponseHeader } from '../rpc-types.ts';
import { sessionExpired, viaClient } from './errors.ts';
import {
  type CoordinationKv,
  type CoordinationLeases,
  createRevisionIs,
  DEFAULT_SESSION_TTL,
  deleteOp,
  firstCreated,
  getOp,
  kvsOf,
  putOp,
  rangeRequest,
  sessionKey,
} from './requests.ts';
import { type KeyWatches, waitDeletes } from './wait-deletes.ts';

export interface LockResult {
  header: ResponseHeader;
  /** name/<lease in hex>: held until deleted (unlock) or its lease ends. Its create revision is a fencing token. */
  key: string;
}

/**
 * etcd's v3lock service: a lock is the key of the name with the lowest create revision, as
 * clientv3's concurrency.Mutex takes it. Waiters queue in create-revision order, each watching
 * only the key just before its own, so a release wakes one waiter.
 */
export class LockService {
  constructor(
    private readonly kv: CoordinationKv,
    private readonly leases: CoordinationLeases,
    private readonly watches: KeyWatches,
  ) {}

  /**
   * Answers once the caller holds the lock. A caller that goes away while waiting (signal) leaves
   * no key behind: the key this request created is deleted.
   */
  async lock(name: string, lease: bigint, ai: AuthInfo, signal: AbortSignal): Promise<LockResult> {
    try {
      // concurrency.NewSession: without a lease, etcd grants one of 60 s that nobody renews.
      if (lease === 0n) lease = (await this.leases.grant(0n, DEFAULT_SESSION_TTL, ai)).ID;
      const prefix = name + '/';
      const key = sessionKey(prefix, lease);
      const resp = await this.kv.txn(
        {
          compare: [createRevisionIs(key, 0)],
          success: [putOp(key, '', lease), getOp(firstCreated(prefix))],
          // The session already has a key here (a second lock with the same lease): take its place.
          failure: [getOp(rangeRequest({ key })), getOp(firstCreated(prefix))],
        },
        ai,
      );
      const myRev = resp.succeeded ? resp.header.revision : kvsOf(resp, 0)[0].createRevision;
      const owner = kvsOf(resp, 1);
      try {
        signal.throwIfAborted();
        if (owner.length === 0 || owner[0].createRevision === myRev) return { header: resp.header, key };
        await waitDeletes(this.kv, this.watches, prefix, myRev - 1, ai, signal);
        signal.throwIfAborted();
        // As etcd 3.5's Mutex.Lock (3.4 answers held): the lease may have ended while waiting,
        // taking this key with it; then the lock was never held and nothing guards the caller.
        const mine = await this.kv.range(rangeRequest({ key }), ai);
        if (mine.kvs[0]?.createRevision !== myRev) throw sessionExpired();
        return { header: mine.header, key };
      } catch (err) {
        // As etcd's Mutex.Lock: a caller gone while waiting takes its key out of the queue. Only
        // the key of this place in it: a later one of the same lease is not this request's.
        await this.kv.txn({ compare: [createRevisionIs(key, myRev)], success: [deleteOp(key)], failure: [] }, ai).catch(() => {});
        throw err;
      }
    } catch (err) {
      throw viaClient(err);
    }
  }

  async unlock(key: string, ai: AuthInfo): Promise<{ header: ResponseHeader }> {
    try {
      if (key === '') throw Errors.emptyKey();
      const resp = await this.kv.deleteRange({ key, rangeEnd: '', prevKv: false }, ai);
      return { header: resp.header };
    } catch (err) {
      throw viaClient(err);
    }
  }
}
