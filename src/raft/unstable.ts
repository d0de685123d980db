// The part of the log that is not yet durable: entries appended (or a
// snapshot received) since the application last persisted a Ready. Indexes
// in `entries` start at `offset`; the snapshot, if any, ends at offset-1.
import type { Entry, Snapshot } from './types.ts';

export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index of the log if the unstable part starts with a snapshot. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot) return this.snapshot.metadata.index;
    return undefined;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  /** Entries up to (i, t) are now durable. Ignored if (i, t) was overwritten meanwhile. */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined) return;
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
    }
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      // the common case: directly after the last unstable entry
      this.entries = this.entries.concat(ents);
    } else if (after <= this.offset) {
      // replace all unstable entries (and shadow the stored ones from `after` on)
      this.offset = after;
      this.entries = ents.slice();
    } else {
      // truncate to `after`, then append
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** Entries in [lo, hi); the caller checks bounds. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
