import type { Bytes } from '../mvcc/types.ts';
import { affineCompare, type KeyInterval } from './key-range.ts';

/**
 * A line-for-line port of etcd 3.4's pkg/adt interval tree (red-black tree insert, visit,
 * Contains, Intersects), kept for one case only: a request for an empty range, whose range end
 * lies at or before its key (key "d" range_end "a", or "d" to "d"). Such a request reads or
 * deletes nothing, but etcd still answers it "permitted" or "permission denied", and the answer
 * depends on the shape of the tree: its visit prunes subtrees by comparing the empty interval
 * with each node's max, so the same permissions inserted in another order can answer otherwise.
 * Real etcd 3.4.23 denied 8 of 50 such requests that the simple rule "is the key covered?"
 * permits (test/auth/fixtures, scenario "random"), and a degenerate permission ([/b, /a/))
 * above a covering one ([/, +inf)) makes it deny [/b, /b). Every other request is answered by
 * the merged IntervalSet, which agrees with this tree on all of them (range-perm.test.ts checks
 * it); this tree is built per user only when an empty-range request arrives.
 *
 * Keep it a port: the quirks (updateMax's early stop, replaceParent updating the old parent
 * before the rotation completes) are what decide the answers.
 */

interface Node {
  begin: Bytes;
  end: Bytes;
  max: Bytes;
  left: Node;
  right: Node;
  parent: Node;
  red: boolean;
}

function cmpIvl(aBegin: Bytes, aEnd: Bytes, bBegin: Bytes, bEnd: Bytes): number {
  const ivbCmpBegin = affineCompare(aBegin, bBegin);
  const ivbCmpEnd = affineCompare(aBegin, bEnd);
  const iveCmpBegin = affineCompare(aEnd, bBegin);
  if (ivbCmpBegin < 0 && iveCmpBegin <= 0) return -1;
  if (ivbCmpEnd >= 0) return 1;
  return 0;
}

export class EtcdIntervalTree {
  private readonly nil: Node;
  private root: Node;

  constructor(intervals: Iterable<KeyInterval> = []) {
    const nil = { begin: '', end: '', max: '', red: false } as Node;
    nil.left = nil.right = nil.parent = nil;
    this.nil = nil;
    this.root = nil;
    for (const iv of intervals) this.insert(iv);
  }

  insert(iv: KeyInterval): void {
    const nil = this.nil;
    let y = nil;
    const z: Node = { begin: iv.begin, end: iv.end, max: iv.end, left: nil, right: nil, parent: nil, red: false };
    let x = this.root;
    while (x !== nil) {
      y = x;
      x = affineCompare(z.begin, x.begin) < 0 ? x.left : x.right;
    }
    z.parent = y;
    if (y === nil) {
      this.root = z;
    } else {
      if (affineCompare(z.begin, y.begin) < 0) y.left = z;
      else y.right = z;
      this.updateMax(y);
    }
    z.red = true;
    this.insertFixup(z);
  }

  private updateMax(x: Node): void {
    const nil = this.nil;
    while (x !== nil) {
      const oldmax = x.max;
      let max = x.end;
      if (x.left !== nil && affineCompare(x.left.max, max) > 0) max = x.left.max;
      if (x.right !== nil && affineCompare(x.right.max, max) > 0) max = x.right.max;
      if (affineCompare(oldmax, max) === 0) break;
      x.max = max;
      x = x.parent;
    }
  }

  private insertFixup(z: Node): void {
    while (z.parent.red) {
      if (z.parent === z.parent.parent.left) {
        const y = z.parent.parent.right;
        if (y.red) {
          y.red = false;
          z.parent.red = false;
          z.parent.parent.red = true;
          z = z.parent.parent;
        } else {
          if (z === z.parent.right) {
            z = z.parent;
            this.rotateLeft(z);
          }
          z.parent.red = false;
          z.parent.parent.red = true;
          this.rotateRight(z.parent.parent);
        }
      } else {
        const y = z.parent.parent.left;
        if (y.red) {
          y.red = false;
          z.parent.red = false;
          z.parent.parent.red = true;
          z = z.parent.parent;
        } else {
          if (z === z.parent.left) {
            z = z.parent;
            this.rotateRight(z);
          }
          z.parent.red = false;
          z.parent.parent.red = true;
          this.rotateLeft(z.parent.parent);
        }
      }
    }
    this.root.red = false;
  }

  private rotateLeft(x: Node): void {
    if (x.right === this.nil) return;
    const y = x.right;
    x.right = y.left;
    if (y.left !== this.nil) y.left.parent = x;
    this.updateMax(x);
    this.replaceParent(x, y);
    y.left = x;
    this.updateMax(y);
  }

  private rotateRight(x: Node): void {
    if (x.left === this.nil) return;
    const y = x.left;
    x.left = y.right;
    if (y.right !== this.nil) y.right.parent = x;
    this.updateMax(x);
    this.replaceParent(x, y);
    y.right = x;
    this.updateMax(y);
  }

  private replaceParent(x: Node, y: Node): void {
    y.parent = x.parent;
    if (x.parent === this.nil) {
      this.root = y;
    } else {
      if (x === x.parent.left) x.parent.left = y;
      else x.parent.right = y;
      this.updateMax(x.parent);
    }
    x.parent = y;
  }

  /** etcd's visit: calls fn on each node overlapping [begin, end) as Interval.Compare sees overlap. */
  private visit(x: Node, begin: Bytes, end: Bytes, fn: (n: Node) => boolean): boolean {
    if (x === this.nil) return true;
    const v = cmpIvl(begin, end, x.begin, x.end);
    if (v < 0) {
      if (!this.visit(x.left, begin, end, fn)) return false;
    } else if (v > 0) {
      if (cmpIvl(x.begin, x.max, begin, end) === 0) {
        if (!this.visit(x.left, begin, end, fn) || !this.visit(x.right, begin, end, fn)) return false;
      }
    } else if (!this.visit(x.left, begin, end, fn) || !fn(x) || !this.visit(x.right, begin, end, fn)) {
      return false;
    }
    return true;
  }

  /** etcd's IntervalTree.Contains: do the visited intervals cover [begin, end) contiguously. */
  contains(begin: Bytes, end: Bytes): boolean {
    let minBegin: Bytes | undefined;
    let maxEnd: Bytes = '';
    let contiguous = true;
    this.visit(this.root, begin, end, (n) => {
      if (minBegin === undefined) {
        minBegin = n.begin;
        maxEnd = n.end;
        return true;
      }
      if (affineCompare(maxEnd, n.begin) < 0) {
        contiguous = false;
        return false;
      }
      if (affineCompare(n.end, maxEnd) > 0) maxEnd = n.end;
      return true;
    });
    return contiguous && minBegin !== undefined && affineCompare(maxEnd, end) >= 0 && affineCompare(minBegin, begin) <= 0;
  }

  /** etcd's IntervalTree.Intersects. */
  intersects(begin: Bytes, end: Bytes): boolean {
    let x = this.root;
    while (x !== this.nil && cmpIvl(begin, end, x.begin, x.end) !== 0) {
      x = x.left !== this.nil && affineCompare(x.left.max, begin) > 0 ? x.left : x.right;
    }
    return x !== this.nil;
  }

  /** A request as etcd's checkKeyPoint / checkKeyInterval make it. */
  permits(key: Bytes, rangeEnd: Bytes): boolean {
    if (rangeEnd === '') return this.intersects(key, key + '\0');
    return this.contains(key, rangeEnd === '\0' ? '' : rangeEnd);
  }
}
