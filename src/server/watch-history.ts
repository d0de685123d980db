import { WatchableStore, type WatchableStoreOptions, type WatchHistory } from '../mvcc/watchable-store.ts';
import type { Member } from './member.ts';

/** A member's history as watchers read it: rows from memory and the database, values through the key index. */
export function memberWatchHistory(member: Member): WatchHistory {
  return {
    rows: (after, until, limit) => member.changesSince(after, until, limit),
    valuesAt: (reqs) => member.kv.valuesAt(reqs),
    currentRev: () => member.kv.currentRev,
    compactRev: () => member.kv.compactRev,
  };
}

/** The member's watchable store: fed every applied write, in order, on leader and followers alike. */
export function createWatchStore(member: Member, opts?: WatchableStoreOptions): WatchableStore {
  const store = new WatchableStore(memberWatchHistory(member), opts);
  member.onChanges((rev, changes) => store.notify(rev, changes));
  return store;
}
