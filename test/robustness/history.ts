/**
 * What the harness records: every client operation with its invocation and completion times (ms
 * since the run began) and what it answered; watch sessions and the events they delivered; leases
 * and their keep-alives; the faults injected; and each member's full history read at the end.
 * Plain data (JSON-serialisable), so a history can be saved and checked again offline.
 */

/** A key's value, or null when the key does not exist. */
export type Value = string | null;

export type KvKind = 'put' | 'delete' | 'cas' | 'get' | 'sget' | 'range' | 'srange';

export interface KvOp {
  id: number;
  /** Client loop number (-1: the harness itself, e.g. final reads and lease probes). */
  client: number;
  /** Index of the member asked. */
  member: number;
  kind: KvKind;
  /** The key (for range/srange: the prefix's first key; every register key is covered). */
  key: string;
  /** put/cas: the value written (unique in the whole run). */
  value?: string;
  /** put: the lease attached ('' = none). */
  lease?: string;
  /** cas: the value compared against (null: the key must not exist). */
  expect?: Value;
  call: number;
  /** Completion time; undefined when the outcome is unknown (timed out, connection lost, 5xx). */
  ret?: number;
  /** put/delete/cas-success: the value before (prev_kv). */
  prev?: Value;
  /** cas: whether the compare held. */
  ok?: boolean;
  /** get/sget/cas-failure: the value read. */
  read?: Value;
  /** get/sget/cas-failure: the mod_revision of the value read (0 when absent). */
  readMod?: number;
  /** delete: how many keys it removed. */
  deleted?: number;
  /** range/srange: every key read, with its value and mod_revision. */
  kvs?: Record<string, { value: string; mod: number }>;
  /** The response header's revision. */
  rev?: number;
  /** The response header's raft term. */
  term?: number;
  /** Why the outcome is unknown. */
  error?: string;
}

/** One event as a watcher (or the final history read) received it. */
export interface WatchEvent {
  rev: number;
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
  /** prev_kv's value (null: none sent). */
  prev: Value;
  lease: string;
}

export interface WatchSession {
  /** The member the stream went to (through proxy `proxy`, when set: then the proxy picked the member). */
  member: number;
  proxy?: number;
  /** start_revision asked (0: from now). */
  start: number;
  call: number;
  /** Header revision of the created answer. */
  created?: number;
  events: WatchEvent[];
  /** Time the last line arrived. */
  last?: number;
  end?: number;
  endReason?: string;
  /** Set when the server canceled the watch (compacted, or a cancel reason). */
  canceled?: string;
}

export interface WatcherRecord {
  id: number;
  /**
   * 'gateway': POST /v3/watch (NDJSON); 'sse': GET /v3/watch/sse, resumed with Last-Event-ID;
   * 'proxy': the same SSE route through an edge proxy (--proxies), resumed on any proxy.
   */
  via?: 'gateway' | 'sse' | 'proxy';
  /** The revision the watcher's first session asked to start at (0: now). */
  start: number;
  sessions: WatchSession[];
}

export interface Renewal {
  call: number;
  ret?: number;
  /** TTL answered (0: the lease was gone). */
  ttl?: number;
}

export interface LeaseRecord {
  id: string;
  ttl: number;
  key: string;
  grantCall: number;
  grantRet?: number;
  /** The put of `key` with the lease: its op id in the kv history. */
  putOp?: number;
  renewals: Renewal[];
  /** When the harness stopped keeping it alive. */
  stoppedAt?: number;
}

export interface FaultRecord {
  kind: string;
  targets: number[];
  start: number;
  end?: number;
  note?: string;
}

export interface LeaderChange {
  /** When the monitor first saw this leader, or this term (ms). */
  at: number;
  term: number;
  /** Member index; -1 when only the new term was seen. */
  leader: number;
}

export interface History {
  seed: number;
  members: number;
  /** Keys the register clients use; lease keys start with LEASE_PREFIX. */
  keys: string[];
  electionTimeoutMs: number;
  ops: KvOp[];
  watchers: WatcherRecord[];
  /** Edge proxies in front of the cluster (--proxies), when there were any. */
  proxies?: number;
  leases: LeaseRecord[];
  faults: FaultRecord[];
  leaderChanges: LeaderChange[];
  /** Each member's full history (watch from revision 1) up to finalRevision, when it was read. */
  finalHistories?: (WatchEvent[] | undefined)[];
  finalRevision?: number;
  /** Each member's range over every key at finalRevision. */
  finalRanges?: (Record<string, { value: string; mod: number; create: number; version: number }> | undefined)[];
  /** Members whose storage failed, members that exited unasked, and similar observations. */
  notes: string[];
  /** The lock workload (--lock-clients), when it ran. */
  locks?: LockHistory;
  /** The election workload (--election-clients), when it ran. */
  elections?: ElectionHistory;
}

// ---- locks and elections (workload-coord.ts, check-coord.ts) ----

/** A request's timing and outcome: ret undefined when the outcome is unknown (timeout, lost, 5xx). */
export interface Call {
  member: number;
  call: number;
  ret?: number;
  /** The answer's header revision. */
  rev?: number;
  error?: string;
}

/** A put of the shared key in a txn whose compare is create_revision(lock key) == create. */
export interface FencedWrite extends Call {
  /** Written to the fence key (unique in the run). */
  value: string;
  /** Whether the compare held (known only when answered). */
  ok?: boolean;
}

/** One POST /v3/lock/lock and what the client did under it. */
export interface LockAttempt extends Call {
  client: number;
  /** Lease in decimal. */
  lease: string;
  /** The key the lock answers (name/<lease in hex>). */
  key: string;
  /** The key's create revision, read by the client after the answer (0: the key was already gone). */
  create?: number;
  /** Header revision of that read. */
  createRead?: number;
  /** The client stopped renewing its lease while it held the lock, and went on writing. */
  stale?: boolean;
  fenced: FencedWrite[];
  unlock?: Call;
}

export interface LockHistory {
  /** The lock's name; its keys are name + '/' + lease in hex. */
  name: string;
  /** The key fenced writes put. */
  fenceKey: string;
  attempts: LockAttempt[];
}

export interface Proclaim extends Call {
  value: string;
  /** false: answered "election: not leader". */
  ok?: boolean;
}

export interface CampaignAttempt extends Call {
  client: number;
  lease: string;
  value: string;
  /** The leader key answered. */
  key?: string;
  /** Its create revision (leader.rev). */
  create?: number;
  /** The client stopped renewing its lease while leader, and went on proclaiming. */
  stale?: boolean;
  proclaims: Proclaim[];
  resign?: Call;
}

/** One observe line: the leader's key-value and the line's header revision. */
export interface ObservedLeader {
  rev: number;
  key: string;
  create: number;
  mod: number;
  value: string;
}

export interface ObserveSession {
  member: number;
  /** 'sse': GET /v3/election/observe/sse, resumed with Last-Event-ID; else the gateway stream. */
  via?: 'sse';
  /** SSE: the Last-Event-ID sent (the stream must go on right after it). */
  resumeAfter?: number;
  call: number;
  end?: number;
  endReason?: string;
  lines: ObservedLeader[];
}

export interface ObserverRecord {
  id: number;
  sessions: ObserveSession[];
}

export interface ElectionHistory {
  /** The election's name; its keys are name + '/' + lease in hex. */
  name: string;
  campaigns: CampaignAttempt[];
  observers: ObserverRecord[];
}

export const REGISTER_PREFIX = 'r/';
export const LEASE_PREFIX = 'l/';
/** Keys the auth profile's probes write (auth-client.ts checks them; the register checkers skip them). */
export const AUTH_PROBE_PREFIXES = ['toggle/', 'secret/'];
/** Keys of the lock and election workloads (check-coord.ts checks them; the register checkers skip them). */
export const LOCK_NAME = 'lock/m';
export const FENCE_KEY = 'fence/log';
export const ELECTION_NAME = 'elect/e';
export const COORDINATION_PREFIXES = ['lock/', 'fence/', 'elect/'];

export const isWrite = (op: KvOp): boolean => op.kind === 'put' || op.kind === 'delete' || op.kind === 'cas';
