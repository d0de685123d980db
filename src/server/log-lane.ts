import type { Entry, Ready } from '../raft/index.ts';
import type { SnapshotMeta, StoredEntry } from '../storage/rows.ts';
import type { LogStore } from '../storage/stores.ts';
import type { AppliedLane } from './applied-lane.ts';

export function toStoredEntry(e: Entry): StoredEntry {
  return { index: e.index, term: e.term, kind: e.type === 'confChange' ? 1 : 0, data: e.data };
}

export function toRaftEntry(e: StoredEntry): Entry {
  return { index: e.index, term: e.term, type: e.kind === 1 ? 'confChange' : 'normal', data: e.data };
}

/**
 * The log lane: what raft needs durable before it acts (entries, hard state, snapshot metadata),
 * one database transaction per Ready (group commit).
 */
export class LogLane {
  /** The last log index handed to the database (written or being written). */
  last = 0;

  constructor(
    private readonly store: LogStore,
    private readonly applied: AppliedLane,
    /** Told how long each synchronous commit took (etcd's WAL fsync duration). */
    private readonly synced?: (seconds: number) => void,
  ) {}

  /**
   * Writes a Ready: `snapshot` is metadata of a snapshot this member took (the applied state in the
   * tables is its data) or, with `installFrom`, of one received whose file replaces that state.
   */
  async persist(rd: Ready, snapshot: SnapshotMeta | undefined, installFrom?: string): Promise<void> {
    const entries = rd.entries;
    // A Ready that only carries messages or read states writes nothing (reads must not wait on a
    // commit), nor one that only moves the commit index: raft learns that again from its leader, and
    // the applied rows carry their own index.
    if (!entries.length && !snapshot && !installFrom && (!rd.hardState || !rd.mustSync)) return;
    if (installFrom) await this.applied.drain();
    // Appending right after what is written needs no delete; a follower's conflicting suffix does.
    const truncateFrom = entries.length && entries[0].index <= this.last ? entries[0].index : undefined;
    if (entries.length) this.last = entries[entries.length - 1].index;
    else if (installFrom && snapshot) this.last = snapshot.index;
    const flushes = this.applied.persisted;
    // Raft says whether this batch must be on disk first (entries, term or vote); a commit index alone need not.
    const sync = rd.mustSync || !!snapshot || !!installFrom;
    const t0 = performance.now();
    await this.store.commitLog({
      sync,
      entries: entries.map(toStoredEntry),
      truncateFrom,
      hardState: rd.hardState,
      snapshot,
      truncateLogTo: snapshot && !installFrom ? snapshot.index : undefined,
      installFrom,
    });
    if (sync) this.synced?.((performance.now() - t0) / 1000);
    // A synchronous commit flushes the WAL up to itself, so applied state committed before it is on disk.
    if (installFrom) this.applied.durable = this.applied.persisted;
    else if (sync && flushes > this.applied.durable) this.applied.durable = flushes;
  }
}
