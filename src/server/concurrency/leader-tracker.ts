import type { KeyValue } from '../../mvcc/types.ts';
import { EventType, type WatchEvent } from '../../mvcc/watcher-group.ts';

/**
 * Who leads an election, followed through the history of its keys: the live key with the lowest
 * create revision. Fed the events of each revision in order, it reports the leader's key-value
 * whenever it changes: another key leads, or the leader proclaims a value. Because it is a function
 * of the history alone, every observer that starts from the same revision sees the same sequence
 * (etcd's observe reads the next leader after a deletion, and can skip leaders that came and went).
 */
export class LeaderTracker {
  private readonly live = new Map<string, KeyValue>();
  private reported: KeyValue | undefined;

  constructor(kvs: readonly KeyValue[]) {
    for (const kv of kvs) this.live.set(kv.key, kv);
  }

  leader(): KeyValue | undefined {
    let best: KeyValue | undefined;
    // Keys made by one txn share a create revision: etcd's sorted range then gives the lowest key.
    for (const kv of this.live.values()) if (!best || kv.createRevision < best.createRevision || (kv.createRevision === best.createRevision && kv.key < best.key)) best = kv;
    return best;
  }

  /** Applies one revision's events. */
  apply(events: readonly WatchEvent[]): void {
    for (const e of events) {
      if (e.type === EventType.DELETE) this.live.delete(e.kv.key);
      else this.live.set(e.kv.key, e.kv);
    }
  }

  /** The leader, if it is not the one last reported (another key, or a newer value); marks it reported. */
  next(): KeyValue | undefined {
    const l = this.leader();
    if (!l || (this.reported && this.reported.key === l.key && this.reported.modRevision === l.modRevision)) return undefined;
    this.reported = l;
    return l;
  }
}

/** Splits events spanning several revisions into one group per revision, in order. */
export function byRevision(events: readonly WatchEvent[]): { rev: number; events: WatchEvent[] }[] {
  const out: { rev: number; events: WatchEvent[] }[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && last.rev === e.kv.modRevision) last.events.push(e);
    else out.push({ rev: e.kv.modRevision, events: [e] });
  }
  return out;
}
