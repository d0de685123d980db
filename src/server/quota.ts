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
 * --quota-backend-bytes: a write that could take the member's database past the quota is refused
 * before it is proposed (etcd's quota check), and raises the NOSPACE alarm. The size is measured
 * at most once a second; between measurements, admitted writes count towards it.
 */
export class Quota {
  private size = 0;
  private measuredAt = -Infinity;
  private measuring: Promise<void> | undefined;

  constructor(
    readonly bytes: number,
    private readonly measure: () => Promise<number>,
    private readonly clock: Clock,
  ) {}

  /**
   * Whether the write fits: at once while the last measurement is fresh (the hot path stays
   * synchronous), after measuring the database again when it is stale.
   */
  admits(req: Omit<RaftRequest, 'id'>): boolean | Promise<boolean> {
    const cost = writeCost(req);
    if (cost === 0) return true;
    if (this.clock.now() - this.measuredAt > SIZE_TTL_MS) return this.refresh().then(() => this.take(cost));
    return this.take(cost);
  }

  private take(cost: number): boolean {
    if (this.size + cost >= this.bytes) return false;
    this.size += cost;
    return true;
  }

  /** Measures again now (after a compaction or a defragment freed space). */
  refresh(): Promise<void> {
    this.measuring ??= this.measure()
      .then((n) => {
        this.size = n;
        this.measuredAt = this.clock.now();
      })
      .finally(() => (this.measuring = undefined));
    return this.measuring;
  }
}
