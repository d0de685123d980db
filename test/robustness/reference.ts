import type { Value, WatchEvent } from './history.ts';

/**
 * The cluster's history as one member reported it at the end (every event from revision 1, read
 * through a watch): the state of any key at any revision, for checking what operations and
 * watchers were told. The reference is itself checked: every member must report the same one.
 */

export interface KeyState {
  rev: number;
  value: Value;
  mod: number;
  create: number;
  version: number;
  lease: string;
}

export class Reference {
  readonly byKey = new Map<string, KeyState[]>();
  /** Events at each revision (one, or several for a lease revoke deleting several keys). */
  readonly byRev = new Map<number, WatchEvent[]>();
  readonly lastRev: number;

  constructor(
    readonly events: WatchEvent[],
    /** The revision the history was read up to. */
    readonly finalRevision: number,
  ) {
    let last = 0;
    for (const e of events) {
      let tl = this.byKey.get(e.key);
      if (!tl) this.byKey.set(e.key, (tl = []));
      tl.push(
        e.type === 'PUT'
          ? { rev: e.rev, value: e.value, mod: e.mod, create: e.create, version: e.version, lease: e.lease }
          : { rev: e.rev, value: null, mod: 0, create: 0, version: 0, lease: '' },
      );
      const at = this.byRev.get(e.rev);
      if (at) at.push(e);
      else this.byRev.set(e.rev, [e]);
      last = Math.max(last, e.rev);
    }
    this.lastRev = last;
  }

  /** The key's state at revision rev (after every change at or below it). */
  stateAt(key: string, rev: number): KeyState {
    const tl = this.byKey.get(key);
    const none: KeyState = { rev: 0, value: null, mod: 0, create: 0, version: 0, lease: '' };
    if (!tl || tl.length === 0 || tl[0].rev > rev) return none;
    let lo = 0;
    let hi = tl.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tl[mid].rev <= rev) lo = mid;
      else hi = mid - 1;
    }
    return tl[lo];
  }

  /** Events on `key` at exactly rev. */
  eventAt(key: string, rev: number): WatchEvent | undefined {
    return this.byRev.get(rev)?.find((e) => e.key === key);
  }

  /** Every live key at rev. */
  snapshotAt(rev: number, prefix = ''): Map<string, KeyState> {
    const out = new Map<string, KeyState>();
    for (const key of this.byKey.keys()) {
      if (!key.startsWith(prefix)) continue;
      const s = this.stateAt(key, rev);
      if (s.value !== null) out.set(key, s);
    }
    return out;
  }
}

/** One-line text of an event, for comparisons and messages. */
export function eventText(e: WatchEvent): string {
  return `${e.rev} ${e.type} ${e.key}=${e.type === 'PUT' ? e.value : ''} c${e.create} m${e.mod} v${e.version} prev=${e.prev === null ? '-' : e.prev}${e.lease && e.lease !== '0' ? ` lease ${e.lease}` : ''}`;
}
