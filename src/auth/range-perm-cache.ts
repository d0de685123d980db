import type { Bytes } from '../mvcc/types.ts';
import { EtcdIntervalTree } from './etcd-interval-tree.ts';
import { affineCompare, INF, isEmptyInterval, permInterval, type KeyInterval } from './key-range.ts';
import { PermType, type Role, type User } from './types.ts';

/**
 * The union of a user's permitted intervals for one kind of access, merged into sorted, disjoint,
 * non-touching intervals so that a check is one binary search (etcd's range_perm_cache.go keeps an
 * interval tree per user and walks it on every check).
 *
 * Semantics are etcd 3.4's adt.IntervalTree Intersects/Contains, reduced to what they compute:
 * - a single key is permitted iff some permission interval contains it;
 * - a range [key, end) is permitted iff the union of permission intervals covers all of it
 *   (intervals that touch, [a,b) and [b,c), join: etcd's contiguity test is `maxEnd < begin`);
 * - empty permission intervals (key '', or rangeEnd at or before key) contribute nothing.
 * A request for an empty range (range end at or before its key) is not answered here: see
 * etcd-interval-tree.ts.
 */
export class IntervalSet {
  private constructor(
    private readonly begins: Bytes[],
    private readonly ends: Bytes[],
  ) {}

  static of(intervals: KeyInterval[]): IntervalSet {
    const live = intervals.filter((iv) => !isEmptyInterval(iv));
    // Begins are never INF here (an interval starting at +infinity is empty), so `<` orders them.
    live.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : 0));
    const begins: Bytes[] = [];
    const ends: Bytes[] = [];
    for (const iv of live) {
      const last = ends.length - 1;
      if (last >= 0 && affineCompare(iv.begin, ends[last]) <= 0) {
        if (affineCompare(iv.end, ends[last]) > 0) ends[last] = iv.end;
      } else {
        begins.push(iv.begin);
        ends.push(iv.end);
      }
    }
    return new IntervalSet(begins, ends);
  }

  get size(): number {
    return this.begins.length;
  }

  /** The merged intervals, for tests and debugging. */
  intervals(): KeyInterval[] {
    return this.begins.map((begin, i) => ({ begin, end: this.ends[i] }));
  }

  /** Index of the last interval beginning at or before key, or -1. */
  private floor(key: Bytes): number {
    let lo = 0;
    let hi = this.begins.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.begins[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  containsKey(key: Bytes): boolean {
    if (key === INF) return false;
    const i = this.floor(key);
    return i >= 0 && affineCompare(key, this.ends[i]) < 0;
  }

  /** Whether [begin, end) is covered; end INF is "to the end of the key space". */
  containsRange(begin: Bytes, end: Bytes): boolean {
    if (affineCompare(begin, end) >= 0) return this.containsKey(begin);
    const i = this.floor(begin);
    return i >= 0 && affineCompare(end, this.ends[i]) <= 0;
  }

  /** A request as etcd's gateway sends it: rangeEnd '' is one key, '\0' is from key on. */
  permits(key: Bytes, rangeEnd: Bytes): boolean {
    if (rangeEnd === '') return this.containsKey(key);
    return this.containsRange(key, rangeEnd === '\0' ? INF : rangeEnd);
  }
}

/** A range that holds no key: its end at or before its key, as etcd's compare sees it ('\0' is +infinity). */
export function isEmptyRange(key: Bytes, rangeEnd: Bytes): boolean {
  return rangeEnd !== '' && affineCompare(key, rangeEnd === '\0' ? INF : rangeEnd) >= 0;
}

/** What one user may read and write, merged over all their roles (etcd's unifiedRangePermissions). */
export class UnifiedPerms {
  readonly read: IntervalSet;
  readonly write: IntervalSet;
  private trees: { read: EtcdIntervalTree; write: EtcdIntervalTree } | undefined;

  /** The intervals in etcd's insertion order (the user's roles in order, each role's permissions in order). */
  constructor(
    private readonly readIvs: KeyInterval[],
    private readonly writeIvs: KeyInterval[],
  ) {
    this.read = IntervalSet.of(readIvs);
    this.write = IntervalSet.of(writeIvs);
  }

  permits(write: boolean, key: Bytes, rangeEnd: Bytes): boolean {
    if (isEmptyRange(key, rangeEnd)) {
      this.trees ??= { read: new EtcdIntervalTree(this.readIvs), write: new EtcdIntervalTree(this.writeIvs) };
      return (write ? this.trees.write : this.trees.read).permits(key, rangeEnd);
    }
    return (write ? this.write : this.read).permits(key, rangeEnd);
  }
}

export function mergePerms(user: User, roleOf: (name: string) => Role | undefined): UnifiedPerms {
  const read: KeyInterval[] = [];
  const write: KeyInterval[] = [];
  for (const name of user.roles) {
    const role = roleOf(name);
    if (!role) continue; // "root" can be granted before the role exists; it grants no ranges
    for (const p of role.keyPermission) {
      const iv = permInterval(p.key, p.rangeEnd);
      // Any other number is stored (etcd keeps it) but grants nothing.
      if (p.permType === PermType.READ || p.permType === PermType.READWRITE) read.push(iv);
      if (p.permType === PermType.WRITE || p.permType === PermType.READWRITE) write.push(iv);
    }
  }
  return new UnifiedPerms(read, write);
}

/**
 * Merged permissions per user, built on first use and dropped whole when the auth revision moves:
 * every auth change moves it, and a check after a change rebuilds only the users it touches.
 * (etcd rebuilds every user's tree inside each auth change; building lazily keeps a change cheap
 * when there are many users.)
 */
export class RangePermCache {
  private readonly byUser = new Map<string, UnifiedPerms>();
  private revision = -1;

  constructor(private readonly roleOf: (name: string) => Role | undefined) {}

  /** Forgets every user's merged permissions (the roles were replaced wholesale). */
  clear(): void {
    this.byUser.clear();
  }

  get(user: User, revision: number): UnifiedPerms {
    if (revision !== this.revision) {
      this.byUser.clear();
      this.revision = revision;
    }
    let perms = this.byUser.get(user.name);
    if (!perms) {
      perms = mergePerms(user, this.roleOf);
      this.byUser.set(user.name, perms);
    }
    return perms;
  }

  /** How many users have a built entry (for tests of the invalidation). */
  get size(): number {
    return this.byUser.size;
  }
}
