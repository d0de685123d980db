// RawNode: the only boundary between the Raft state machine and the world.
//
// Drive it like this (one loop, no concurrency inside the node):
//
//   node.tick() every tick interval; node.step(m) for every message received;
//   node.propose(data) / proposeConfChange(cc) / readIndex(ctx) for clients.
//   if (node.hasReady()) {
//     const rd = node.ready();
//     persist rd.snapshot (if any), rd.entries and rd.hardState in ONE durable write;
//     send rd.messages;
//     apply rd.committedEntries in order (for a confChange entry, call
//       node.applyConfChange(decodeConfChange(e.data)));
//     answer reads whose rd.readStates index is applied;
//     node.advance(rd);
//   }
//
// Between ready() and advance() the node may keep stepping messages and
// ticking, but ready() must not be called again before advance().
//
// With asyncStorageWrites, writes may overlap: ready() may be called again
// while earlier Readys are still being written. Each Ready then carries only
// what is new (entries not handed out yet), and its committed entries are
// already durable here, so they may be applied at once (ackApplied). The
// application writes the Readys in order and, once a Ready is durable, sends
// its remaining messages and calls ackPersisted(rd), also in order.
import { encodeConfChange } from './confchange.ts';
import { Raft, type Config } from './raft.ts';
import {
  ErrStepLocalMsg,
  hardStateEqual,
  isLocalMsg,
  isResponseMsg,
  msg,
  payloadSize,
  RaftError,
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type ProgressStatus,
  type Ready,
  type SoftState,
  type Status,
} from './types.ts';

export class RawNode {
  /** The state machine itself. Exposed for tests and diagnostics; do not mutate. */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private readyInFlight = false;
  private readonly async: boolean;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.async = config.asyncStorageWrites ?? false;
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (a single voter becomes leader at once). */
  campaign(): void {
    this.raft.step(msg({ type: 'MsgHup', from: this.raft.id }));
  }

  /**
   * Proposes data to be appended to the log. Throws ErrProposalDropped (a
   * RaftError) when it is certain not to be appended: no leader is known, a
   * leader transfer is in progress, this member is a candidate, or the
   * uncommitted-size limit is reached. Not throwing does not mean the entry
   * will commit: a forwarded proposal can still be lost, so callers need a
   * timeout.
   */
  propose(data: Uint8Array): void {
    this.raft.step(msg({ type: 'MsgProp', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }));
  }

  /**
   * Proposes a membership change. Throws ErrProposalDropped as propose() does,
   * and also when this member is the leader and another change is still
   * pending, or no entry of its term is committed yet (retry later).
   */
  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.raft.step(msg({ type: 'MsgProp', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'confChange', data }] }));
  }

  /**
   * Steps a message received from a peer. Local message types throw
   * ErrStepLocalMsg. Responses from unknown members are ignored, and so are
   * forwarded proposals the leader drops (the proposer times out).
   */
  step(m: Message): void {
    if (isLocalMsg(m.type)) throw ErrStepLocalMsg;
    if (isResponseMsg(m.type) && !this.raft.trk.progress.has(m.from)) return;
    try {
      this.raft.step(m);
    } catch (e) {
      if (e instanceof RaftError && e.code === 'ErrProposalDropped') return;
      throw e;
    }
  }

  /**
   * Requests a linearizable read. When confirmed, a ReadState with this
   * context and the index to wait for (apply up to it, then read) appears in
   * a later Ready. Silently dropped if no leader is known: retry on timeout.
   * Many reads can share one context; concurrent calls are confirmed by one
   * heartbeat round. The context must be non-empty and unique.
   */
  readIndex(context: Uint8Array): void {
    if (context.length === 0) throw new Error('readIndex needs a non-empty context');
    this.raft.step(msg({ type: 'MsgReadIndex', context }));
  }

  /** Asks the leader to hand leadership to `to` (call on any member). */
  transferLeader(to: NodeId): void {
    this.raft.step(msg({ type: 'MsgTransferLeader', from: to }));
  }

  /** The transport could not deliver a message to `id`. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(msg({ type: 'MsgUnreachable', from: id }));
  }

  /** The transport finished sending a snapshot to `id` (ok) or failed to (not ok). */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(msg({ type: 'MsgSnapStatus', from: id, reject: !ok }));
  }

  /** Applies a committed conf change; returns the new configuration (store it with the next snapshot). */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.role !== this.prevSoftState.role) return true;
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true;
    if (r.raftLog.unstable.nextSnapshot()) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.raftLog.unstable.hasNextEntries()) return true;
    return r.raftLog.hasNextCommittedEnts(!this.async);
  }

  /** The next batch of work for the application. Call advance(rd) when it is done. */
  ready(): Ready {
    if (this.readyInFlight && !this.async) throw new Error('ready() called again before advance()');
    const r = this.raft;
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.raftLog.unstable.nextEntries(),
      committedEntries: r.raftLog.nextCommittedEnts(!this.async),
      messages: r.msgs,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.role !== this.prevSoftState.role) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardState)) {
      rd.hardState = hs;
      rd.mustSync = hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote;
      this.prevHardState = hs;
    }
    if (rd.entries.length > 0) rd.mustSync = true;
    const snap = r.raftLog.unstable.nextSnapshot();
    if (snap !== undefined) rd.snapshot = snap;
    r.msgs = [];
    r.readStates = [];
    r.raftLog.unstable.acceptInProgress();
    if (rd.committedEntries.length > 0) r.raftLog.acceptApplying(rd.committedEntries[rd.committedEntries.length - 1].index);
    this.readyInFlight = true;
    return rd;
  }

  /** Tells the node that rd was persisted, sent and applied. */
  advance(rd: Ready): void {
    this.readyInFlight = false;
    this.ackApplied(rd);
    this.ackPersisted(rd);
  }

  /** rd's committed entries are applied. */
  ackApplied(rd: Ready): void {
    if (rd.committedEntries.length > 0) {
      let payload = 0;
      for (const e of rd.committedEntries) payload += payloadSize(e);
      this.raft.appliedTo(rd.committedEntries[rd.committedEntries.length - 1].index, payload);
    }
  }

  /** rd's snapshot, entries and hard state are durable (call in the order the Readys came). */
  ackPersisted(rd: Ready): void {
    const r = this.raft;
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1];
      r.stableTo(e.index, e.term);
    }
    if (rd.snapshot !== undefined) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      // The application installed the snapshot: its state is now at the snapshot's index.
      if (rd.snapshot.metadata.index > r.raftLog.applied && rd.snapshot.metadata.index <= r.raftLog.committed) {
        r.raftLog.appliedTo(rd.snapshot.metadata.index);
      }
    }
  }

  status(): Status {
    const r = this.raft;
    const st: Status = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      confState: r.trk.confState(),
    };
    if (r.role === 'leader') {
      const progress: Record<NodeId, ProgressStatus> = {};
      for (const [id, pr] of r.trk.progress) progress[id] = pr.status();
      st.progress = progress;
    }
    return st;
  }
}

/**
 * A leader's replication messages may go out before the Ready that holds them is persisted (Raft
 * thesis §10.2.1: the leader writes its log in parallel with its followers), since the leader
 * counts itself towards the commit only once stableTo says its entries are written. Every other
 * message speaks for persisted state (a vote, an acknowledgement) and waits for the write.
 */
export function sendableBeforePersist(m: Message): boolean {
  return m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap';
}
