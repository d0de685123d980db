import type { KeyValue } from '../../mvcc/types.ts';
import type { AuthInfo } from '../../auth/index.ts';
import type { LeaseGrantResult } from '../applier.ts';
import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  RangeRequest,
  RangeResponse,
  RequestOp,
  TxnRequest,
  TxnResponse,
} from '../rpc-types.ts';
import { CompareResult, CompareTarget, SortOrder, SortTarget } from '../rpc-types.ts';

/**
 * What locks and elections need of the member: the KV and lease services, called as the client
 * would call them, so every step is checked against the caller's permissions and goes through the
 * log like any other request (etcd's v3lock and v3election run clientv3's concurrency package on an
 * in-process client).
 */
export interface CoordinationKv {
  range(req: RangeRequest, ai: AuthInfo): Promise<RangeResponse>;
  txn(req: TxnRequest, ai: AuthInfo): Promise<TxnResponse>;
  deleteRange(req: DeleteRangeRequest, ai: AuthInfo): Promise<DeleteRangeResponse>;
}

export interface CoordinationLeases {
  /** ID 0: the member picks one. */
  grant(ID: bigint, TTL: number, ai: AuthInfo): Promise<LeaseGrantResult>;
}

/** concurrency.NewSession's TTL when no lease is given: etcd grants one and never renews it. */
export const DEFAULT_SESSION_TTL = 60;

/** The key after every key that starts with prefix (clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return '\0';
}

export function rangeRequest(r: Partial<RangeRequest> & { key: string }): RangeRequest {
  return {
    rangeEnd: '',
    limit: 0,
    revision: 0,
    sortOrder: SortOrder.NONE,
    sortTarget: SortTarget.KEY,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...r,
  };
}

/** clientv3.WithFirstCreate on a prefix: the key with the lowest create revision. */
export const firstCreated = (prefix: string): RangeRequest =>
  rangeRequest({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: SortTarget.CREATE, sortOrder: SortOrder.ASCEND, limit: 1 });

/** clientv3.WithLastCreate plus WithMaxCreateRev: the newest key created at or before maxCreateRev. */
export const lastCreatedBefore = (prefix: string, maxCreateRev: number): RangeRequest =>
  rangeRequest({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: SortTarget.CREATE, sortOrder: SortOrder.DESCEND, limit: 1, maxCreateRevision: maxCreateRev });

export const createRevisionIs = (key: string, rev: number) => ({ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, rangeEnd: '', createRevision: rev });

export const putOp = (key: string, value: string, lease: bigint): RequestOp => ({
  requestPut: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } satisfies PutRequest,
});
export const getOp = (req: RangeRequest): RequestOp => ({ requestRange: req });
export const deleteOp = (key: string): RequestOp => ({ requestDeleteRange: { key, rangeEnd: '', prevKv: false } });

/** The kvs a txn's i-th response read. */
export const kvsOf = (resp: TxnResponse, i: number): KeyValue[] => resp.responses[i]?.responseRange?.kvs ?? [];

/** The key a session with this lease owns under a prefix: clientv3 writes "%s%x". */
export const sessionKey = (prefix: string, lease: bigint): string => prefix + lease.toString(16);
