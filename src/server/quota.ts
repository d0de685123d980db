import type { Clock } from './clock.ts';
import type { RaftRequest } from './raft-request.ts';
import type { RequestOp, TxnRequest } from './rpc-types.ts';

/** etcd's per-write overheads in its quota estimate. */
const KV_OVERHEAD = 256;
const LEASE_OVERHEAD = 64;
/** How stale the measured database size may get before a write measures it again. */
const SIZE_TTL_MS = 1000;

const putCost = (key: string, value: string) => KV_OVERHEAD + key.length + value.length;

function opsCost(ops: RequestOp[]): number {
  let n = 0;
  for (const op of ops) {
    if (op.requestPut) n += putCost(op.requestPut.key, op.requestPut.value);
    // etcd 3.4 counts only top-level puts; a nested txn's puts take space all the same.
    else if (op.requestTxn) n += txnCost(op.requestTxn);
  }
  return n;
}

/** The larger branch: only one of them runs. */
export function txnCost(r: TxnRequest): number {
  return Math.max(opsCost(r.success), opsCost(r.failure));
}

/** Bytes a write may add to the database (0: it cannot grow it). */
export function writeCost(req: Omit<RaftRequest, 'id'>): number {
  if (req.put) return putCost(req.put.key, req.put.value);
  if (req.txn) return txnCost(req.txn);
  if (req.leaseGrant) return LEASE_OVERHEAD;
  return 0;
}

/**
 * The member's database size as last measured: a query at most once a second, in the background,
 * so no caller waits on the database for it (a write behind a busy connection pool would).
 */
export class DatabaseSize {
  private bytes = 0;
  private measuredAt = -Infinity;
  private measuring: Promise<void> | undefined;

  constructor(
    private readonly measure: () => Promise<number>,
    private readonly clock: Clock,
  ) {}

  /** The last measurement (starting one when it is over a second old). */
  get current(): number {
    if (this.clock.now() - this.measuredAt > SIZE_TTL_MS) void this.refresh().catch(() => {});
    return this.bytes;
  }

  /** Counts bytes a write is about to add, until the next measurement says how many it took. */
  grow(n: number): void {
    this.bytes += n;
  }

  /** Measures now and waits for it (after a compaction or a defragment freed space; at start). */
  refresh(): Promise<void> {
    this.measuring ??= this.measure()
      .then((n) => {
        this.bytes = n;
        this.measuredAt = this.clock.now();
      })
      .finally(() => (this.measuring = undefined));
    return this.measuring;
  }
}

/**
 * --quota-backend-bytes: a write that could take the member's database past the quota is refused
 * before it is proposed (etcd's quota check), and raises the NOSPACE alarm. It decides at once on
 * the size last measured plus what was admitted since: the hot path never waits on the database.
 */
export class Quota {
  constructor(
    readonly bytes: number,
    private readonly size: DatabaseSize,
  ) {}

  admits(req: Omit<RaftRequest, 'id'>): boolean {
    const cost = writeCost(req);
    if (cost === 0) return true;
    if (this.size.current + cost >= this.bytes) return false;
    this.size.grow(cost);
    return true;
  }

  /** Measures again now (after a compaction or a defragment freed space). */
  refresh(): Promise<void> {
    return this.size.refresh();
  }
}
