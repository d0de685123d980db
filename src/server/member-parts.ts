import { Lessor } from '../lease/lessor.ts';
import { KvStore, revisionRows } from '../mvcc/kv-store.ts';
import type { Change } from '../mvcc/types.ts';
import type { MemoryStorage, Message, RawNode } from '../raft/index.ts';
import type { MemberRow } from '../storage/rows.ts';
import type { MemberStore } from '../storage/stores.ts';
import type { KvContext } from './apply-kv.ts';
import { AppliedLane } from './applied-lane.ts';
import { Applier } from './applier.ts';
import { AuthStore, type AuthTokenFlag } from '../auth/index.ts';
import { AlarmAction, Alarms, AlarmType } from './alarms.ts';
import { AuthService } from './auth-service.ts';
import { errorField, type Logger, silentLogger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Clock } from './clock.ts';
import { Maintenance, type RaftView } from './maintenance.ts';
import { memberIdOf, nodeIdOf } from './cluster-ids.ts';
import { ClusterService } from './cluster-service.ts';
import { KvService } from './kv-service.ts';
import { LeaseService } from './lease-service.ts';
import { DatabaseSize, Quota } from './quota.ts';
import type { RaftRequest } from './raft-request.ts';
import { Errors } from '../errors.ts';
import { type AutoCompaction, Compactor } from './compactor.ts';
import { LeaseDuties } from './lease-duties.ts';
import { LogLane } from './log-lane.ts';
import { LogRetention } from './log-retention.ts';
import { Membership } from './membership.ts';
import { Proposals } from './proposals.ts';
import { RaftLoop } from './raft-loop.ts';
import { ReadBarrier } from './read-barrier.ts';
import type { Identity } from './recovery.ts';

export interface MemberOptions {
  name: string;
  identity?: Identity;
  /** Log entries kept behind the applied index, for followers that fall a little behind. */
  logRetention?: number;
  /** Shortest lease TTL in seconds: etcd's 1.5 election timeouts, rounded up. */
  minLeaseTtl?: number;
  heartbeatMs?: number;
  electionTimeoutMs?: number;
  /** Sends raft messages to peers (absent: a member alone, nothing to send). */
  send?: (messages: Message[]) => void;
  /** Called when the member list changes (the transport follows it). */
  onMembers?: (members: MemberRow[]) => void;
  /** How often the leader records leases' remaining TTLs in the log. */
  leaseCheckpointMs?: number;
  /** Most leases the leader revokes per second when many expire at once. */
  leaseRevokeRate?: number;
  /** Asks the leader about a lease (keep-alives and TTLs are the leader's to answer). */
  forwardLease?: (kind: 'renew' | 'ttl', id: bigint) => Promise<{ ttl: number }>;
  /** Log writes in flight at once (each a batch of whatever raft had ready). */
  logWrites?: number;
  /** How the applied lane batches its rows (default: etcd's 100 ms / 10,000 rows). */
  appliedBatches?: { gatherMs: number; batchRows: number };
  /** The leader compacts history on its own (etcd's --auto-compaction-*). */
  autoCompaction?: AutoCompaction;
  /** --quota-backend-bytes (none: no quota). */
  quotaBytes?: number;
  /** Where the member's parts report (etcd's metrics). */
  metrics?: Metrics;
  /** Where events are logged (default: nowhere). */
  log?: Logger;
  /** --auth-token as parsed (absent: JWT with a key the members share) and --bcrypt-cost. */
  authToken?: AuthTokenFlag;
  /** The contents of the key files --auth-token names. */
  authKeyFiles?: { privateKey?: Uint8Array; publicKey?: Uint8Array };
  /** --auth-token-ttl, for simple tokens. */
  authTokenTtlMs?: number;
  bcryptCost?: number;
  /** --initial-cluster-token: new members' ids hash it. */
  clusterToken?: string;
  /** A follower asks the leader to promote a learner (only the leader knows whether it caught up). */
  promoteOnLeader?: (id: bigint) => Promise<void>;
  /** --strict-reconfig-check (default true): etcd's checks before a membership change. */
  strictReconfigCheck?: boolean;
  /** --experimental-max-learners (default 1). */
  maxLearners?: number;
  /**
   * Since when (ms, on the clock) the transport has been exchanging messages with a peer, 0 when
   * it is not (etcd's ActiveSince). Absent (no transport): every peer counts as down.
   */
  peerActiveSince?: (id: bigint) => number;
  clock?: Clock;
}

/** What the member settled from its options. */
export interface PartsConfig {
  clock: Clock;
  heartbeat: number;
  electionTimeout: number;
  requestTimeout: number;
  /** Unique to this run of this member: proposal and read ids never repeat. */
  idPrefix: string;
}

export type ChangeListener = (revision: number, changes: Change[]) => void;

/** What the parts reach of the member that owns them, late-bound: raft starts after recovery. */
export interface MemberHooks {
  node(): RawNode;
  raft(): RaftLoop;
  memberId(): bigint;
  fail(err: unknown): void;
  failed(): boolean;
  stopped(): boolean;
  /** The tables were loaded again (a snapshot installed): rebuild memory from them. */
  reload(): Promise<void>;
  changeListeners: Set<ChangeListener>;
}

/** The member's parts, each owning its state, wired to each other through the hooks. */
export function memberParts(store: MemberStore, opts: MemberOptions, cfg: PartsConfig, h: MemberHooks) {
  const o = { ...opts, ...cfg };
  const { clock } = o;
  const log = o.log ?? silentLogger;
  const lessor = new Lessor(o.minLeaseTtl ?? 2);
  const lane: AppliedLane = new AppliedLane({
    store: store.state,
    clock,
    appliedIndex: () => applier.index,
    revision: () => kv.currentRev,
    fail: h.fail,
    failed: h.failed,
    committed: o.metrics && ((s) => o.metrics!.backendCommit.observe(s)),
    ...o.appliedBatches,
  });
  // Every write's changes leave the store here: leases follow their keys, the rows go to the
  // database, watchers hear of them, all before the writer is answered.
  const kv: KvStore = new KvStore({ values: (revs) => lane.values(revs) }, (rev, changes) => {
    lessor.track(changes);
    lane.record(revisionRows(rev, changes));
    for (const fn of h.changeListeners) fn(rev, changes);
  });
  const kvCtx: KvContext = { store: kv, leaseExists: (id) => lessor.exists(id) };
  const alarms = new Alarms();
  const authStore = new AuthStore();
  const dbSize = new DatabaseSize(() => store.state.databaseSize(), clock);
  const quota = o.quotaBytes ? new Quota(o.quotaBytes, dbSize) : undefined;
  // A write past the quota raises NOSPACE for this member (through the log, so all agree) and is refused.
  const refuse = async (): Promise<never> => {
    await proposals.propose({ alarm: { action: AlarmAction.ACTIVATE, memberID: h.memberId(), alarm: AlarmType.NOSPACE } }).catch(() => {});
    throw Errors.noSpace();
  };
  const admit = (req: Omit<RaftRequest, 'id'>): void | Promise<void> => {
    if (!quota || alarms.has(AlarmType.NOSPACE)) return;
    if (!quota.admits(req)) return refuse();
  };
  const leaderKnown = () => h.raft().leader !== '';
  const isLeader = () => h.raft().isLeader;
  const proposals = new Proposals({
    clock,
    idPrefix: o.idPrefix,
    propose: (data) => h.node().propose(data),
    proposeConfChange: (cc) => h.node().proposeConfChange(cc),
    kick: () => h.raft().kick(),
    leaderKnown,
    stopped: () => h.stopped() || membership.removed,
    timeoutMs: o.requestTimeout,
    retryMs: o.heartbeat,
    admit,
    failed: o.metrics && (() => o.metrics!.proposalsFailed.inc()),
  });
  const reads = new ReadBarrier({
    clock,
    idPrefix: o.idPrefix,
    readIndex: (ctx) => {
      h.node().readIndex(ctx);
      h.raft().kick();
    },
    defer: (fn) => setImmediate(fn),
    leaderKnown,
    timeoutMs: o.requestTimeout,
  });
  const membership: Membership = new Membership({
    memberId: h.memberId,
    proposeConfChange: (cc) => proposals.proposeConfChange(cc),
    propose: (req) => proposals.propose(req),
    raftStatus: () => h.node().status(),
    isLeader,
    changed: o.onMembers,
    record: (op) => lane.memberOp(op),
    maxLearners: o.maxLearners,
  });
  const applier: Applier = new Applier({ kv: kvCtx, auth: authStore, tokens: () => auth.tokens, alarms, lessor, lane, membership, proposals, clock, applyConfChange: (cc, index) => h.raft().applyConfChange(cc, index), log });
  const leases = new LeaseDuties({
    lessor,
    clock,
    isLeader,
    raftLeading: () => h.node().status().role === 'leader',
    readBarrier: () => reads.wait(),
    propose: (req) => proposals.propose(req),
    forward: o.forwardLease,
    heartbeatMs: o.heartbeat,
    electionTimeoutMs: o.electionTimeout,
    requestTimeoutMs: o.requestTimeout,
    checkpointMs: o.leaseCheckpointMs,
    revokeRate: o.leaseRevokeRate,
  });

  /** The Ready loop, once recovery has handed over raft's storage and node. */
  const raftLoop = (node: RawNode, storage: MemoryStorage, selfNode: string, term: number) =>
    new RaftLoop({
      node,
      storage,
      selfNode,
      term,
      logWrites: o.logWrites ?? 1,
      log: new LogLane(store.log, lane, o.metrics && ((s) => o.metrics!.walFsync.observe(s))),
      lane,
      retention: new LogRetention({ storage, count: o.logRetention ?? 100_000, persisted: () => lane.persisted, durable: () => lane.durable }),
      reads,
      applier,
      send: o.send,
      leadershipChanged: (leading) => leases.leadershipChanged(leading),
      newLeader: (lead, term) => {
        o.metrics?.leaderChanges.inc();
        log.info({ leader: lead, term }, 'leader changed');
      },
      installed: (index, term) => log.info({ index, term }, 'installed a snapshot from the leader'),
      reload: h.reload,
      fail: h.fail,
      failed: h.failed,
    });

  const compactor =
    o.autoCompaction &&
    new Compactor(o.autoCompaction, {
      clock,
      revision: () => kv.currentRev,
      leading: isLeader,
      compact: async (revision) => void (await proposals.propose({ compaction: { revision, physical: false } })),
      onCompact: (revision, err) => (err ? log.warn({ revision, ...errorField(err) }, 'auto-compaction failed') : log.info({ revision }, 'auto-compaction')),
    });

  const auth = new AuthService({
    store: authStore,
    clock,
    propose: (req) => proposals.propose(req),
    readBarrier: () => reads.wait(),
    waitApplied: (index) => reads.waitApplied(index, () => applier.index),
    bcryptCost: o.bcryptCost,
    sharedKey: !o.authToken,
    requestTimeoutMs: o.requestTimeout,
  });
  const raft: RaftView = {
    leaderId: () => (h.raft().leader ? memberIdOf(h.raft().leader) : 0n),
    isLeader,
    isLearner: () => h.raft().confState.learners.includes(nodeIdOf(h.memberId())),
    commit: () => h.node().status().commit,
    term: () => h.raft().term,
    transfer: (to) => {
      h.node().transferLeader(nodeIdOf(to));
      h.raft().kick();
    },
    voter: (id) => !!membership.get(id) && !membership.get(id)!.isLearner,
  };
  const maintenance = new Maintenance({
    alarms,
    raft,
    auth,
    clock,
    heartbeatMs: o.heartbeat,
    electionTimeoutMs: o.electionTimeout,
    kv,
    lane,
    state: store.state,
    appliedIndex: () => applier.index,
    proposals,
    reads,
    quota,
    databaseSize: async () => dbSize.current,
    measureSize: () => dbSize.refresh(),
  });
  const keys = new KvService({ kv, kvCtx, lessor, proposals, reads, auth, stopped: h.stopped });
  const leaseService = new LeaseService({ lessor, duties: leases, proposals, reads, auth });
  const cluster = new ClusterService({
    membership,
    reads,
    auth,
    clock,
    clusterToken: o.clusterToken ?? 'etcd-cluster',
    isLeader,
    promoteOnLeader: o.promoteOnLeader,
    strictReconfigCheck: o.strictReconfigCheck ?? true,
    memberId: h.memberId,
    peerActiveSince: o.peerActiveSince ?? (() => 0),
  });

  return { kv, kvCtx, keys, leaseService, cluster, lessor, alarms, authStore, auth, maintenance, lane, applier, proposals, reads, membership, leases, compactor, raftLoop };
}
