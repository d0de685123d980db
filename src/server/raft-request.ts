import type { AuthRequest } from '../auth/index.ts';
import type { CompactionRequest, DeleteRangeRequest, PutRequest, TxnRequest } from './rpc-types.ts';

/** What one raft entry carries: a write the state machine applies (etcd's InternalRaftRequest). */
export interface RaftRequest {
  /** Unique per proposing member, so the proposer can find its waiter when the entry applies. */
  id: string;
  put?: PutRequest;
  deleteRange?: DeleteRangeRequest;
  txn?: TxnRequest;
  compaction?: CompactionRequest;
  leaseGrant?: { ID: bigint; TTL: number };
  leaseRevoke?: { ID: bigint };
  /** The leader's record of leases' remaining TTLs, so a new leader does not reset them. */
  leaseCheckpoint?: { checkpoints: { ID: bigint; remaining: number }[] };
  /** A member's name and client URLs (published by the member itself) or new peer URLs (member update). */
  memberAttrs?: { id: string; name?: string; clientUrls?: string[]; peerUrls?: string[] };
  /** Raises or clears an alarm (etcd's AlarmRequest: action 1 activate, 2 deactivate). */
  alarm?: { action: number; memberID: bigint; alarm: number };
  /** An auth change, or (as etcd 3.4) an auth read or an authenticate. */
  auth?: AuthRequest;
  /**
   * Who asked (etcd's RequestHeader): every member checks the same identity at apply. Absent when
   * the client sent no token (most requests: the entry stays small).
   */
  header?: { username: string; authRevision: number };
  /** Proposed by the member itself (a lease's expiry): no caller to check. */
  internal?: true;
}

// Fields that hold int64 ids, kept as bigint in memory and as decimal strings on the wire.
const BIGINT_FIELDS = new Set(['lease', 'ID', 'memberID']);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeRaftRequest(r: RaftRequest): Uint8Array {
  return encoder.encode(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export function decodeRaftRequest(data: Uint8Array): RaftRequest {
  return JSON.parse(decoder.decode(data), (k, v) => (BIGINT_FIELDS.has(k) && typeof v === 'string' ? BigInt(v) : v));
}
