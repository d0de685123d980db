// The Raft log as the algorithm sees it: the durable part (Storage) followed by
// the unstable part (not yet persisted), plus the commit and applied cursors.
//
//   snapshot/first.....applied....committed....stable-last....last
//   |<-------------- Storage -------------->|<-- Unstable -->|
import type { Storage } from './storage.ts';
import { Unstable } from './unstable.ts';
import { ErrCompacted, ErrUnavailable, limitSize, RaftError, type Entry, type Snapshot } from './types.ts';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed (stored on a quorum). */
  committed: number;
  /** Highest index the application has applied. Invariant: applied <= applying <= committed. */
  applied: number;
  /** Highest index handed to the application to apply (it may still be applying it). */
  applying: number;
  readonly maxCommittedSize: number;

  constructor(storage: Storage, maxCommittedSize = Infinity) {
    this.storage = storage;
    this.maxCommittedSize = maxCommittedSize;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new Error('unexpected error when getting the last term');
    return t;
  }

  /** Term of entry i, or undefined if i is compacted away or beyond the last index. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e === ErrCompacted || e === ErrUnavailable) return undefined;
      throw e;
    }
  }

  matchTerm(i: number, t: number): boolean {
    const lt = this.term(i);
    return lt !== undefined && lt === t;
  }

  /** Raft §5.4.1: is a log ending at (lasti, term) at least as up-to-date as ours? */
  isAtLeastAsRecent(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /**
   * Appends entries sent by a leader after (index, logTerm), if our log has that
   * entry. Returns the last index of the new entries, or undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastnewi = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastnewi));
    return lastnewi;
  }

  /** Appends entries (truncating a conflicting unstable suffix). Returns the new last index. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    if (after < this.committed) {
      throw new Error(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry in `ents` that is new or conflicts with our
   * log (same index, different term), or 0 if all are already present.
   */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-off: the largest index <= `index` whose term is <= `term`, with
   * its term. Used on both sides of a rejected MsgApp, so that probing skips a
   * whole term of divergent entries per round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const ourTerm = this.term(index);
      if (ourTerm === undefined) return { index, term: 0 }; // compacted or out of range
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /**
   * Committed entries the application has not been handed yet. With allowUnstable, entries still
   * being written count: the application writes them before it applies (synchronous Readys).
   */
  nextCommittedEnts(allowUnstable = true): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const off = Math.max(this.applying + 1, this.firstIndex());
    const hi = this.maxAppliableIndex(allowUnstable);
    if (hi + 1 > off) {
      return this.slice(off, hi + 1, this.maxCommittedSize) ?? [];
    }
    return [];
  }

  hasNextCommittedEnts(allowUnstable = true): boolean {
    if (this.hasPendingSnapshot()) return false;
    const off = Math.max(this.applying + 1, this.firstIndex());
    return this.maxAppliableIndex(allowUnstable) + 1 > off;
  }

  private maxAppliableIndex(allowUnstable: boolean): number {
    return allowUnstable ? this.committed : Math.min(this.committed, this.unstable.offset - 1);
  }

  /** Entries up to i were handed to the application. */
  acceptApplying(i: number): void {
    if (i > this.applying) this.applying = i;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(tocommit: number): void {
    if (this.committed < tocommit) {
      if (this.lastIndex() < tocommit) {
        throw new Error(`tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]`);
      }
      this.committed = tocommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0 || i <= this.applied) return;
    if (i > this.committed) throw new Error(`applied(${i}) is out of range [committed(${this.committed})]`);
    this.applied = i;
    if (i > this.applying) this.applying = i;
  }

  /** The last index known to be persisted (unstable entries are being written). */
  stableLastIndex(): number {
    return this.unstable.entries.length > 0 ? this.unstable.offset - 1 : this.lastIndex();
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Commit rule (§5.4.2): only an entry of the current term is committed by counting. */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries from i to the end, at most maxSize bytes; undefined if i is compacted. */
  entries(i: number, maxSize = Infinity): Entry[] | undefined {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  allEntries(): Entry[] {
    const e = this.entries(this.firstIndex());
    if (e === undefined) throw new Error('log changed while reading');
    return e;
  }

  /** Entries in [lo, hi) limited by maxSize; undefined if lo is compacted. */
  slice(lo: number, hi: number, maxSize = Infinity): Entry[] | undefined {
    if (lo > hi) throw new Error(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) return undefined;
    const length = this.lastIndex() + 1 - fi;
    if (hi > fi + length) throw new Error(`slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const uoff = this.unstable.offset;
    if (lo < uoff) {
      let stored: Entry[];
      try {
        stored = this.storage.entries(lo, Math.min(hi, uoff), maxSize);
      } catch (e) {
        if (e === ErrCompacted) return undefined;
        if (e instanceof RaftError && e.code === 'ErrUnavailable') {
          throw new Error(`entries[${lo}:${Math.min(hi, uoff)}) is unavailable from storage`);
        }
        throw e;
      }
      // Storage stopped early because of the size limit.
      if (stored.length < Math.min(hi, uoff) - lo) return stored;
      ents = stored;
    }
    if (hi > uoff) {
      const u = this.unstable.slice(Math.max(lo, uoff), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }
}
