// The Raft state machine. No I/O: it consumes messages and ticks, and
// produces messages (this.msgs), read states, and changes to its log that the
// RawNode hands to the application in a Ready.
//
// Each role has its own step function (stepLeader, stepCandidate,
// stepFollower) and tick function, swapped on every role change, so one
// role's rules never mix with another's. Rules common to all roles (term
// handling, votes) live in Raft.step.
import { applyToTracker, restoreTracker } from './confchange.ts';
import { RaftLog } from './log.ts';
import { ReadOnly } from './readonly.ts';
import type { Storage } from './storage.ts';
import { ProgressTracker } from './tracker.ts';
import {
  EMPTY,
  entrySize,
  ErrProposalDropped,
  ErrSnapshotTemporarilyUnavailable,
  isEmptyHardState,
  msg,
  None,
  payloadSize,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type ReadState,
  type Role,
  type Snapshot,
  type SoftState,
} from './types.ts';

export interface Config {
  /** This member's id. Must not be ''. */
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [electionTick, 2*electionTick)). */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be < electionTick. */
  heartbeatTick: number;
  /** The durable log. Raft only reads it; the application writes it while handling a Ready. */
  storage: Storage;
  /**
   * The last index the application has applied (on restart); committed
   * entries after it are handed out again. Default: storage.firstIndex()-1,
   * which is older than the snapshot if the log was kept behind it: pass the
   * application's own applied index.
   */
  applied?: number;
  /** Upper bound of the entries' size in one MsgApp (at least one entry is always sent). */
  maxSizePerMsg: number;
  /** Max MsgApp messages in flight to one follower in replicate state. */
  maxInflightMsgs: number;
  /** Optional bound on the bytes in flight to one follower. */
  maxInflightBytes?: number;
  /** A leader steps down if it has not heard from a quorum within an election timeout. */
  checkQuorum: boolean;
  /** Campaign in two phases so a partitioned member does not disrupt the cluster when it rejoins. */
  preVote: boolean;
  /** Seeded source of randomness in [0, 1), used only for election timeouts. */
  random: () => number;
  /** Bound on the payload bytes of uncommitted entries on the leader; proposals beyond it are dropped. */
  maxUncommittedEntriesSize?: number;
  /** Bound on the committed entries' size handed out in one Ready (at least one). Default: unbounded. */
  maxCommittedSizePerReady?: number;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  /**
   * Readys may be written while earlier ones are still being written (see RawNode): each carries
   * only what is new, and only committed entries that are already durable here.
   */
  asyncStorageWrites?: boolean;
}

type CampaignType = 'preElection' | 'election' | 'transfer';

const CAMPAIGN_TRANSFER = new Uint8Array([0x43, 0x61, 0x6d, 0x70, 0x61, 0x69, 0x67, 0x6e, 0x54, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]); // "CampaignTransfer"

function isCampaignTransfer(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false;
  return true;
}

function voteRespType(t: MessageType): MessageType {
  return t === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
}

export function validateConfig(c: Config): void {
  if (c.id === None) throw new Error('cannot use none as id');
  if (!(c.heartbeatTick > 0)) throw new Error('heartbeat tick must be greater than 0');
  if (!(c.electionTick > c.heartbeatTick)) throw new Error('election tick must be greater than heartbeat tick');
  if (!(c.maxInflightMsgs > 0)) throw new Error('max inflight messages must be greater than 0');
  if (!(c.maxSizePerMsg > 0)) throw new Error('max size per message must be greater than 0');
  if (typeof c.random !== 'function') throw new Error('a seeded random source is required');
}

type StepFn = (r: Raft, m: Message) => void;

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = None;
  readonly raftLog: RaftLog;
  trk: ProgressTracker;
  role: Role = 'follower';
  /** Whether this member is a learner in its current configuration. */
  isLearner = false;
  /** Messages to send, handed out with the next Ready. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  lead: NodeId = None;
  /** Target of a leader transfer in progress, or None. */
  leadTransferee: NodeId = None;
  /** The leader may not propose a conf change until this index is applied. */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** ReadIndex requests held back until the leader has committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];

  /** Leader/candidate/follower: ticks since the last election timeout reset. */
  electionElapsed = 0;
  /** Leader only: ticks since the last heartbeat. */
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly disableProposalForwarding: boolean;
  private readonly random: () => number;

  private stepFn: StepFn = stepFollower;
  private tickFn: () => void = () => this.tickElection();

  constructor(c: Config) {
    validateConfig(c);
    this.id = c.id;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Infinity);
    const { hardState, confState } = c.storage.initialState();
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? Infinity;
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes ?? Infinity);
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.random = c.random;
    restoreTracker(this.trk, confState, this.raftLog.lastIndex() + 1);
    this.isLearner = this.trk.learners.has(this.id);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    // What was snapshotted or applied is committed by definition, even if the hard state that
    // recorded the commit index was not written yet: the commit index alone need not be synced, and
    // with asynchronous writes entries are applied before the Ready that commits them is durable.
    const known = Math.max(c.storage.snapshot().metadata.index, c.applied ?? 0);
    if (known > this.raftLog.committed) this.raftLog.commitTo(known);
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, None);
  }

  // ---------------------------------------------------------------- state

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new Error(`${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    }
    // Below the first index it trails a snapshot, which is committed: keep the snapshot's.
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hasLeader(): boolean {
    return this.lead !== None;
  }

  /** A member can campaign if it is a voter and is not waiting to install a snapshot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  // ---------------------------------------------------------------- sending

  /** Queues m for sending, stamping `from` and (for most types) the current term. */
  send(m: Message): void {
    if (m.from === None) m.from = this.id;
    if (m.type === 'MsgVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp') {
      // Vote messages carry the term they are about (for pre-votes, a future term).
      if (m.term === 0) throw new Error(`term should be set when sending ${m.type}`);
    } else {
      if (m.term !== 0) throw new Error(`term should not be set when sending ${m.type} (was ${m.term})`);
      // Proposals and read requests forwarded to the leader are treated as local messages there.
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends entries (or a snapshot) to `to` if the flow control allows it. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends a MsgApp with new entries to `to`, or an empty one if sendIfEmpty
   * (to carry the commit index). Sends a snapshot instead if the entries it
   * needs are compacted. Returns true if a message was sent.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      // In probe state, send at most one entry: we don't know yet where the follower's log ends.
      ents = this.raftLog.entries(pr.next, pr.state === 'probe' ? 1 : this.maxMsgSize);
    }
    if (prevTerm === undefined || ents === undefined) return this.maybeSendSnapshot(to);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(msg({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed }));
    if (ents.length > 0) {
      let bytes = 0;
      for (const e of ents) bytes += entrySize(e);
      pr.sentEntries(ents[ents.length - 1].index, bytes);
    } else if (pr.state === 'probe') {
      pr.msgAppFlowPaused = true;
    }
    return true;
  }

  private maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined) return false;
    if (!pr.recentActive) return false; // don't send a snapshot to a member that seems down
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      if (e === ErrSnapshotTemporarilyUnavailable) return false;
      throw e;
    }
    if (snap.metadata.index === 0) throw new Error('need non-empty snapshot');
    pr.becomeSnapshot(snap.metadata.index);
    this.send(msg({ type: 'MsgSnap', to, snapshot: snap }));
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to);
    if (pr === undefined) return;
    // Only commit up to what the follower is known to have: it may not have the rest.
    const commit = Math.min(pr.match, this.raftLog.committed);
    if (ctx !== undefined) {
      // A heartbeat for a newer ReadIndex request supersedes one not yet sent:
      // one round then confirms all the requests queued so far.
      this.msgs = this.msgs.filter((x) => !(x.type === 'MsgHeartbeat' && x.to === to));
    }
    const m = msg({ type: 'MsgHeartbeat', to, commit });
    if (ctx !== undefined) m.context = ctx;
    this.send(m);
  }

  bcastAppend(): void {
    for (const id of this.trk.progress.keys()) {
      if (id !== this.id) this.sendAppend(id);
    }
  }

  bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingRequestCtx();
    for (const id of this.trk.progress.keys()) {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    }
  }

  sendTimeoutNow(to: NodeId): void {
    this.send(msg({ type: 'MsgTimeoutNow', to }));
  }

  // ---------------------------------------------------------------- log

  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  /** Leader: appends proposals to its log. Returns false if dropped for size. */
  appendEntry(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    let size = 0;
    for (const e of es) size += payloadSize(e);
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) return false;
    this.uncommittedSize += size;
    // Fresh objects: a proposal message may be delivered twice, and our log must not share its entries.
    const ents = es.map((e, i) => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    this.raftLog.append(ents);
    // The leader's own entries count towards the commit only once stable
    // (stableTo): the application may send them to followers while it writes
    // them, and a commit counted on an unwritten entry could be lost to a crash.
    return true;
  }

  /** The application persisted the log up to (i, t). The leader counts itself towards the commit. */
  stableTo(i: number, t: number): void {
    this.raftLog.stableTo(i, t);
    if (this.role !== 'leader' || !this.raftLog.matchTerm(i, t)) return;
    if (this.trk.progress.get(this.id)?.maybeUpdate(i) && this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
  }

  appliedTo(index: number, committedPayload: number): void {
    this.raftLog.appliedTo(index);
    if (this.role === 'leader') {
      this.uncommittedSize = Math.max(0, this.uncommittedSize - committedPayload);
    }
  }

  /** True if a committed entry not yet applied is a conf change. */
  private hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    const ents = log.slice(log.applied + 1, log.committed + 1);
    if (ents === undefined) return true; // a snapshot is pending: wait for it
    return ents.some((e) => e.type === 'confChange');
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = None;
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      const fresh = this.trk.newProgress(last + 1, pr.isLearner);
      fresh.recentActive = false;
      if (id === this.id) {
        // Only what is on disk counts; entries still being written are acknowledged by stableTo.
        fresh.match = this.raftLog.stableLastIndex();
        fresh.recentActive = true;
      }
      this.trk.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.role = 'follower';
  }

  becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('invalid transition [leader -> candidate]');
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither its term nor its vote.
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = None;
    this.role = 'precandidate';
  }

  becomeLeader(): void {
    if (this.role === 'follower') throw new Error('invalid transition [follower -> leader]');
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.role = 'leader';
    this.trk.progress.get(this.id)?.becomeReplicate();
    // Conservatively, no conf change may be proposed before everything in
    // our log at election time is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of the new term: committing it commits everything before it (§5.4.2).
    this.appendEntry([{ term: 0, index: 0, type: 'normal', data: EMPTY }]);
    // The empty entry's payload is zero, so it does not count towards the uncommitted size.
  }

  hup(t: CampaignType): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) return;
    // Campaigning with a configuration older than a committed one is unsafe.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === 'preElection') {
      this.becomePreCandidate();
      voteMsg = 'MsgPreVote';
      // Pre-votes are requested for the term we would campaign in, without incrementing ours.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = 'MsgVote';
      term = this.term;
    }
    if (this.poll(this.id, voteRespType(voteMsg), true) === 'won') {
      // Single-voter cluster: we won by our own vote.
      if (t === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      const m = msg({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm });
      if (t === 'transfer') m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  poll(id: NodeId, _t: MessageType, granted: boolean): 'won' | 'lost' | 'pending' {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(msg({ type: 'MsgHup', from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(msg({ type: 'MsgCheckQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === 'leader' && this.leadTransferee !== None) this.leadTransferee = None;
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(msg({ type: 'MsgBeat', from: this.id }));
    }
  }

  // ---------------------------------------------------------------- step

  /** Advances the state machine with one message. May throw ErrProposalDropped for MsgProp. */
  step(m: Message): void {
    // Term handling (§5.1): newer terms make us a follower, older ones are stale.
    if (m.term === 0) {
      // local message, or a proposal / read request forwarded by a follower
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = isCampaignTransfer(m.context);
        const inLease = this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        // We heard from a leader within the minimum election timeout: ignore
        // the request, neither updating our term nor granting a vote.
        if (!force && inLease) return;
      }
      if (m.type === 'MsgPreVote') {
        // Never change our term in response to a pre-vote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term we asked about: we only
        // move to it if we win the pre-election.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, None);
      }
    } else if (m.term < this.term) {
      if (m.type === 'MsgHeartbeat' || m.type === 'MsgApp') {
        // A leader of an older term, possibly cut off from a cluster that
        // moved on (or we raised our term while partitioned). Tell it our
        // term so that it steps down (§5.1). etcd only does this with
        // CheckQuorum or PreVote, relying otherwise on our campaigning at the
        // higher term; but a learner never campaigns, and would then never
        // hear from the leader again.
        this.send(msg({ type: 'MsgAppResp', to: m.from }));
      } else if (m.type === 'MsgPreVote' || m.type === 'MsgVote') {
        // Reject (§5.1) so that a candidate from an older term learns our
        // term. Without this, a candidate that we do not know as a peer (our
        // configuration is stale) and whose vote we need could stay behind
        // our term forever, while we keep raising ours.
        this.send(msg({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
      }
      // Ignore any other message with an older term.
      return;
    }

    switch (m.type) {
      case 'MsgHup':
        this.hup(this.preVote ? 'preElection' : 'election');
        return;
      case 'MsgVote':
      case 'MsgPreVote': {
        // We can vote if this is a repeat of a vote we already cast, or we
        // have not voted and know no leader in this term, or this is a
        // pre-vote for a future term...
        const canVote =
          this.vote === m.from ||
          (this.vote === None && this.lead === None) ||
          (m.type === 'MsgPreVote' && m.term > this.term);
        // ...and the candidate's log is at least as up-to-date as ours (§5.4.1).
        if (canVote && this.raftLog.isAtLeastAsRecent(m.index, m.logTerm)) {
          // Reply with the message's term: for a pre-vote it is in our future,
          // and the pre-candidate ignores replies with other terms.
          this.send(msg({ type: voteRespType(m.type), to: m.from, term: m.term }));
          if (m.type === 'MsgVote') {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(msg({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        this.stepFn(this, m);
    }
  }

  // ---------------------------------------------------------------- follower side

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Everything up to our commit index is settled; tell the leader where we are.
      this.send(msg({ type: 'MsgAppResp', to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastnewi = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastnewi !== undefined) {
      this.send(msg({ type: 'MsgAppResp', to: m.from, index: lastnewi }));
      return;
    }
    // Our log does not contain (m.index, m.logTerm). Hint the leader at the
    // largest index that could match: no later than our last index, and with a
    // term no higher than m.logTerm (fast back-off: one round trip per term).
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const hint = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send(
      msg({ type: 'MsgAppResp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }),
    );
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    const resp = msg({ type: 'MsgHeartbeatResp', to: m.from });
    if (m.context !== undefined) resp.context = m.context;
    this.send(resp);
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    if (this.restore(s)) {
      this.send(msg({ type: 'MsgAppResp', to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.send(msg({ type: 'MsgAppResp', to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot from the leader. Returns false if it was old or already matched. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.role !== 'follower') {
      // Defensive: only a follower installs snapshots.
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    const cs = s.metadata.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) return false;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the entries: just fast-forward the commit index.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    restoreTracker(this.trk, cs, this.raftLog.lastIndex() + 1);
    this.switchToConfig();
    return true;
  }

  // ---------------------------------------------------------------- membership

  /** Applies a committed conf change (called by the application when applying the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    applyToTracker(this.trk, cc, this.raftLog.lastIndex() + 1);
    return this.switchToConfig();
  }

  private switchToConfig(): ConfState {
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((pr === undefined || this.isLearner) && this.role === 'leader') {
      // This leader was removed or demoted: step down so that the others
      // elect a leader among themselves.
      this.becomeFollower(this.term, None);
      return cs;
    }
    if (this.role !== 'leader' || cs.voters.length === 0) return cs;
    // The quorum changed: the commit index may move, and new members need the log.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      for (const id of this.trk.progress.keys()) {
        if (id !== this.id) this.maybeSendAppend(id, false);
      }
    }
    if (this.leadTransferee !== None && !this.trk.voters.has(this.leadTransferee)) this.leadTransferee = None;
    return cs;
  }

  // ---------------------------------------------------------------- reads

  /** Turns a confirmed read request into a read state (local) or a response (forwarded). */
  responseToReadIndexReq(req: Message, readIndex: number): void {
    const ctx = req.context ?? EMPTY;
    if (req.from === None || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: ctx });
      return;
    }
    this.send(msg({ type: 'MsgReadIndexResp', to: req.from, index: readIndex, context: ctx }));
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const ms = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of ms) this.confirmReadIndex(m);
  }

  /** Leader with an entry of its term committed: a lone voter answers at once, others confirm leadership first. */
  confirmReadIndex(m: Message): void {
    if (this.trk.isSingleton() && this.trk.voters.has(this.id)) this.responseToReadIndexReq(m, this.raftLog.committed);
    else this.sendReadIndexHeartbeat(m);
  }

  sendReadIndexHeartbeat(m: Message): void {
    this.readOnly.addRequest(this.raftLog.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeat();
  }
}

// ------------------------------------------------------------------ leader

function stepLeader(r: Raft, m: Message): void {
  // Messages that need no progress of the sender.
  switch (m.type) {
    case 'MsgBeat':
      r.bcastHeartbeat();
      return;
    case 'MsgCheckQuorum':
      if (!r.trk.quorumActive(r.id)) {
        r.becomeFollower(r.term, None);
      }
      // Everyone but us starts the next round as inactive.
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case 'MsgProp': {
      if (m.entries.length === 0) throw new Error(`${r.id} stepped empty MsgProp`);
      // Removed while leader, or handing leadership over: refuse new proposals.
      if (!r.trk.progress.has(r.id)) throw ErrProposalDropped;
      if (r.leadTransferee !== None) throw ErrProposalDropped;
      let confIndex = 0;
      for (let i = 0; i < m.entries.length; i++) {
        if (m.entries[i].type !== 'confChange') continue;
        // One membership change at a time, and only once an entry of this
        // term is committed (so that no change from an older term is pending).
        if (confIndex !== 0 || r.pendingConfIndex > r.raftLog.applied) throw ErrProposalDropped;
        if (r.raftLog.term(r.raftLog.committed) !== r.term) throw ErrProposalDropped;
        confIndex = r.raftLog.lastIndex() + i + 1;
      }
      if (!r.appendEntry(m.entries)) throw ErrProposalDropped;
      if (confIndex !== 0) r.pendingConfIndex = confIndex;
      r.bcastAppend();
      return;
    }
    case 'MsgReadIndex':
      // Until an entry of our term is committed, our commit index may be behind what was
      // committed before (§8): hold the request back. That holds for a lone voter too: after a
      // restart its stored commit index may trail writes it acknowledged (a commit index alone is
      // not synced), until the entry of its new term commits them again.
      if (r.raftLog.term(r.raftLog.committed) !== r.term) {
        r.pendingReadIndexMessages.push(m);
        return;
      }
      r.confirmReadIndex(m);
      return;
  }

  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case 'MsgAppResp': {
      pr.recentActive = true;
      if (m.reject) {
        // Fast back-off: the follower told us the largest index that can
        // match (rejectHint) and its term there (logTerm). Skip every index
        // whose term in our log is above that term: it cannot match either.
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
        if (pr.state === 'probe') {
          pr.becomeReplicate();
        } else if (pr.state === 'snapshot' && pr.match + 1 >= r.raftLog.firstIndex()) {
          // The follower caught up (by the snapshot or otherwise): resume from the log.
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === 'replicate') {
          pr.inflights.freeLE(m.index);
        }
        if (r.maybeCommit()) {
          // The commit index moved in our term: held-back reads can proceed.
          r.releasePendingReadIndexMessages();
          r.bcastAppend();
        }
        // Send as much as flow control allows (without empty messages).
        while (r.maybeSendAppend(m.from, false)) {
          /* keep sending */
        }
        if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
          r.sendTimeoutNow(m.from);
        }
      }
      return;
    }
    case 'MsgHeartbeatResp': {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // A full window may mean all its messages were lost: let one more through.
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.raftLog.lastIndex() || pr.state === 'probe') r.sendAppend(m.from);
      if (m.context === undefined || m.context.length === 0) return;
      r.readOnly.recvAck(m.from, m.context);
      for (const rs of r.readOnly.maybeAdvance(m.context, r.trk.voters)) {
        r.responseToReadIndexReq(rs.req, rs.index);
      }
      return;
    }
    case 'MsgSnapStatus':
      if (pr.state !== 'snapshot') return;
      if (!m.reject) {
        pr.becomeProbe();
      } else {
        // Forget the snapshot before probing, or we would probe from its index.
        pr.pendingSnapshot = 0;
        pr.becomeProbe();
      }
      // Wait for the follower's answer (or a heartbeat) before sending more.
      pr.msgAppFlowPaused = true;
      return;
    case 'MsgUnreachable':
      // Optimistic replication to an unreachable member probably lost messages.
      if (pr.state === 'replicate') pr.becomeProbe();
      return;
    case 'MsgTransferLeader': {
      if (pr.isLearner) return;
      const transferee = m.from;
      if (r.leadTransferee !== None) {
        if (r.leadTransferee === transferee) return; // already in progress
        r.leadTransferee = None; // abort the previous one
      }
      if (transferee === r.id) return;
      // The transfer must finish within one election timeout.
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(transferee);
      else r.sendAppend(transferee);
      return;
    }
  }
}

// ------------------------------------------------------------------ candidate / pre-candidate

function stepCandidate(r: Raft, m: Message): void {
  // Only count responses to our own kind of campaign: a candidate may still
  // receive pre-vote responses from its pre-candidacy.
  const myVoteResp: MessageType = r.role === 'precandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  switch (m.type) {
    case 'MsgProp':
      throw ErrProposalDropped;
    case 'MsgApp':
      r.becomeFollower(m.term, m.from); // m.term === r.term: a leader was elected
      r.handleAppendEntries(m);
      return;
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case myVoteResp: {
      const res = r.poll(m.from, m.type, !m.reject);
      if (res === 'won') {
        if (r.role === 'precandidate') {
          r.campaign('election');
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (res === 'lost') {
        // A rejected pre-vote carries the responder's term; stay at ours.
        r.becomeFollower(r.term, None);
      }
      return;
    }
    case 'MsgTimeoutNow':
      return; // already campaigning
  }
}

// ------------------------------------------------------------------ follower

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgProp':
      if (r.lead === None || r.disableProposalForwarding) throw ErrProposalDropped;
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgApp':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return;
    case 'MsgHeartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case 'MsgSnap':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      return;
    case 'MsgTransferLeader':
      if (r.lead === None) return;
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case 'MsgTimeoutNow':
      // Our leader asks us to take over: campaign at once, skipping the pre-vote.
      r.hup('transfer');
      return;
    case 'MsgReadIndex':
      if (r.lead === None) return; // dropped: the caller retries
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgReadIndexResp':
      r.readStates.push({ index: m.index, requestCtx: m.context ?? EMPTY });
      return;
  }
}
