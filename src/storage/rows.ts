/**
 * What a member keeps durable, as plain values: the raft log and its metadata, the MVCC revision
 * rows, leases and members. No database here: the stores that write these (Postgres, or memory in
 * tests) implement the interfaces in stores.ts.
 */

/** A raft log entry as stored. kind: 0 normal, 1 conf change. */
export interface StoredEntry {
  index: number;
  term: number;
  kind: number;
  data: Uint8Array;
}

export interface HardStateRow {
  term: number;
  vote: string;
  commit: number;
}

/**
 * One MVCC revision: the durable form of one change a write made (mvcc hands them out, storage
 * keeps them, watchers catching up read them back). key and value are latin1 byte strings; a
 * tombstone has an empty value, version 0 and no lease.
 */
export interface RevisionRow {
  main: number;
  sub: number;
  key: string;
  value: string;
  createRev: number;
  version: number;
  lease: bigint;
  tombstone: boolean;
}

/** A cluster member as stored. */
export interface MemberRow {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface LeaseRow {
  id: bigint;
  /** Granted TTL, seconds. */
  ttl: number;
  /** TTL left at the last checkpoint (0: none). */
  remaining: number;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: { voters: string[]; learners: string[] };
}

/** A lease granted or checkpointed (ttl set), or revoked (ttl undefined). */
export interface LeaseOp {
  id: bigint;
  ttl?: number;
  remaining?: number;
}

/** A member added or changed (member set), or removed (id only). */
export interface MemberOp {
  id: bigint;
  member?: MemberRow;
}

/** What the raft side makes durable per ready() batch: log entries, hard state, snapshot metadata. */
export interface LogBatch {
  /** False when only the commit index moved: it need not reach the disk before anything goes on. */
  sync?: boolean;
  entries: StoredEntry[];
  /** Entries at and after this index are replaced (a follower's conflicting suffix). */
  truncateFrom?: number;
  hardState?: HardStateRow;
  /** Raft snapshot metadata to record (the data is the applied state itself). */
  snapshot?: SnapshotMeta;
  /** A received snapshot file (from exportSnapshot) that replaces the whole applied state first. */
  installFrom?: string;
  /** Log entries at or below this index are no longer needed. */
  truncateLogTo?: number;
}

/** What applying committed entries produced, with the raft index it brings the state up to. */
export interface AppliedBatch {
  rows: RevisionRow[];
  /** Compactions applied after `rows`, in order: rows they obsolete are deleted in the same transaction. */
  compactions: number[];
  appliedIndex: number;
  /** The MVCC revision after the applied state: compaction may leave no row that shows it. */
  revision: number;
  compactRev?: number;
  /** In apply order. */
  leaseOps?: LeaseOp[];
  /** In apply order. */
  memberOps?: MemberOp[];
  /** Named values set by what applied (alarms), in apply order. */
  meta?: [string, string][];
}

/** A new cluster's first state: the log's snapshot metadata and hard state with the members, at once. */
export interface BootstrapBatch {
  hardState: HardStateRow;
  snapshot: SnapshotMeta;
  memberOps: MemberOp[];
  appliedIndex: number;
}
