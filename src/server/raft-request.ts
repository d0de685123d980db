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

const decoder = new TextDecoder();

/** Buffer.from, not TextEncoder: the same UTF-8 bytes, ~0.25 against ~1-1.5 us for a put's entry. */
export function encodeRaftRequest(r: RaftRequest): Uint8Array {
  return Buffer.from(plainPut(r) ?? JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)), 'utf8');
}

const str = JSON.stringify;

/**
 * The most common entry, a plain put (its header absent or set), written out directly: a replacer
 * makes JSON.stringify take its slow path (~0.8 against ~2 us). Anything else, or a put with
 * fields or types not exactly these, goes the general way.
 */
function plainPut(r: RaftRequest): string | undefined {
  for (const k in r) if (k !== 'id' && k !== 'put' && k !== 'header') return undefined;
  const { id, put: p, header: h } = r;
  if (p === undefined || typeof id !== 'string' || count(p) !== 6) return undefined;
  const { key, value, lease, prevKv, ignoreValue, ignoreLease } = p;
  if (typeof key !== 'string' || typeof value !== 'string' || typeof lease !== 'bigint') return undefined;
  if (typeof prevKv !== 'boolean' || typeof ignoreValue !== 'boolean' || typeof ignoreLease !== 'boolean') return undefined;
  let header = '';
  if (h !== undefined) {
    if (count(h) !== 2 || typeof h.username !== 'string' || typeof h.authRevision !== 'number') return undefined;
    header = `,"header":{"username":${str(h.username)},"authRevision":${str(h.authRevision)}}`;
  }
  return `{"id":${str(id)},"put":{"key":${str(key)},"value":${str(value)},"lease":"${lease}","prevKv":${prevKv},"ignoreValue":${ignoreValue},"ignoreLease":${ignoreLease}}${header}}`;
}

function count(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/** Every member decodes every entry: a walk after JSON.parse costs under half of a reviver (0.9 us against 2.3 for a put). */
export function decodeRaftRequest(data: Uint8Array): RaftRequest {
  const r = JSON.parse(decoder.decode(data));
  bigintFields(r);
  return r;
}

function bigintFields(v: unknown): void {
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) bigintFields(x);
    return;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'string') {
      if (BIGINT_FIELDS.has(k)) o[k] = BigInt(x);
    } else if (typeof x === 'object') bigintFields(x);
  }
}
