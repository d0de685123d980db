import { Errors } from '../errors.ts';
import type { KvStore } from '../mvcc/kv-store.ts';
import { sealing } from '../storage/snapshot-file.ts';
import type { StateStore } from '../storage/stores.ts';
import { AlarmAction, type AlarmMember, type Alarms, type AlarmType } from './alarms.ts';
import type { AppliedLane } from './applied-lane.ts';
import type { Proposals } from './proposals.ts';
import type { Quota } from './quota.ts';
import type { ReadBarrier } from './read-barrier.ts';

export interface HashKV {
  hash: number;
  compactRevision: number;
  /** The revision hashed up to. */
  revision: number;
}

export interface MaintenanceOptions {
  alarms: Alarms;
  kv: KvStore;
  lane: AppliedLane;
  state: StateStore;
  appliedIndex(): number;
  proposals: Proposals;
  reads: ReadBarrier;
  quota?: Quota;
  databaseSize(): Promise<number>;
}

/** etcd's Maintenance service, as far as the member answers it: alarms and the database's size. */
export class Maintenance {
  constructor(private readonly o: MaintenanceOptions) {}

  /**
   * etcd's Alarm: GET lists the raised alarms (of one type, or all with NONE) as of a linearizable
   * read; ACTIVATE and DEACTIVATE go through the log, so every member agrees.
   */
  async alarm(action: number, memberID: bigint, alarm: AlarmType): Promise<AlarmMember[]> {
    if (action === AlarmAction.GET) {
      await this.o.reads.wait();
      return this.o.alarms.list(alarm);
    }
    const { resp } = await this.o.proposals.propose<{ alarms: AlarmMember[] }>({ alarm: { action, memberID, alarm } });
    // Space may have been freed before the alarm was cleared: measure again before the next write.
    if (action === AlarmAction.DEACTIVATE) await this.o.quota?.refresh();
    return resp.alarms;
  }

  /** The raised alarms as this member has applied them (status "errors", /health). */
  raised(): AlarmMember[] {
    return this.o.alarms.list();
  }

  /** etcd's status "errors": one line per raised alarm. */
  errors(): string[] {
    return this.o.alarms.describe();
  }

  databaseSize(): Promise<number> {
    return this.o.databaseSize();
  }

  /** etcd's Defragment, for this member's database only; the quota is measured again after it. */
  async defragment(): Promise<void> {
    await this.o.state.defragment();
    await this.o.quota?.refresh();
  }

  /**
   * etcd's Snapshot: the whole applied state as sealed lines (see storage/snapshot-file.ts), read at
   * one applied index once everything applied so far is in the tables. `edgecd snapshot restore`
   * starts a new cluster from it.
   */
  async snapshot(write: (line: string) => Promise<void>): Promise<void> {
    await this.o.lane.drain();
    const out = sealing(write);
    await this.o.state.exportSnapshot(out.write);
    await out.seal();
  }

  /**
   * etcd's HashKV: a hash of the key space's history up to rev (0: now) as compaction leaves it,
   * the same on every member that applied the same log, so a member whose rows diverged is found.
   */
  async hashKV(rev = 0): Promise<HashKV> {
    const { kv, lane } = this.o;
    for (;;) {
      const revision = rev > 0 ? rev : kv.currentRev;
      if (revision > kv.currentRev) throw Errors.futureRev();
      const compactRevision = kv.compactRev;
      if (revision < compactRevision) throw Errors.compacted();
      // Every row up to the revision is in the tables once the applied state up to now is.
      await lane.flushedTo(this.o.appliedIndex(), () => false);
      const hash = await this.o.state.hashKV(revision, compactRevision);
      // A compaction committed meanwhile may have deleted rows this hash counted on: hash again.
      if (kv.compactRev === compactRevision) return { hash, compactRevision, revision };
    }
  }

  /** Proposals of this member waiting for their entry to apply. */
  pendingProposals(): number {
    return this.o.proposals.pending;
  }

  get quotaBytes(): number | undefined {
    return this.o.quota?.bytes;
  }
}
