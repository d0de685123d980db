import type { Bytes } from '../mvcc/types.ts';

/**
 * Key intervals as etcd's auth sees them (pkg/adt's BytesAffineComparable): the empty byte string
 * stands for +infinity, not for the smallest key. Two consequences that real etcd 3.4.23 shows:
 * - a permission whose key is '' covers nothing (granting READWRITE on key '' with range end '\0'
 *   does not permit a put of "a"): etcdctl turns an empty key into '\0' before it sends a grant,
 *   but the gateway passes '' through;
 * - a request for key '' is never permitted to a user without the root role.
 */

/** +infinity: the end of a from-key interval. */
export const INF: Bytes = '';

/** Three-way compare with '' as +infinity. Keys are latin1 strings, so `<` is bytewise order. */
export function affineCompare(a: Bytes, b: Bytes): number {
  if (a === b) return 0;
  if (a === INF) return 1;
  if (b === INF) return -1;
  return a < b ? -1 : 1;
}

/** A half-open interval [begin, end); end INF means "to the end of the key space". */
export interface KeyInterval {
  begin: Bytes;
  end: Bytes;
}

/** The interval a permission covers: one key, [key, rangeEnd), or from key on when rangeEnd is '\0'. */
export function permInterval(key: Bytes, rangeEnd: Bytes): KeyInterval {
  if (rangeEnd === '') return { begin: key, end: key + '\0' };
  if (rangeEnd === '\0') return { begin: key, end: INF };
  return { begin: key, end: rangeEnd };
}

/** True if the interval holds no key (begin at +infinity, or end at or before begin). */
export function isEmptyInterval(iv: KeyInterval): boolean {
  return affineCompare(iv.begin, iv.end) >= 0;
}
