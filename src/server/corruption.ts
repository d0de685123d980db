import { AlarmType } from './alarms.ts';
import type { Clock } from './clock.ts';
import type { HashKV } from './maintenance.ts';

/** A peer's answer to "your hash at this revision" (or why it gave none). */
export interface PeerHash {
  id: bigint;
  result?: HashKV;
  error?: unknown;
}

/**
 * The peers whose history differs from ours at the same revision under the same compaction: the
 * only comparison that means anything (a peer behind or compacted elsewhere is left for next time).
 */
export function mismatched(local: HashKV, peers: PeerHash[]): bigint[] {
  return peers.filter((p) => p.result && p.result.revision === local.revision && p.result.compactRevision === local.compactRevision && p.result.hash !== local.hash).map((p) => p.id);
}

export interface CorruptionCheckOptions {
  clock: Clock;
  /** --experimental-corrupt-check-time. */
  intervalMs: number;
  leading(): boolean;
  local(): Promise<HashKV>;
  peers(revision: number): Promise<PeerHash[]>;
  /** Raises the CORRUPT alarm for a member (through the log). */
  raise(memberId: bigint, alarm: AlarmType): Promise<unknown>;
  log(msg: string): void;
}

/**
 * etcd's periodic corruption check: the leader compares its key-space hash with every member's at
 * its own revision, and raises CORRUPT for each member that differs. CORRUPT then stops every write
 * on the cluster until an operator has looked.
 */
export class CorruptionCheck {
  private timer: unknown;

  constructor(private readonly o: CorruptionCheckOptions) {}

  start(): void {
    this.timer = this.o.clock.setTimeout(async () => {
      await this.check().catch((err) => this.o.log(`corruption check failed: ${(err as Error).message}`));
      if (this.timer !== undefined) this.start();
    }, this.o.intervalMs);
  }

  stop(): void {
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One round; returns the members found corrupt. */
  async check(): Promise<bigint[]> {
    if (!this.o.leading()) return [];
    const local = await this.o.local();
    const bad = mismatched(local, await this.o.peers(local.revision));
    for (const id of bad) {
      this.o.log(`member ${id.toString(16)}'s key space differs from the leader's at revision ${local.revision}: raising CORRUPT`);
      await this.o.raise(id, AlarmType.CORRUPT);
    }
    return bad;
  }
}
