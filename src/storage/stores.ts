import type { AppliedBatch, BootstrapBatch, HardStateRow, LeaseRow, LogBatch, MemberRow, RevisionRow, SnapshotMeta, StoredEntry } from './rows.ts';

/** A stored revision without its value (restart loads values of live keys only). */
export type IndexRow = Omit<RevisionRow, 'value'> & { value?: string };

/** The log lane: what raft needs durable before it acts. */
export interface LogStore {
  /** One batch, atomically; on return it is durable (unless batch.sync is false). */
  commitLog(b: LogBatch): Promise<void>;
  hardState(): Promise<HardStateRow | undefined>;
  raftSnapshot(): Promise<SnapshotMeta | undefined>;
  entriesAfter(index: number): Promise<StoredEntry[]>;
}

/** The applied state: revision rows, leases, members and named values, and the applied index they reach. */
export interface StateStore {
  /** One batch, atomically. Need not be durable on return: the next synchronous log commit flushes it. */
  commitApplied(b: AppliedBatch): Promise<void>;
  getMeta(name: string): Promise<string | undefined>;
  putMeta(name: string, value: string): Promise<void>;
  /** Every stored revision in key order, each key's oldest first; the newest row of a live key carries its value. */
  forEachRow(fn: (r: IndexRow) => void): Promise<void>;
  leases(): Promise<LeaseRow[]>;
  members(): Promise<MemberRow[]>;
  /** Value and lease of each stored revision, by `${main}.${sub}` (missing: compacted away). */
  values(revs: { main: number; sub: number }[]): Promise<Map<string, { value: string; lease: bigint }>>;
  /** Rows with after < main <= until, oldest first, at most limit. */
  rowsBetween(after: number, until: number, limit: number): Promise<RevisionRow[]>;
  /**
   * A hash of the key space's history up to rev as compaction at compactRev leaves it (each key's
   * newest revision at or below it unless a tombstone, and every later one), whatever rows the
   * database still holds physically: equal on members that applied the same log.
   */
  hashKV(rev: number, compactRev: number): Promise<number>;
  /** Streams the whole applied state, at one applied index, as lines a follower installs. */
  exportSnapshot(write: (line: string) => Promise<void>): Promise<number>;
  /** The size of the applied state in the database (the raft log left out, as etcd's WAL is). */
  databaseSize(): Promise<number>;
  /** Gives the space of deleted rows back (etcd's defragment); may hold the applied state's tables while it runs, never the log. */
  defragment(): Promise<void>;
}

/** A member's storage: both lanes over one database. */
export interface MemberStore {
  log: LogStore;
  state: StateStore;
  /** Records a new cluster's first configuration in one transaction. */
  bootstrap(b: BootstrapBatch): Promise<void>;
  close(): Promise<void>;
}
