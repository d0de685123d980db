// Storage is the read-only view of the durable log that the application keeps.
// MemoryStorage is a pure in-memory implementation (like etcd's): the server
// mirrors its database into one, and the tests use it as the "disk".
import {
  ErrCompacted,
  ErrSnapOutdated,
  ErrUnavailable,
  limitSize,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from './types.ts';

export interface Storage {
  /** The persisted hard state and the configuration as of the last snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi), limited to about maxSize bytes (at least one entry).
   * Throws ErrCompacted if lo <= the snapshot index, ErrUnavailable if hi > lastIndex()+1.
   */
  entries(lo: number, hi: number, maxSize?: number): Entry[];
  /** Term of entry i; i may be firstIndex()-1 (the snapshot's). Throws ErrCompacted / ErrUnavailable. */
  term(i: number): number;
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot. May throw ErrSnapshotTemporarilyUnavailable. */
  snapshot(): Snapshot;
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) };
}

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: '', commit: 0 };
  private snap: Snapshot = emptySnapshot();
  /** ents[0] is a dummy entry standing for the snapshot (its index and term). */
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.snap.metadata.confState;
    return { hardState: { ...this.hardState }, confState: { voters: [...cs.voters], learners: [...cs.learners] } };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  hardStateNow(): HardState {
    return { ...this.hardState };
  }

  private offset(): number {
    return this.ents[0].index;
  }

  entries(lo: number, hi: number, maxSize = Infinity): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) throw ErrUnavailable;
    if (this.ents.length === 1) throw ErrUnavailable; // only the dummy entry
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw ErrCompacted;
    if (i - offset >= this.ents.length) throw ErrUnavailable;
    return this.ents[i - offset].term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log by a snapshot (a follower installing one from its leader). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw ErrSnapOutdated;
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: new Uint8Array(0) }];
  }

  /**
   * Makes a snapshot of the application state at `index` (which must be
   * applied, hence in the log); call compact() afterwards to drop entries.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw ErrSnapOutdated;
    if (index > this.lastIndex()) throw new Error(`snapshot ${index} is out of bound lastindex(${this.lastIndex()})`);
    const offset = this.offset();
    this.snap = {
      metadata: {
        index,
        term: this.ents[index - offset].term,
        confState: { voters: [...confState.voters], learners: [...confState.learners] },
      },
      data,
    };
    return this.snap;
  }

  /** Discards every entry before compactIndex (which becomes the dummy entry). */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw ErrCompacted;
    if (compactIndex > this.lastIndex()) throw new Error(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const dummy: Entry = { term: this.ents[i].term, index: this.ents[i].index, type: 'normal', data: new Uint8Array(0) };
    this.ents = [dummy, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, truncating any conflicting suffix. Entries before the first index are ignored. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1].index;
    if (last < first) return; // all already compacted
    let ents = entries as Entry[];
    if (first > ents[0].index) ents = ents.slice(first - ents[0].index);
    const offset = ents[0].index - this.offset();
    if (offset > this.ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${ents[0].index}]`);
    }
    if (offset < this.ents.length) this.ents.length = offset; // truncate the conflicting suffix
    for (const e of ents) this.ents.push(e);
  }
}

/**
 * Prepares the storage of a member of a brand-new cluster: an initial
 * snapshot at index 1, term 1, whose configuration is the initial members.
 * Every initial member must be bootstrapped identically. A member that joins
 * an existing cluster later starts from an empty MemoryStorage instead and
 * receives a snapshot from the leader.
 */
export function bootstrapMemoryStorage(storage: MemoryStorage, voters: string[], learners: string[] = [], data = new Uint8Array(0)): void {
  storage.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters: [...voters].sort(), learners: [...learners].sort() } }, data });
  storage.setHardState({ term: 1, vote: '', commit: 1 });
}
