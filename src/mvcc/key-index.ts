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

function emptyGeneration(): Generation {
  return { ver: 0, created: ZERO_REV, revs: [] };
}

/**
 * The revisions of one key, as generations (after etcd's key_index.go). The latest value of a live
 * key rides along so current reads never touch the database.
 */
export class KeyIndex {
  modified: Revision = ZERO_REV;
  generations: Generation[] = [emptyGeneration()];
  /** The key's current value while it is live; undefined once deleted. */
  latest: KeyValue | undefined;

  constructor(readonly key: string) {}

  put(rev: Revision): void {
    if (!revGreater(rev, this.modified)) {
      throw new Error(`mvcc: put revision ${rev.main}.${rev.sub} not above ${this.modified.main}.${this.modified.sub}`);
    }
    const g = this.generations[this.generations.length - 1];
    if (g.revs.length === 0) g.created = rev;
    g.revs.push(rev);
    g.ver++;
    this.modified = rev;
  }

  /** Ends the current generation. Returns false when the key is not live. */
  tombstone(rev: Revision): boolean {
    if (this.generations[this.generations.length - 1].revs.length === 0) return false;
    this.put(rev);
    this.generations.push(emptyGeneration());
    this.latest = undefined;
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
    const g = this.generations[this.generations.length - 1];
    g.ver = version;
    if (g.revs.length === 1) g.created = createdMain === rev.main ? rev : { main: createdMain, sub: 0 };
  }

  isLive(): boolean {
    return this.generations[this.generations.length - 1].revs.length > 0;
  }

  isEmpty(): boolean {
    return this.generations.length === 1 && this.generations[0].revs.length === 0;
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
    const last = this.generations.length - 1;
    for (let cg = last; cg >= 0; cg--) {
      const g = this.generations[cg];
      if (g.revs.length === 0) continue;
      // A closed generation whose tombstone is at or before rev means the key was deleted then.
      if (cg !== last && g.revs[g.revs.length - 1].main <= rev) return undefined;
      if (g.revs[0].main <= rev) return g;
    }
    return undefined;
  }

  /** Revisions after rev (exclusive of nothing: main > rev), oldest first; used by watch catch-up. */
  since(rev: number): Revision[] {
    const out: Revision[] = [];
    for (const g of this.generations) for (const r of g.revs) if (r.main > rev) out.push(r);
    return out;
  }

  /**
   * Drops revisions made obsolete by a compaction at atRev. What remains readable at atRev is kept,
   * except a tombstone, which goes with its whole generation (etcd's keyIndex.compact).
   */
  compact(atRev: number): void {
    let genIdx = 0;
    let g = this.generations[0];
    while (genIdx < this.generations.length - 1) {
      if (g.revs[g.revs.length - 1].main > atRev) break;
      genIdx++;
      g = this.generations[genIdx];
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
      if (g.revs.length === 1 && genIdx !== this.generations.length - 1) genIdx++;
    }
    if (genIdx > 0) this.generations = this.generations.slice(genIdx);
  }
}
