import type { KvStore, RangeResult, WriteTxn, RangeOptions } from '../mvcc/kv-store.ts';
import { type Bytes, type KeyValue, MvccError, CompactedError, FutureRevError } from '../mvcc/types.ts';
import { Errors, EtcdError } from '../errors.ts';
import {
  type Compare,
  CompareResult,
  CompareTarget,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  SortOrder,
  SortTarget,
  type TxnRequest,
  type TxnResponse,
} from './rpc-types.ts';

/**
 * The key-space half of etcd's applier (etcdserver/apply.go), pure over the MVCC store.
 * Values read from history arrive later: their completions go into `waits`, and the answer is final
 * once those settle.
 */

export interface ReadView {
  range(key: Bytes, end: Bytes | undefined, opts?: RangeOptions): RangeResult;
}

export interface KvContext {
  store: KvStore;
  leaseExists(id: bigint): boolean;
}

export type Waits = Promise<void>[];

export function toEtcdError(err: unknown): unknown {
  if (err instanceof CompactedError) return Errors.compacted();
  if (err instanceof FutureRevError) return Errors.futureRev();
  if (err instanceof MvccError) return new EtcdError(2, err.message);
  return err;
}

/** etcd's mkGteRange plus the "no range_end = one key" rule: undefined = single key, '' = to the end. */
export function rangeEndOf(rangeEnd: Bytes): Bytes | undefined {
  if (rangeEnd === '') return undefined;
  if (rangeEnd === '\0') return '';
  return rangeEnd;
}

function mvcc<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toEtcdError(err);
  }
}

export function applyRange(view: ReadView, r: RangeRequest, waits: Waits): RangeResponse {
  let limit = r.limit;
  const filtered = r.minModRevision !== 0 || r.maxModRevision !== 0 || r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;
  if (r.sortOrder !== SortOrder.NONE || filtered) limit = 0;
  if (limit > 0) limit += 1; // one extra tells whether there is more
  const rr = mvcc(() => view.range(r.key, rangeEndOf(r.rangeEnd), { limit, rev: r.revision, countOnly: r.countOnly }));
  const resp: RangeResponse = { header: { revision: rr.rev }, kvs: [], more: false, count: rr.count };
  const finish = () => {
    let kvs = rr.kvs;
    if (r.maxModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision <= r.maxModRevision);
    if (r.minModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision >= r.minModRevision);
    if (r.maxCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision <= r.maxCreateRevision);
    if (r.minCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision >= r.minCreateRevision);
    let order = r.sortOrder;
    // The index yields keys ascending already; any other target sorts ascending by default.
    if (r.sortTarget !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
    if (order !== SortOrder.NONE) kvs = sortKvs(kvs, r.sortTarget, order === SortOrder.DESCEND);
    if (r.limit > 0 && kvs.length > r.limit) {
      kvs = kvs.slice(0, r.limit);
      resp.more = true;
    }
    if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
    resp.kvs = kvs;
  };
  if (rr.pending) waits.push(rr.pending.then(finish, (err) => Promise.reject(toEtcdError(err))));
  else finish();
  return resp;
}

function sortKvs(kvs: KeyValue[], target: number, descending: boolean): KeyValue[] {
  const field = (kv: KeyValue): number | string => {
    switch (target) {
      case SortTarget.VERSION:
        return kv.version;
      case SortTarget.CREATE:
        return kv.createRevision;
      case SortTarget.MOD:
        return kv.modRevision;
      case SortTarget.VALUE:
        return kv.value;
      default:
        return kv.key;
    }
  };
  const sign = descending ? -1 : 1;
  // Array.prototype.sort is stable: ties keep key order, as Go's insertion sort does on small sets.
  return [...kvs].sort((a, b) => {
    const x = field(a);
    const y = field(b);
    return x < y ? -sign : x > y ? sign : 0;
  });
}

export function applyPut(ctx: KvContext, txn: WriteTxn | undefined, p: PutRequest): PutResponse {
  let lease = p.lease;
  const own = txn === undefined;
  if (own && lease !== 0n && !ctx.leaseExists(lease)) throw Errors.leaseNotFound();
  const t = txn ?? ctx.store.write();
  try {
    const prev = p.ignoreValue || p.ignoreLease || p.prevKv ? t.get(p.key) : undefined;
    if ((p.ignoreValue || p.ignoreLease) && !prev) throw Errors.keyNotFound();
    const value = p.ignoreValue ? prev!.value : p.value;
    if (p.ignoreLease) lease = prev!.lease;
    const kv = t.put(p.key, value, lease);
    const resp: PutResponse = { header: { revision: kv.modRevision } };
    if (p.prevKv && prev) resp.prevKv = prev;
    return resp;
  } finally {
    if (own) t.end();
  }
}

export function applyDeleteRange(ctx: KvContext, txn: WriteTxn | undefined, d: DeleteRangeRequest): DeleteRangeResponse {
  const t = txn ?? ctx.store.write();
  const own = txn === undefined;
  try {
    const { deleted, prev } = t.deleteRange(d.key, rangeEndOf(d.rangeEnd));
    return { header: { revision: t.rev() }, deleted, prevKvs: d.prevKv ? prev : [] };
  } finally {
    if (own) t.end();
  }
}

export function isTxnReadonly(r: TxnRequest): boolean {
  const ro = (ops: RequestOp[]) =>
    ops.every((op) => !op.requestPut && !op.requestDeleteRange && (!op.requestTxn || isTxnReadonly(op.requestTxn)));
  return ro(r.success) && ro(r.failure);
}

function applyCompare(view: ReadView, c: Compare): boolean {
  let rr: RangeResult;
  try {
    rr = view.range(c.key, rangeEndOf(c.rangeEnd));
  } catch {
    return false;
  }
  if (rr.kvs.length === 0) {
    // A missing key has no value to compare: nil and "" look alike in protobuf.
    if (c.target === CompareTarget.VALUE) return false;
    return compareKv(c, undefined);
  }
  return rr.kvs.every((kv) => compareKv(c, kv));
}

function cmp<T extends number | bigint | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKv(c: Compare, kv: KeyValue | undefined): boolean {
  let result: number;
  switch (c.target) {
    case CompareTarget.VALUE:
      result = cmp(kv?.value ?? '', c.value ?? '');
      break;
    case CompareTarget.CREATE:
      result = cmp(kv?.createRevision ?? 0, c.createRevision ?? 0);
      break;
    case CompareTarget.MOD:
      result = cmp(kv?.modRevision ?? 0, c.modRevision ?? 0);
      break;
    case CompareTarget.VERSION:
      result = cmp(kv?.version ?? 0, c.version ?? 0);
      break;
    case CompareTarget.LEASE:
      result = cmp(kv?.lease ?? 0n, c.lease ?? 0n);
      break;
    default:
      result = 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
  }
  return true;
}

/** Every compare of every txn on the taken path, evaluated before any op runs (etcd's compareToPath). */
function compareToPath(view: ReadView, r: TxnRequest): boolean[] {
  const path = [r.compare.every((c) => applyCompare(view, c))];
  for (const op of path[0] ? r.success : r.failure) {
    if (op.requestTxn) path.push(...compareToPath(view, op.requestTxn));
  }
  return path;
}

function checkRequests(
  view: ReadView,
  r: TxnRequest,
  path: boolean[],
  check: (op: RequestOp) => void,
): number {
  let consumed = 1;
  const ops = path[0] ? r.success : r.failure;
  for (const op of ops) {
    if (op.requestTxn) consumed += checkRequests(view, op.requestTxn, path.slice(consumed), check);
    else check(op);
  }
  return consumed;
}

export function applyTxn(ctx: KvContext, r: TxnRequest, waits: Waits): TxnResponse {
  const store = ctx.store;
  const path = compareToPath(store, r);
  if (!isTxnReadonly(r)) {
    checkRequests(store, r, path, (op) => {
      const p = op.requestPut;
      if (!p) return;
      if ((p.ignoreValue || p.ignoreLease) && !store.index.getIndex(p.key)?.latest) throw Errors.keyNotFound();
      if (p.lease !== 0n && !ctx.leaseExists(p.lease)) throw Errors.leaseNotFound();
    });
  }
  checkRequests(store, r, path, (op) => {
    const rr = op.requestRange;
    if (!rr || rr.revision === 0) return;
    if (rr.revision > store.currentRev) throw Errors.futureRev();
    if (rr.revision < store.compactRev) throw Errors.compacted();
  });
  const txn = store.write();
  try {
    const resp = newTxnResp(r, path);
    runTxn(ctx, txn, r, path, resp, waits);
    resp.header.revision = txn.rev();
    return resp;
  } finally {
    txn.end();
  }
}

function newTxnResp(r: TxnRequest, path: boolean[]): TxnResponse {
  return { header: { revision: 0 }, succeeded: path[0], responses: [] };
}

/** Runs the ops of the taken branch; returns how many nested txns it went through. */
function runTxn(ctx: KvContext, txn: WriteTxn, r: TxnRequest, path: boolean[], resp: TxnResponse, waits: Waits): number {
  let txns = 0;
  for (const op of path[0] ? r.success : r.failure) {
    const out: ResponseOp = {};
    if (op.requestRange) out.responseRange = applyRange(txn, op.requestRange, waits);
    else if (op.requestPut) out.responsePut = applyPut(ctx, txn, op.requestPut);
    else if (op.requestDeleteRange) out.responseDeleteRange = applyDeleteRange(ctx, txn, op.requestDeleteRange);
    else if (op.requestTxn) {
      const rest = path.slice(txns + 1);
      const nested = newTxnResp(op.requestTxn, rest);
      const n = runTxn(ctx, txn, op.requestTxn, rest, nested, waits);
      txns += n + 1;
      out.responseTxn = nested;
    }
    resp.responses.push(out);
  }
  return txns;
}

export function applyCompaction(ctx: KvContext, c: CompactionRequest): CompactionResponse {
  mvcc(() => ctx.store.compact(c.revision));
  return { header: { revision: ctx.store.currentRev } };
}
