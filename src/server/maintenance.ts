import type { AuthInfo } from '../auth/index.ts';
import { Errors, EtcdError } from '../errors.ts';
import type { AuthService } from './auth-service.ts';
import type { Clock } from './clock.ts';
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

/** What status reports of raft, and what a leadership transfer needs. */
export interface RaftView {
  leaderId(): bigint;
  isLeader(): boolean;
  isLearner(): boolean;
  commit(): number;
  term(): number;
  /** Moves leadership to a voter (raft's transfer). */
  transfer(to: bigint): void;
  voter(id: bigint): boolean;
}

/** etcd's StatusResponse fields (etcd's version string is the caller's). */
export interface StatusInfo {
  dbSize: number;
  dbSizeInUse: number;
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  isLearner: boolean;
  errors: string[];
  revision: number;
}

// etcd's ErrTimeoutLeaderTransfer is missing from its gateway's error table: gRPC sends it as Unknown.
const leaderTransferTimedOut = () => new EtcdError(2, 'etcdserver: request timed out, leader transfer took too long');
// etcd 3.4 hands the auth store's error to gRPC untranslated for its maintenance calls: code Unknown.
const maintenanceDenied = () => new EtcdError(2, 'auth: permission denied');

export interface MaintenanceOptions {
  alarms: Alarms;
  raft: RaftView;
  auth: AuthService;
  clock: Clock;
  heartbeatMs: number;
  electionTimeoutMs: number;
  kv: KvStore;
  lane: AppliedLane;
  state: StateStore;
  appliedIndex(): number;
  proposals: Proposals;
  reads: ReadBarrier;
  quota?: Quota;
  /** The size last measured (at most a second old: no caller waits on a busy database for it). */
  databaseSize(): Promise<number>;
  /** Measures the size now (at start, and after space was freed). */
  measureSize(): Promise<void>;
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
    if (action === AlarmAction.DEACTIVATE) await this.o.measureSize();
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

  /** Measures the database's size now (at start, so the quota and status start from a real figure). */
  measureSize(): Promise<void> {
    return this.o.measureSize();
  }

  /** etcd's Status: this member's view of raft, its database and the raised alarms. */
  async status(): Promise<StatusInfo> {
    const { raft, kv } = this.o;
    const size = await this.o.databaseSize();
    return {
      dbSize: size,
      dbSizeInUse: size,
      leader: raft.leaderId(),
      raftIndex: raft.commit(),
      raftTerm: raft.term(),
      raftAppliedIndex: this.o.appliedIndex(),
      isLearner: raft.isLearner(),
      errors: this.errors(),
      revision: kv.currentRev,
    };
  }

  /** etcd's MoveLeader: the leader hands leadership to a voter and answers once it has moved (root only, with auth on). */
  async moveLeader(target: bigint, ai: AuthInfo): Promise<void> {
    this.admin(ai);
    const { raft, clock } = this.o;
    if (!raft.isLeader()) throw Errors.notLeader();
    if (!raft.voter(target)) throw Errors.badLeaderTransferee();
    this.transfer(target);
    const deadline = clock.now() + this.o.electionTimeoutMs * 3;
    while (raft.leaderId() !== target) {
      if (clock.now() > deadline) throw leaderTransferTimedOut();
      await new Promise<void>((r) => clock.setTimeout(r, this.o.heartbeatMs));
    }
  }

  /** Starts moving leadership to a voter (a stopping leader's hand-over; no caller to check). */
  transfer(target: bigint): void {
    this.o.raft.transfer(target);
  }

  /** etcd 3.4's admin check on maintenance calls (root only with auth on), with its untranslated error. */
  private admin(ai: AuthInfo): void {
    if (!this.o.auth.enabled) return;
    if (this.o.auth.store.isAdminPermitted(ai)) throw maintenanceDenied();
  }

  /** etcd's Defragment, for this member's database only; the quota is measured again after it. */
  async defragment(ai?: AuthInfo): Promise<void> {
    if (ai) this.admin(ai);
    await this.o.state.defragment();
    await this.o.measureSize();
  }

  /**
   * etcd's Snapshot: the whole applied state as sealed lines (see storage/snapshot-file.ts), read at
   * one applied index once everything applied so far is in the tables. `edgecd snapshot restore`
   * starts a new cluster from it.
   */
  async snapshot(write: (line: string) => Promise<void>, ai?: AuthInfo): Promise<void> {
    if (ai) this.admin(ai);
    await this.o.lane.drain();
    const out = sealing(write);
    await this.o.state.exportSnapshot(out.write);
    await out.seal();
  }

  /**
   * etcd's Hash, of the whole backend in etcd: here of the key space's whole history now (a
   * backend file's bytes mean nothing across two databases), the same on members that applied the
   * same log.
   */
  async hash(ai?: AuthInfo): Promise<HashKV> {
    return this.hashKV(0, ai);
  }

  /**
   * etcd's HashKV: a hash of the key space's history up to rev (0: now) as compaction leaves it,
   * the same on every member that applied the same log, so a member whose rows diverged is found.
   */
  async hashKV(rev = 0, ai?: AuthInfo): Promise<HashKV> {
    // A peer's corruption check asks without a caller; a client's question needs root with auth on.
    if (ai) this.admin(ai);
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
