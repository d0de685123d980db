/**
 * Keys and values are byte strings held as latin1 JS strings: one char per byte (0-255), so the
 * engine's `<` compares them bytewise, exactly as etcd orders keys, with no Buffer allocation.
 */
export type Bytes = string;

export interface Revision {
  main: number;
  sub: number;
}

export interface KeyValue {
  key: Bytes;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Bytes;
  lease: bigint;
}

/** One mutation made by a write transaction, in the order it was made. */
export interface Change {
  sub: number;
  /** For a delete: key set, value empty, version 0, modRevision the delete's revision. */
  kv: KeyValue;
  tombstone: boolean;
  /** The key's value just before this change, if it was live (watchers' prev_kv, lease bookkeeping). */
  prev?: KeyValue;
}

export class MvccError extends Error {}
export class CompactedError extends MvccError {
  constructor() {
    super('mvcc: required revision has been compacted');
  }
}
export class FutureRevError extends MvccError {
  constructor() {
    super('mvcc: required revision is a future revision');
  }
}

export function revLess(a: Revision, b: Revision): boolean {
  return a.main < b.main || (a.main === b.main && a.sub < b.sub);
}

export function revGreater(a: Revision, b: Revision): boolean {
  return revLess(b, a);
}

export const ZERO_REV: Revision = Object.freeze({ main: 0, sub: 0 });
