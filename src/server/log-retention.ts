import { RaftError, type ConfState, type Entry, type MemoryStorage } from '../raft/index.ts';
import type { SnapshotMeta } from '../storage/rows.ts';

/** Past this many bytes of raft log in memory, fewer entries are kept behind the applied index. */
const LOG_BYTES = 64 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

export interface LogRetentionOptions {
  storage: MemoryStorage;
  /** --snapshot-count: entries kept before the log is compacted behind a snapshot. */
  count: number;
  /** The applied index the database holds, and the one known to be on disk. */
  persisted(): number;
  durable(): number;
}

/**
 * Log retention and snapshots: the in-memory raft log keeps only the last entries behind the
 * durable applied index (etcd keeps 5,000), fewer when they are large; a snapshot is recorded
 * where it is cut (its data is the applied state in the tables), and after each conf change.
 */
export class LogRetention {
  /** Conf changes applied since the raft snapshot, with the configuration each left. */
  private confChanges: { index: number; confState: ConfState }[] = [];
  /** A snapshot taken here, waiting to be written with the next Ready. */
  private pending: SnapshotMeta | undefined;
  private lastTruncate: number;
  /** Approximate bytes of raft log entries held in memory. */
  private bytes = 0;

  constructor(private readonly o: LogRetentionOptions) {
    this.lastTruncate = o.storage.firstIndex() - 1;
  }

  appended(entries: Entry[]): void {
    for (const e of entries) this.bytes += e.data.length + 32;
  }

  confChanged(index: number, confState: ConfState): void {
    this.confChanges.push({ index, confState });
  }

  /** A received snapshot replaced the log up to index. */
  installed(index: number): void {
    this.confChanges = [];
    this.lastTruncate = index;
  }

  /** Whether a snapshot waits to be written (the Ready carrying it is written alone). */
  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  takePending(): SnapshotMeta | undefined {
    const p = this.pending;
    this.pending = undefined;
    return p;
  }

  /** Trims the in-memory log behind the durable applied index, recording a snapshot where it is cut. */
  maybeSnapshot(): void {
    const { storage } = this.o;
    let retention = Math.min(this.o.count, 5000);
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    if (last >= first && this.bytes > LOG_BYTES) {
      const avg = this.bytes / (last - first + 1);
      retention = Math.max(1, Math.min(retention, Math.floor(LOG_BYTES / 2 / avg)));
    }
    if (this.snapshotForConfChange()) return;
    const upTo = this.o.durable() - retention;
    if (upTo <= this.lastTruncate + Math.min(1000, retention) || this.pending) return;
    try {
      // A snapshot taken for a conf change may already be past upTo: then only memory is trimmed.
      if (upTo > storage.snapshot().metadata.index) {
        const snap = storage.createSnapshot(upTo, this.confStateAt(upTo), EMPTY);
        this.pending = snap.metadata;
        this.confChanges = this.confChanges.filter((c) => c.index > upTo);
      }
      const kept = storage.lastIndex() - upTo;
      storage.compact(upTo);
      // Re-estimate what is held from the average entry size.
      this.bytes = last >= first ? (this.bytes * kept) / (last - first + 1) : 0;
      this.lastTruncate = upTo;
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
  }

  /**
   * Raft refuses a snapshot whose configuration does not name the member it is sent to, so a member
   * added since the last snapshot could never catch up by one: once the tables hold the conf
   * change, a snapshot is taken there (memory keeps its entries for followers that lag a little).
   * Its index need not be durable yet: the synchronous commit that records it flushes the applied
   * rows committed before it.
   */
  private snapshotForConfChange(): boolean {
    const { storage } = this.o;
    const last = this.confChanges.at(-1);
    const snapIndex = storage.snapshot().metadata.index;
    const persisted = this.o.persisted();
    if (!last || last.index <= snapIndex || persisted < last.index || this.pending) return false;
    const snap = storage.createSnapshot(persisted, this.confStateAt(persisted), EMPTY);
    this.pending = snap.metadata;
    this.confChanges = this.confChanges.filter((c) => c.index > snap.metadata.index);
    return true;
  }

  /** The configuration as of a log index at or after the snapshot's. */
  private confStateAt(index: number): ConfState {
    for (let i = this.confChanges.length - 1; i >= 0; i--) if (this.confChanges[i].index <= index) return this.confChanges[i].confState;
    return this.o.storage.snapshot().metadata.confState;
  }
}
