import { type Revision, revGreater, ZERO_REV, type KeyValue } from './types.ts';

/** One life of a key: from its creation to its deletion (the tombstone is the last revision). */
export interface Generation {
  ver: number;
  created: Revision;
  revs: Revision[];
}

export interface IndexedRev {
  modified: Revision;
  created: Revision;
  ver: number;
}

/** Shared by every key whose current generation has no revision yet; never mutated (put replaces it). */
const NO_REVS: readonly Revision[] = Object.freeze([]);

/**
 * The revisions of one key, as generations (after etcd's key_index.go). The latest value of a live
 * key rides along so current reads never touch the database. A million keys live here, so the
 * current generation is held in the index's own fields (it is a Generation itself) and only keys
 * deleted and re-created carry a list of past ones.
 */
export class KeyIndex implements Generation {
  modified: Revision = ZERO_REV;
  ver = 0;
  created: Revision = ZERO_REV;
  revs: Revision[] = NO_REVS as Revision[];
  /** Closed generations, oldest first; undefined while there are none. */
  private past: Generation[] | undefined;
  /** The live value and its lease (undefined once deleted): the rest of `latest` is in the index. */
  private value: string | undefined;
  private lease = 0n;

  constructor(readonly key: string) {}

  /** The key's current value while it is live; undefined once deleted. Built on each read. */
  get latest(): KeyValue | undefined {
    if (this.value === undefined) return undefined;
    return { key: this.key, value: this.value, createRevision: this.created.main, modRevision: this.modified.main, version: this.ver, lease: this.lease };
  }

  /** Set after put() or restore() of the same revision, whose index fields it must match. */
  set latest(kv: KeyValue | undefined) {
    this.value = kv?.value;
    this.lease = kv?.lease ?? 0n;
  }

  put(rev: Revision): void {
    if (!revGreater(rev, this.modified)) {
      throw new Error(`mvcc: put revision ${rev.main}.${rev.sub} not above ${this.modified.main}.${this.modified.sub}`);
    }
    // Most keys are written once: an array literal holds one revision, a push would reserve 17.
    if (this.revs.length === 0) {
      this.created = rev;
      this.revs = [rev];
    } else this.revs.push(rev);
    this.ver++;
    this.modified = rev;
  }

  /** Ends the current generation. Returns false when the key is not live. */
  tombstone(rev: Revision): boolean {
    if (this.revs.length === 0) return false;
    this.put(rev);
    (this.past ??= []).push({ ver: this.ver, created: this.created, revs: this.revs });
    this.ver = 0;
    this.created = ZERO_REV;
    this.revs = NO_REVS as Revision[];
    this.value = undefined;
    this.lease = 0n;
    return true;
  }

  /**
   * Replays a stored row at start-up. Rows that survived a compaction carry the version and
   * creation revision of their generation, which counting puts alone would lose.
   */
  restore(rev: Revision, createdMain: number, version: number, tombstone: boolean): void {
    if (tombstone) {
      this.tombstone(rev);
      return;
    }
    this.put(rev);
    this.ver = version;
    if (this.revs.length === 1) this.created = createdMain === rev.main ? rev : { main: createdMain, sub: 0 };
  }

  isLive(): boolean {
    return this.revs.length > 0;
  }

  isEmpty(): boolean {
    return !this.past?.length && this.revs.length === 0;
  }

  /** The revision of the key visible at atRev, or undefined if it did not exist then. */
  get(atRev: number): IndexedRev | undefined {
    const g = this.findGeneration(atRev);
    if (!g) return undefined;
    for (let n = g.revs.length - 1; n >= 0; n--) {
      if (g.revs[n].main <= atRev) {
        return { modified: g.revs[n], created: g.created, ver: g.ver - (g.revs.length - n - 1) };
      }
    }
    return undefined;
  }

  private findGeneration(rev: number): Generation | undefined {
    if (this.revs.length > 0 && this.revs[0].main <= rev) return this;
    const past = this.past;
    if (!past) return undefined;
    for (let cg = past.length - 1; cg >= 0; cg--) {
      const g = past[cg];
      // A closed generation whose tombstone is at or before rev means the key was deleted then.
      if (g.revs[g.revs.length - 1].main <= rev) return undefined;
      if (g.revs[0].main <= rev) return g;
    }
    return undefined;
  }

  /** Revisions after rev (exclusive of nothing: main > rev), oldest first; used by watch catch-up. */
  since(rev: number): Revision[] {
    const out: Revision[] = [];
    for (const g of this.past ?? []) for (const r of g.revs) if (r.main > rev) out.push(r);
    for (const r of this.revs) if (r.main > rev) out.push(r);
    return out;
  }

  /**
   * Drops revisions made obsolete by a compaction at atRev. What remains readable at atRev is kept,
   * except a tombstone, which goes with its whole generation (etcd's keyIndex.compact).
   */
  compact(atRev: number): void {
    const current: Generation = { ver: this.ver, created: this.created, revs: this.revs };
    const gens = [...(this.past ?? []), current];
    let genIdx = 0;
    let g = gens[0];
    while (genIdx < gens.length - 1) {
      if (g.revs[g.revs.length - 1].main > atRev) break;
      genIdx++;
      g = gens[genIdx];
    }
    if (g.revs.length > 0) {
      let revIndex = -1;
      for (let i = g.revs.length - 1; i >= 0; i--) {
        if (g.revs[i].main <= atRev) {
          revIndex = i;
          break;
        }
      }
      if (revIndex !== -1) g.revs = g.revs.slice(revIndex);
      if (g.revs.length === 1 && genIdx !== gens.length - 1) genIdx++;
    }
    this.revs = current.revs;
    this.past = genIdx < gens.length - 1 ? gens.slice(genIdx, gens.length - 1) : undefined;
  }
}
