import type { EtcdError } from '../errors.ts';
import type { Bytes } from '../mvcc/types.ts';
import type { AuthStore } from './auth-store.ts';
import type { AuthInfo } from './types.ts';

/**
 * The permission checks etcd's authApplierV3 makes before a key-value request is applied, over
 * the shapes of the member's decoded requests (structurally: src/server's rpc-types fit). Each
 * returns etcd's error or undefined.
 *
 * Stricter than etcd 3.4.23, on purpose:
 * - a txn nested in a txn is checked like its parent; etcd 3.4 skips nested txns, so a user with
 *   no right to a key could write it through one (seen on etcd 3.4.23: a user with READWRITE on
 *   "a" only put "secret" inside {success:[{request_txn:{success:[{request_put:{key:"secret"}}]}}]});
 * - a put inside a txn is checked as a plain put is (prev_kv needs read, an attached lease needs
 *   write on its keys), as etcd's main branch does.
 */

export interface KeyRange {
  key: Bytes;
  rangeEnd: Bytes;
}

export interface PutLike {
  key: Bytes;
  prevKv: boolean;
  lease: bigint;
}

export interface DeleteLike {
  key: Bytes;
  rangeEnd: Bytes;
  prevKv: boolean;
}

export interface RequestOpLike {
  requestRange?: KeyRange;
  requestPut?: PutLike;
  requestDeleteRange?: DeleteLike;
  requestTxn?: TxnLike;
}

export interface TxnLike {
  compare: KeyRange[];
  success: RequestOpLike[];
  failure: RequestOpLike[];
}

/** The keys attached to a lease, or undefined when there is no such lease (the lessor's lookup). */
export type LeaseKeys = (id: bigint) => Iterable<Bytes> | undefined;

export function checkRange(store: AuthStore, ai: AuthInfo, r: KeyRange): EtcdError | undefined {
  return store.isRangePermitted(ai, r.key, r.rangeEnd);
}

/**
 * A put needs write on its key; with a lease, write on every key the lease holds already (else
 * the user could attach a key to a lease they could not revoke); with prev_kv, read on the key.
 */
export function checkPut(store: AuthStore, ai: AuthInfo, r: PutLike, leaseKeys: LeaseKeys): EtcdError | undefined {
  return store.isPutPermitted(ai, r.key) ?? checkLeaseKeys(store, ai, r.lease, leaseKeys) ?? (r.prevKv ? store.isRangePermitted(ai, r.key, '') : undefined);
}

export function checkDeleteRange(store: AuthStore, ai: AuthInfo, r: DeleteLike): EtcdError | undefined {
  return store.isDeleteRangePermitted(ai, r.key, r.rangeEnd) ?? (r.prevKv ? store.isRangePermitted(ai, r.key, r.rangeEnd) : undefined);
}

/** A lease revoke deletes the lease's keys: it needs write on each of them. */
export function checkLeaseRevoke(store: AuthStore, ai: AuthInfo, id: bigint, leaseKeys: LeaseKeys): EtcdError | undefined {
  return checkLeaseKeys(store, ai, id, leaseKeys);
}

/** Every compare needs read; then both branches, whichever runs (etcd checks both). */
export function checkTxn(store: AuthStore, ai: AuthInfo, t: TxnLike, leaseKeys: LeaseKeys): EtcdError | undefined {
  for (const c of t.compare) {
    const err = store.isRangePermitted(ai, c.key, c.rangeEnd);
    if (err) return err;
  }
  return checkOps(store, ai, t.success, leaseKeys) ?? checkOps(store, ai, t.failure, leaseKeys);
}

function checkOps(store: AuthStore, ai: AuthInfo, ops: RequestOpLike[], leaseKeys: LeaseKeys): EtcdError | undefined {
  for (const op of ops) {
    let err: EtcdError | undefined;
    if (op.requestRange) err = checkRange(store, ai, op.requestRange);
    // etcd checks a delete's prev_kv read before its write; the order decides nothing but is kept.
    else if (op.requestDeleteRange) err = (op.requestDeleteRange.prevKv ? store.isRangePermitted(ai, op.requestDeleteRange.key, op.requestDeleteRange.rangeEnd) : undefined) ?? store.isDeleteRangePermitted(ai, op.requestDeleteRange.key, op.requestDeleteRange.rangeEnd);
    else if (op.requestPut) err = checkPut(store, ai, op.requestPut, leaseKeys);
    else if (op.requestTxn) err = checkTxn(store, ai, op.requestTxn, leaseKeys);
    if (err) return err;
  }
  return undefined;
}

function checkLeaseKeys(store: AuthStore, ai: AuthInfo, id: bigint, leaseKeys: LeaseKeys): EtcdError | undefined {
  if (id === 0n) return undefined;
  const keys = leaseKeys(id);
  if (!keys) return undefined;
  for (const k of keys) {
    const err = store.isPutPermitted(ai, k);
    if (err) return err;
  }
  return undefined;
}
