// Plain-data types shared by every part of the Raft core. Everything here is
// serializable as-is (numbers, strings, booleans, Uint8Array, arrays, objects),
// so the transport can move messages without knowing what they mean.

/** Opaque member id (for example a 16-hex-digit string). '' means "nobody". */
export type NodeId = string;
export const None: NodeId = '';

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: NodeId | '';
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export type ConfChangeType = 'addNode' | 'addLearner' | 'removeNode';

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context?: Uint8Array;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export type MessageType =
  // local messages: never sent over the network
  | 'MsgHup' // start an election
  | 'MsgBeat' // leader: broadcast heartbeats
  | 'MsgUnreachable' // transport could not reach a peer
  | 'MsgSnapStatus' // transport reports the fate of a snapshot
  | 'MsgCheckQuorum' // leader: step down unless a quorum was recently active
  // network messages
  | 'MsgProp'
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgTransferLeader'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp';

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** MsgApp: term of the entry at `index`; vote requests: candidate's last term; rejections: follower's term at rejectHint. */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: Snapshot;
  /** ReadIndex request context; heartbeat context; 'CampaignTransfer' marker on forced votes. */
  context?: Uint8Array;
}

export type Role = 'follower' | 'candidate' | 'precandidate' | 'leader';

export interface SoftState {
  lead: NodeId | '';
  role: Role;
}

export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export interface Ready {
  /** Set when leader or role changed since the last Ready. Not persisted. */
  softState?: SoftState;
  /** Set when term, vote or commit changed: persist it. */
  hardState?: HardState;
  readStates: ReadState[];
  /** Entries to append to durable storage (may overwrite a conflicting suffix). */
  entries: Entry[];
  /** Snapshot to persist (install it before appending `entries`). */
  snapshot?: Snapshot;
  /** Entries to apply to the state machine (already committed). */
  committedEntries: Entry[];
  /** Messages to send after hardState, entries and snapshot are durable. */
  messages: Message[];
  /** True when hardState.term/vote changed or entries were added: the write must be fsynced. */
  mustSync: boolean;
}

export type ProgressStateType = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressStateType;
  isLearner: boolean;
  recentActive: boolean;
  pendingSnapshot: number;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId | '';
  commit: number;
  applied: number;
  lead: NodeId | '';
  role: Role;
  leadTransferee: NodeId | '';
  /** Only on the leader. */
  progress?: Record<NodeId, ProgressStatus>;
  confState: ConfState;
}

/** Error codes used by the core. Errors are thrown as RaftError instances. */
export type RaftErrorCode =
  | 'ErrProposalDropped'
  | 'ErrCompacted'
  | 'ErrUnavailable'
  | 'ErrSnapOutdated'
  | 'ErrSnapshotTemporarilyUnavailable'
  | 'ErrStepLocalMsg'
  | 'ErrStepPeerNotFound'
  | 'ErrInvalidConfig';

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message: string) {
    super(message);
    this.name = 'RaftError';
    this.code = code;
  }
}

export const ErrProposalDropped = new RaftError('ErrProposalDropped', 'raft proposal dropped');
export const ErrCompacted = new RaftError('ErrCompacted', 'requested index is unavailable due to compaction');
export const ErrUnavailable = new RaftError('ErrUnavailable', 'requested entry at index is unavailable');
export const ErrSnapOutdated = new RaftError('ErrSnapOutdated', 'requested index is older than the existing snapshot');
export const ErrSnapshotTemporarilyUnavailable = new RaftError(
  'ErrSnapshotTemporarilyUnavailable',
  'snapshot is temporarily unavailable',
);
export const ErrStepLocalMsg = new RaftError('ErrStepLocalMsg', 'raft: cannot step raft local message');
export const ErrStepPeerNotFound = new RaftError('ErrStepPeerNotFound', 'raft: cannot step as peer not found');

export function isLocalMsg(t: MessageType): boolean {
  return t === 'MsgHup' || t === 'MsgBeat' || t === 'MsgUnreachable' || t === 'MsgSnapStatus' || t === 'MsgCheckQuorum';
}

export function isResponseMsg(t: MessageType): boolean {
  return (
    t === 'MsgAppResp' || t === 'MsgVoteResp' || t === 'MsgHeartbeatResp' || t === 'MsgUnreachable' || t === 'MsgPreVoteResp'
  );
}

export const EMPTY = new Uint8Array(0);

/** A message with every field at its zero value, overridden by `m`. */
export function msg(m: Partial<Message> & { type: MessageType }): Message {
  return {
    from: None,
    to: None,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...m,
  };
}

/** Approximate encoded size of an entry, used for message and batch size limits. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

export function payloadSize(e: Entry): number {
  return e.data.length;
}

/** Keeps a prefix of `ents` whose total size is at most maxSize, but always at least one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0 || maxSize === Infinity) return ents;
  let size = entrySize(ents[0]);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

export function isEmptySnap(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === None && h.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
