import { Errors } from '../errors.ts';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './rpc-types.ts';

/** The checks etcd's v3rpc layer makes before a request reaches raft (api/v3rpc/key.go). */

export function checkRange(r: RangeRequest): void {
  if (r.key === '') throw Errors.emptyKey();
}

export function checkPut(r: PutRequest): void {
  if (r.key === '') throw Errors.emptyKey();
  if (r.ignoreValue && r.value !== '') throw Errors.valueProvided();
  if (r.ignoreLease && r.lease !== 0n) throw Errors.leaseProvided();
}

export function checkDelete(r: DeleteRangeRequest): void {
  if (r.key === '') throw Errors.emptyKey();
}

export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  checkTxnOps(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnOps(r: TxnRequest, maxTxnOps: number): void {
  if (Math.max(r.compare.length, r.success.length, r.failure.length) > maxTxnOps) throw Errors.tooManyOps();
  for (const c of r.compare) if (c.key === '') throw Errors.emptyKey();
  for (const op of r.success) checkOp(op, maxTxnOps);
  for (const op of r.failure) checkOp(op, maxTxnOps);
}

function checkOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange) checkRange(op.requestRange);
  else if (op.requestPut) checkPut(op.requestPut);
  else if (op.requestDeleteRange) checkDelete(op.requestDeleteRange);
  else if (op.requestTxn) checkTxnOps(op.requestTxn, maxTxnOps);
  else throw Errors.keyNotFound(); // an op with no request in it
}

/** Half-open [begin, end) of a delete; a point when end is undefined. */
interface Interval {
  begin: string;
  end: string | undefined;
}

const covers = (iv: Interval, k: string): boolean => (iv.end === undefined ? iv.begin === k : iv.begin <= k && k < iv.end);

/**
 * No key may be written twice by one txn: puts and deletes must not overlap, except a put in both
 * branches of a nested txn, which can never both run (etcd's checkIntervals).
 */
function checkIntervals(ops: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    const d = op.requestDeleteRange;
    if (d) dels.push({ begin: d.key, end: d.rangeEnd !== '' ? d.rangeEnd : undefined });
  }
  const deleted = (k: string) => dels.some((iv) => covers(iv, k));
  const puts = new Set<string>();
  for (const op of ops) {
    if (!op.requestTxn) continue;
    const then = checkIntervals(op.requestTxn.success);
    const otherwise = checkIntervals(op.requestTxn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deleted(k)) throw Errors.duplicateKey();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw Errors.duplicateKey();
      if (deleted(k)) throw Errors.duplicateKey();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    const p = op.requestPut;
    if (!p) continue;
    if (puts.has(p.key) || deleted(p.key)) throw Errors.duplicateKey();
    puts.add(p.key);
  }
  return { puts, dels };
}
