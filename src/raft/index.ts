// Public API of the Raft core. See docs/raft.md and rawnode.ts for how to drive it.
export { RawNode, sendableBeforePersist } from './rawnode.ts';
export { Raft, validateConfig, type Config } from './raft.ts';
export { MemoryStorage, bootstrapMemoryStorage, emptySnapshot, type Storage } from './storage.ts';
export { encodeConfChange, decodeConfChange, confStateAfter, validateConfChange } from './confchange.ts';
export { mulberry32, mixSeed, Rand } from './rand.ts';
export { majorityCommitted, majorityVoteResult, type VoteResult } from './quorum.ts';
export {
  None,
  EMPTY,
  RaftError,
  ErrProposalDropped,
  ErrCompacted,
  ErrUnavailable,
  ErrSnapOutdated,
  ErrSnapshotTemporarilyUnavailable,
  ErrStepLocalMsg,
  ErrStepPeerNotFound,
  isLocalMsg,
  isResponseMsg,
  isEmptySnap,
  isEmptyHardState,
  msg,
  type NodeId,
  type Entry,
  type EntryType,
  type HardState,
  type ConfState,
  type ConfChange,
  type ConfChangeType,
  type Snapshot,
  type SnapshotMetadata,
  type Message,
  type MessageType,
  type Ready,
  type ReadState,
  type SoftState,
  type Role,
  type Status,
  type ProgressStatus,
  type ProgressStateType,
  type RaftErrorCode,
} from './types.ts';
