import type { Bytes, KeyValue } from './types.ts';

/** mvccpb.Event_EventType. */
export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** etcdserverpb.WatchCreateRequest_FilterType: which events a watcher does not want. */
export const FilterType = { NOPUT: 0, NODELETE: 1 } as const;

/** One change to one key, as watchers see it. */
export interface WatchEvent {
  type: EventType;
  /** For a delete: the key and mod_revision only (the rest at its zero value), as etcd sends it. */
  kv: KeyValue;
  /** The key's value just before (for prev_kv), once known: see prevLoaded. */
  prevKv?: KeyValue;
  /** Whether prevKv has been looked up (live events carry it; history events load it on demand). */
  prevLoaded: boolean;
}

/**
 * Events handed to one or more watchers. Watchers that get the same events in the same form share
 * one batch, so an encoder can encode them once (it keeps what it made in `cache`).
 */
export class EventBatch {
  cache: Map<string, unknown> | undefined;
  constructor(
    readonly events: WatchEvent[],
    /** Whether the watchers asked for prev_kv. */
    readonly withPrev: boolean,
  ) {}
}

export const isCreateEvent = (e: WatchEvent): boolean => e.type === EventType.PUT && e.kv.createRevision === e.kv.modRevision;

/**
 * What the store needs of whoever receives a watcher's responses (a client stream). The store never
 * waits for it: while it is not `writable`, watchers that have events fall behind (unsynced) and
 * catch up from history once it is.
 */
export interface WatchOwner {
  readonly writable: boolean;
  /** Events for w, all at revisions <= through; header revision `revision` (etcd's header). */
  deliver(w: Watcher, batch: EventBatch, revision: number, through: number): void;
  /** w's next revision was compacted away: the store has dropped w. */
  compacted(w: Watcher, compactRev: number): void;
  /** w has caught up and now gets events as they are applied. */
  synced?(w: Watcher): void;
}

export const enum WatcherState {
  Synced,
  Unsynced,
  Canceled,
}

/**
 * One watch on a key or a range. `end` follows etcd: undefined = the single key, '' = every key
 * from `key` on, otherwise [key, end). Owners may extend it with their own fields.
 */
export class Watcher {
  /** The first revision this watcher has not been given yet (meaningful while unsynced). */
  minRev = 0;
  state: WatcherState = WatcherState.Unsynced;
  /**
   * etcd lets a watch start at exactly the compacted revision, whose deletions compaction has
   * already removed. A strict watcher (one resumed after a drop) counts that revision as compacted
   * too, so it never silently misses an event.
   */
  strict = false;
  /** Bit 1: no puts, bit 2: no deletes. */
  readonly filterMask: number;

  constructor(
    readonly owner: WatchOwner,
    readonly key: Bytes,
    readonly end: Bytes | undefined,
    readonly prevKv: boolean,
    filters: readonly number[] = [],
  ) {
    let mask = 0;
    for (const f of filters) {
      if (f === FilterType.NOPUT) mask |= 1;
      else if (f === FilterType.NODELETE) mask |= 2;
    }
    this.filterMask = mask;
  }

  /** Whether history from minRev on is no longer complete. */
  compactedAt(compactRev: number): boolean {
    return this.minRev < compactRev || (this.strict && compactRev > 0 && this.minRev === compactRev);
  }

  matches(key: Bytes): boolean {
    if (this.end === undefined) return key === this.key;
    return key >= this.key && (this.end === '' || key < this.end);
  }

  /** Whether the watcher's filters drop this event. */
  filters(e: WatchEvent): boolean {
    return (this.filterMask & (e.type === EventType.PUT ? 1 : 2)) !== 0;
  }
}

interface RangeBucket {
  key: Bytes;
  end: Bytes;
  watchers: Set<Watcher>;
}

/**
 * A set of watchers indexed for matching keys: single-key watchers by key, range watchers by their
 * range (watchers on the same range share a bucket, so many watchers on one prefix cost one check).
 */
export class WatcherGroup {
  private readonly keys = new Map<Bytes, Set<Watcher>>();
  private readonly ranges = new Map<string, RangeBucket>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(w: Watcher): void {
    if (w.end === undefined) {
      let set = this.keys.get(w.key);
      if (!set) this.keys.set(w.key, (set = new Set()));
      if (set.has(w)) return;
      set.add(w);
    } else {
      const id = rangeId(w.key, w.end);
      let b = this.ranges.get(id);
      if (!b) this.ranges.set(id, (b = { key: w.key, end: w.end, watchers: new Set() }));
      if (b.watchers.has(w)) return;
      b.watchers.add(w);
    }
    this.count++;
  }

  delete(w: Watcher): boolean {
    if (w.end === undefined) {
      const set = this.keys.get(w.key);
      if (!set || !set.delete(w)) return false;
      if (set.size === 0) this.keys.delete(w.key);
    } else {
      const id = rangeId(w.key, w.end);
      const b = this.ranges.get(id);
      if (!b || !b.watchers.delete(w)) return false;
      if (b.watchers.size === 0) this.ranges.delete(id);
    }
    this.count--;
    return true;
  }

  has(w: Watcher): boolean {
    if (w.end === undefined) return this.keys.get(w.key)?.has(w) ?? false;
    return this.ranges.get(rangeId(w.key, w.end))?.watchers.has(w) ?? false;
  }

  /** Calls fn for every watcher whose key or range holds key. */
  forEachMatching(key: Bytes, fn: (w: Watcher) => void): void {
    const set = this.keys.get(key);
    if (set) for (const w of set) fn(w);
    if (this.ranges.size === 0) return;
    for (const b of this.ranges.values()) {
      if (key >= b.key && (b.end === '' || key < b.end)) for (const w of b.watchers) fn(w);
    }
  }

  *[Symbol.iterator](): IterableIterator<Watcher> {
    for (const set of this.keys.values()) yield* set;
    for (const b of this.ranges.values()) yield* b.watchers;
  }
}

// Keys are latin1 strings of any bytes: the length prefix keeps (key, end) pairs apart.
const rangeId = (key: Bytes, end: Bytes): string => `${key.length}:${key}${end}`;
