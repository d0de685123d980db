import * as BTreeModule from 'sorted-btree';
import { KeyIndex, type IndexedRev } from './key-index.ts';

/** The part of sorted-btree's BTree used here. */
interface SortedMap<K, V> {
  readonly size: number;
  get(key: K): V | undefined;
  set(key: K, value: V): boolean;
  delete(key: K): boolean;
  entries(lowestKey?: K): IterableIterator<[K, V]>;
}
// sorted-btree is CommonJS with the class on `default`; depending on the loader it sits one level deeper.
type BTreeClass = new <K, V>(entries: undefined, compare: (a: K, b: K) => number) => SortedMap<K, V>;
const mod = BTreeModule as unknown as { default: BTreeClass | { default: BTreeClass } };
const BTree: BTreeClass = typeof mod.default === 'function' ? mod.default : mod.default.default;

const compareBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface IndexHit extends IndexedRev {
  ki: KeyIndex;
}

/** Ordered map of key -> KeyIndex (etcd's treeIndex). `end` follows etcd: undefined = single key, '' = to the end. */
export class TreeIndex {
  private readonly tree = new BTree<string, KeyIndex>(undefined, compareBytes);

  get size(): number {
    return this.tree.size;
  }

  getIndex(key: string): KeyIndex | undefined {
    return this.tree.get(key);
  }

  getOrCreate(key: string): KeyIndex {
    let ki = this.tree.get(key);
    if (!ki) {
      ki = new KeyIndex(key);
      this.tree.set(key, ki);
    }
    return ki;
  }

  /** Visits key indexes in [key, end) in key order until fn returns false. */
  visit(key: string, end: string | undefined, fn: (ki: KeyIndex) => boolean | void): void {
    if (end === undefined) {
      const ki = this.tree.get(key);
      if (ki) fn(ki);
      return;
    }
    if (end !== '' && end <= key) return;
    for (const [k, ki] of this.tree.entries(key)) {
      if (end !== '' && k >= end) break;
      if (fn(ki) === false) break;
    }
  }

  /** Keys visible at atRev in [key, end), with the revision each is visible at. */
  range(key: string, end: string | undefined, atRev: number, limit = 0): IndexHit[] {
    const hits: IndexHit[] = [];
    this.visit(key, end, (ki) => {
      const r = ki.get(atRev);
      if (r) {
        hits.push({ ki, modified: r.modified, created: r.created, ver: r.ver });
        if (limit > 0 && hits.length >= limit) return false;
      }
    });
    return hits;
  }

  count(key: string, end: string | undefined, atRev: number): number {
    let n = 0;
    this.visit(key, end, (ki) => {
      if (ki.get(atRev)) n++;
    });
    return n;
  }

  compact(atRev: number): void {
    const empty: string[] = [];
    for (const [k, ki] of this.tree.entries()) {
      ki.compact(atRev);
      if (ki.isEmpty()) empty.push(k);
    }
    for (const k of empty) this.tree.delete(k);
  }

  *entries(): IterableIterator<KeyIndex> {
    for (const [, ki] of this.tree.entries()) yield ki;
  }
}
