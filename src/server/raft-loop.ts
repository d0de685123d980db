import { sendableBeforePersist, type ConfChange, type ConfState, type MemoryStorage, type Message, type RawNode, type Ready } from '../raft/index.ts';
import type { SnapshotMeta } from '../storage/rows.ts';
import type { AppliedLane } from './applied-lane.ts';
import type { Applier } from './applier.ts';
import type { LogLane } from './log-lane.ts';
import type { LogRetention } from './log-retention.ts';
import type { ReadBarrier } from './read-barrier.ts';

export interface RaftLoopOptions {
  node: RawNode;
  storage: MemoryStorage;
  selfNode: string;
  term: number;
  /** Log writes in flight at once. */
  logWrites: number;
  log: LogLane;
  lane: AppliedLane;
  retention: LogRetention;
  reads: ReadBarrier;
  applier: Applier;
  /** Sends raft messages to peers (absent: a member alone). */
  send?: (messages: Message[]) => void;
  /** This member started or stopped leading, as raft's soft state says. */
  leadershipChanged(leading: boolean): void;
  /** Another leader became known (etcd counts these as leader changes seen). */
  newLeader?: (lead: string, term: number) => void;
  /** A snapshot from the leader replaced this member's state. */
  installed?: (index: number, term: number) => void;
  /** A snapshot from the leader replaced the tables: rebuild the in-memory state from them. */
  reload(): Promise<void>;
  fail(err: unknown): void;
  failed(): boolean;
}

/**
 * The Ready loop (etcd's raftNode): takes raft's Readys, writes what must be durable through the
 * log lane, sends messages, hands committed entries to the applier, and tells raft what is done.
 */
export class RaftLoop {
  term: number;
  /** The leader's raft id as this member last heard ('' when none). */
  leader = '';
  confState: ConfState;
  /** Snapshot files received from the leader, by raft index, waiting for raft to accept them. */
  readonly receivedSnapshots = new Map<number, string>();
  private looping = false;
  /** Readys whose log write is in flight, oldest first; each settles after the ones before it. */
  private writing: Promise<void>[] = [];

  constructor(private readonly o: RaftLoopOptions) {
    this.term = o.term;
    this.confState = o.storage.initialState().confState;
    o.log.last = o.storage.lastIndex();
  }

  get isLeader(): boolean {
    return this.leader === this.o.selfNode && this.o.selfNode !== '';
  }

  get busy(): boolean {
    return this.looping;
  }

  /** Raft has something to do: run the loop soon (once, however often asked). */
  kick(): void {
    if (this.looping || this.o.failed()) return;
    this.looping = true;
    setImmediate(() => void this.loop());
  }

  /** A committed conf change: raft's configuration moves on. */
  applyConfChange(cc: ConfChange, index: number): ConfState {
    this.confState = this.o.node.applyConfChange(cc);
    this.o.retention.confChanged(index, this.confState);
    return this.confState;
  }

  /**
   * Takes Readys while raft has them, up to logWrites with their log write in flight (each carries
   * what gathered while the others were written): a Ready's committed entries are durable already
   * and applied at once, and what must wait for its own write (the rest of its messages, raft's
   * acknowledgement) follows once that write and every earlier one are done. A snapshot, received
   * or recorded, is written alone.
   */
  private async loop(): Promise<void> {
    const { node } = this.o;
    const most = Math.max(1, this.o.logWrites);
    try {
      while (!this.o.failed() && node.hasReady()) {
        if (this.writing.length >= most) {
          await this.writing[0];
          continue;
        }
        const rd = node.ready();
        if (rd.snapshot || this.o.retention.hasPending) {
          await this.drainWrites();
          await this.handleReady(rd);
        } else this.startReady(rd);
      }
    } catch (err) {
      this.o.fail(err);
    } finally {
      this.looping = false;
    }
    this.o.lane.flush();
  }

  async drainWrites(): Promise<void> {
    while (this.writing.length) await this.writing[this.writing.length - 1];
  }

  /** Starts a Ready's log write and does at once what need not wait for it. */
  private startReady(rd: Ready): void {
    const early = rd.messages.length ? rd.messages.filter(sendableBeforePersist) : [];
    if (early.length) this.o.send?.(early);
    const write = this.o.log.persist(rd, this.o.retention.takePending());
    this.takeSoftState(rd);
    if (rd.committedEntries.length) {
      for (const e of rd.committedEntries) this.o.applier.apply(e);
      this.o.node.ackApplied(rd);
      this.o.lane.flush();
    }
    this.o.reads.answered(rd.readStates);
    this.o.reads.release(this.o.applier.index);
    const before = this.writing.at(-1);
    const done = (before ? Promise.all([before, write]) : write).then(() => this.finishWrite(rd));
    this.writing.push(done);
    // A failed write fails the member; every later one then settles without acting.
    done.catch((err) => this.o.fail(err));
  }

  /** A Ready's write and every earlier one are durable: what waited for them goes on. */
  private finishWrite(rd: Ready): void {
    this.writing.shift();
    if (this.o.failed()) return;
    this.takeWritten(rd);
    const late = rd.messages.filter((m) => !sendableBeforePersist(m));
    if (late.length) this.o.send?.(late);
    this.o.node.ackPersisted(rd);
    this.o.retention.maybeSnapshot();
    this.kick();
  }

  /** Mirrors a written Ready in the in-memory raft storage. */
  private takeWritten(rd: Ready): void {
    if (rd.entries.length) {
      this.o.storage.append(rd.entries);
      this.o.retention.appended(rd.entries);
    }
    if (rd.hardState) {
      this.o.storage.setHardState(rd.hardState);
      this.term = rd.hardState.term;
    }
  }

  private takeSoftState(rd: Ready): void {
    if (!rd.softState) return;
    const wasLeader = this.isLeader;
    if (rd.softState.lead !== '' && rd.softState.lead !== this.leader) this.o.newLeader?.(rd.softState.lead, this.term);
    this.leader = rd.softState.lead;
    if (this.isLeader !== wasLeader) this.o.leadershipChanged(this.isLeader);
  }

  /** A Ready written alone: one with a snapshot to install, or while a snapshot is recorded. */
  private async handleReady(rd: Ready): Promise<void> {
    const snapshot = rd.snapshot && rd.snapshot.metadata.index > 0 ? rd.snapshot : undefined;
    let installFrom: string | undefined;
    if (snapshot) {
      installFrom = this.receivedSnapshots.get(snapshot.metadata.index);
      if (!installFrom) throw new Error(`raft accepted snapshot ${snapshot.metadata.index} but its data never arrived`);
    }
    // Replication goes out while the leader writes the same entries (raft counts them once stable).
    const early = rd.messages.length ? rd.messages.filter(sendableBeforePersist) : [];
    if (early.length) this.o.send?.(early);
    // A snapshot taken here is dropped when one arrives: the received one replaces the state.
    const taken = this.o.retention.takePending();
    const meta: SnapshotMeta | undefined = snapshot ? { index: snapshot.metadata.index, term: snapshot.metadata.term, confState: snapshot.metadata.confState } : taken;
    await this.o.log.persist(rd, meta, installFrom);
    if (snapshot) {
      this.o.storage.applySnapshot(snapshot);
      this.receivedSnapshots.delete(snapshot.metadata.index);
      await this.o.reload();
      this.confState = snapshot.metadata.confState;
      this.o.retention.installed(snapshot.metadata.index);
      this.o.installed?.(snapshot.metadata.index, snapshot.metadata.term);
    }
    this.takeWritten(rd);
    this.takeSoftState(rd);
    const late = early.length ? rd.messages.filter((m) => !sendableBeforePersist(m)) : rd.messages;
    if (late.length) this.o.send?.(late);
    for (const e of rd.committedEntries) this.o.applier.apply(e);
    if (rd.committedEntries.length) this.o.lane.flush();
    this.o.reads.answered(rd.readStates);
    this.o.node.advance(rd);
    this.o.reads.release(this.o.applier.index);
    this.o.retention.maybeSnapshot();
  }
}
