import { TreeIndex, type IndexHit } from './tree-index.ts';
import type { RevisionRow } from '../storage/rows.ts';
import { type Bytes, type Change, type KeyValue, type Revision, CompactedError, FutureRevError } from './types.ts';

/** Where values of past revisions live (the database); the store keeps only live keys' values. */
export interface HistorySource {
  /** Value and lease of each stored revision, keyed by revKey(). Missing entries were compacted away. */
  values(revs: Revision[]): Promise<Map<string, { value: Bytes; lease: bigint }>>;
}

export const revKey = (r: Revision): string => `${r.main}.${r.sub}`;

export interface RangeOptions {
  rev?: number;
  limit?: number;
  countOnly?: boolean;
}

export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  rev: number;
  /** Set when some values come from history: await it before reading kvs. */
  pending?: Promise<void>;
}

/**
 * Told of every write that changed something, synchronously and in revision order, as the write
 * transaction ends: the one place where a write's changes leave the store.
 */
export type WriteSink = (rev: number, changes: Change[]) => void;

/** The durable form of a write's changes: one revision row each. */
export function revisionRows(rev: number, changes: Change[]): RevisionRow[] {
  return changes.map((c) => ({
    main: rev,
    sub: c.sub,
    key: c.kv.key,
    value: c.kv.value,
    createRev: c.kv.createRevision,
    version: c.kv.version,
    lease: c.kv.lease,
    tombstone: c.tombstone,
  }));
}

/** The revisioned key space: index and live values in memory, history through a HistorySource. */
export class KvStore {
  index = new TreeIndex();
  currentRev = 1;
  compactRev = -1;

  constructor(
    private readonly history: HistorySource,
    readonly onWrite: WriteSink = () => {},
  ) {}

  /** Forgets everything (before state is reloaded, e.g. from a snapshot). */
  reset(): void {
    this.index = new TreeIndex();
    this.currentRev = 1;
    this.compactRev = -1;
  }

  range(key: Bytes, end: Bytes | undefined, opts: RangeOptions = {}): RangeResult {
    return this.rangeAt(key, end, this.currentRev, opts);
  }

  /** Reads as of curRev (a write transaction reads its own changes by passing its revision). */
  rangeAt(key: Bytes, end: Bytes | undefined, curRev: number, opts: RangeOptions): RangeResult {
    let rev = opts.rev ?? 0;
    if (rev > curRev) throw new FutureRevError();
    if (rev <= 0) rev = curRev;
    if (rev < this.compactRev) throw new CompactedError();
    if (opts.countOnly) return { kvs: [], count: this.index.count(key, end, rev), rev: curRev };
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const hits = this.index.range(key, end, rev);
    const count = hits.length;
    const take = limit > 0 && limit < count ? hits.slice(0, limit) : hits;
    return this.materialize(take, count, curRev);
  }

  private materialize(hits: IndexHit[], count: number, curRev: number): RangeResult {
    const kvs: KeyValue[] = new Array(hits.length);
    let missing: { i: number; hit: IndexHit }[] | undefined;
    for (let i = 0; i < hits.length; i++) {
      const h = hits[i];
      const latest = h.ki.latest;
      if (latest && h.ki.modified === h.modified) {
        kvs[i] = latest;
      } else {
        kvs[i] = {
          key: h.ki.key,
          createRevision: h.created.main,
          modRevision: h.modified.main,
          version: h.ver,
          value: '',
          lease: 0n,
        };
        (missing ??= []).push({ i, hit: h });
      }
    }
    const result: RangeResult = { kvs, count, rev: curRev };
    if (missing) {
      const want = missing;
      result.pending = this.history.values(want.map((m) => m.hit.modified)).then((found) => {
        for (const { i, hit } of want) {
          const v = found.get(revKey(hit.modified));
          if (!v) throw new CompactedError();
          kvs[i].value = v.value;
          kvs[i].lease = v.lease;
        }
      });
    }
    return result;
  }

  write(): WriteTxn {
    return new WriteTxn(this);
  }

  /**
   * The value each key had at a revision, in one batch (watchers' prev_kv): undefined where the key
   * did not exist then, or the revision is below the compaction (etcd's range error, ignored).
   */
  async valuesAt(reqs: { key: Bytes; rev: number }[]): Promise<(KeyValue | undefined)[]> {
    const out: (KeyValue | undefined)[] = new Array(reqs.length).fill(undefined);
    const missing: { i: number; modified: Revision }[] = [];
    for (let i = 0; i < reqs.length; i++) {
      const { key, rev } = reqs[i];
      if (rev < this.compactRev || rev <= 0) continue;
      const ki = this.index.getIndex(key);
      const h = ki?.get(rev);
      if (!ki || !h) continue;
      if (ki.latest && ki.modified === h.modified) out[i] = ki.latest;
      else {
        out[i] = { key, createRevision: h.created.main, modRevision: h.modified.main, version: h.ver, value: '', lease: 0n };
        missing.push({ i, modified: h.modified });
      }
    }
    if (missing.length) {
      const found = await this.history.values(missing.map((m) => m.modified));
      for (const m of missing) {
        const v = found.get(revKey(m.modified));
        if (v) {
          out[m.i]!.value = v.value;
          out[m.i]!.lease = v.lease;
        } else out[m.i] = undefined;
      }
    }
    return out;
  }

  /** Validates and applies a compaction to the index; the caller deletes the obsolete rows. */
  compact(rev: number): void {
    if (rev <= this.compactRev) throw new CompactedError();
    if (rev > this.currentRev) throw new FutureRevError();
    this.compactRev = rev;
    this.index.compact(rev);
  }
}

/** A write transaction at revision beginRev + 1. Must be used and ended synchronously. */
export class WriteTxn {
  readonly beginRev: number;
  readonly changes: Change[] = [];

  constructor(private readonly store: KvStore) {
    this.beginRev = store.currentRev;
  }

  /** The revision reads in this txn see: its own changes once it has made some. */
  rev(): number {
    return this.changes.length > 0 ? this.beginRev + 1 : this.beginRev;
  }

  range(key: Bytes, end: Bytes | undefined, opts: RangeOptions = {}): RangeResult {
    return this.store.rangeAt(key, end, this.rev(), opts);
  }

  /** The live value of key as this txn sees it. */
  get(key: Bytes): KeyValue | undefined {
    return this.store.index.getIndex(key)?.latest;
  }

  put(key: Bytes, value: Bytes, lease: bigint): KeyValue {
    const rev = this.beginRev + 1;
    const ki = this.store.index.getOrCreate(key);
    const prev = ki.latest;
    const kv: KeyValue = {
      key,
      value,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      lease,
    };
    const sub = this.changes.length;
    ki.put({ main: rev, sub });
    ki.latest = kv;
    this.changes.push({ sub, kv, tombstone: false, prev });
    return kv;
  }

  deleteRange(key: Bytes, end: Bytes | undefined): { deleted: number; prev: KeyValue[] } {
    const rev = this.beginRev + 1;
    const prev: KeyValue[] = [];
    const hits = this.store.index.range(key, end, this.rev());
    for (const h of hits) {
      const ki = h.ki;
      const old = ki.latest;
      const sub = this.changes.length;
      if (!ki.tombstone({ main: rev, sub })) continue;
      if (old) prev.push(old);
      this.changes.push({
        sub,
        kv: { key: ki.key, value: '', createRevision: 0, modRevision: rev, version: 0, lease: 0n },
        tombstone: true,
        prev: old,
      });
    }
    return { deleted: prev.length, prev };
  }

  /** Commits: the store's revision moves on, and its sink hears of it, only if something changed. Returns the changes. */
  end(): Change[] {
    if (this.changes.length > 0) {
      this.store.currentRev = this.beginRev + 1;
      this.store.onWrite(this.store.currentRev, this.changes);
    }
    return this.changes;
  }
}
