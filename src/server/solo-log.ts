import type { StoredEntry, HardStateRow } from '../storage/member-store.ts';

/** What the member's loop needs from consensus: raft's Ready/Advance shape. */
export interface LogReady {
  hardState?: HardStateRow;
  entries: StoredEntry[];
  committedEntries: StoredEntry[];
}

export interface LogNode {
  readonly term: number;
  readonly isLeader: boolean;
  propose(data: Uint8Array): void;
  hasReady(): boolean;
  ready(): LogReady;
  advance(rd: LogReady): void;
}

/**
 * Consensus of one: every proposal is committed as soon as it is durable. It fills the same
 * Ready contract raft does, so the member's write path (persist, then apply) is the same.
 */
export class SoloLog implements LogNode {
  readonly term = 1;
  readonly isLeader = true;
  private unstable: StoredEntry[] = [];

  constructor(private lastIndex: number) {}

  propose(data: Uint8Array): void {
    this.unstable.push({ index: ++this.lastIndex, term: this.term, kind: 0, data });
  }

  hasReady(): boolean {
    return this.unstable.length > 0;
  }

  ready(): LogReady {
    const entries = this.unstable;
    this.unstable = [];
    return {
      entries,
      committedEntries: entries,
      hardState: entries.length ? { term: this.term, vote: '', commit: entries[entries.length - 1].index } : undefined,
    };
  }

  advance(): void {}
}
