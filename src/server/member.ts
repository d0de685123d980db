import { randomBytes } from 'node:crypto';
import { createTokenProvider } from '../auth/index.ts';
import { Errors } from '../errors.ts';
import { errorField, silentLogger } from '../logging/logger.ts';
import type { KvStore } from '../mvcc/kv-store.ts';
import type { AuthService } from './auth-service.ts';
import type { ClusterService } from './cluster-service.ts';
import type { KvService } from './kv-service.ts';
import type { LeaseService } from './lease-service.ts';
import { ElectionService } from './concurrency/election.ts';
import { LockService } from './concurrency/lock.ts';
import type { KeyWatches } from './concurrency/wait-deletes.ts';
import type { Maintenance } from './maintenance.ts';
import { RaftError, type Message, type RawNode } from '../raft/index.ts';
import type { MemberRow } from '../storage/rows.ts';
import type { MemberStore } from '../storage/stores.ts';
import { applyRange, applyTxn, isTxnReadonly, type Waits } from './apply-kv.ts';
import { settle } from './applier.ts';
import { memberIdOf, nodeIdOf } from './cluster-ids.ts';
import { type Clock, systemClock } from './clock.ts';
import type { TimeToLive } from './lease-duties.ts';
import { type ChangeListener, memberParts, type MemberOptions } from './member-parts.ts';
import type { Answer } from './proposals.ts';
import type { RaftLoop } from './raft-loop.ts';
import type { RaftRequest } from './raft-request.ts';
import { loadState, recover } from './recovery.ts';
import type { RangeRequest, RangeResponse, TxnRequest, TxnResponse } from './rpc-types.ts';

export type { Answer } from './proposals.ts';
export type { ElectionService, LeaderKey, ObserveSink, Observer } from './concurrency/election.ts';
export type { LockService } from './concurrency/lock.ts';
export type { LeaseGrantResult } from './applier.ts';
export type { MemberOptions } from './member-parts.ts';
export type { MemberRow } from '../storage/rows.ts';

/**
 * One member: the facade over its parts (member-parts.ts) that the HTTP side and the transport talk
 * to. A write: propose, persist, replicate, commit, apply, answer; a linearizable read: ReadIndex.
 */
export class Member {
  readonly kv: KvStore;
  /** etcd's services as the member answers them: what the gateway (and a gRPC server) call. */
  readonly keys: KvService;
  readonly leases: LeaseService;
  readonly cluster: ClusterService;
  readonly maintenance: Maintenance;
  readonly auth: AuthService;
  clusterId = 0n;
  memberId = 0n;
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  private readonly clock: Clock;
  private readonly parts: ReturnType<typeof memberParts>;
  private readonly changeListeners = new Set<ChangeListener>();
  private node!: RawNode;
  private raft!: RaftLoop;
  private ticker: unknown;
  private ticks = 0;
  private failed: unknown;
  private closed = false;

  private constructor(
    private readonly store: MemberStore,
    private readonly opts: MemberOptions,
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? 100;
    this.electionTimeoutMs = opts.electionTimeoutMs ?? 1000;
    this.requestTimeoutMs = 5000 + 2 * this.electionTimeoutMs;
    this.clock = opts.clock ?? systemClock;
    const cfg = { clock: this.clock, heartbeat: this.heartbeatMs, electionTimeout: this.electionTimeoutMs, requestTimeout: this.requestTimeoutMs, idPrefix: randomBytes(6).toString('hex') };
    this.parts = memberParts(store, opts, cfg, {
      node: () => this.node,
      raft: () => this.raft,
      memberId: () => this.memberId,
      fail: (err) => this.fail(err),
      failed: () => !!this.failed,
      stopped: () => !!this.failed || this.closed,
      reload: async () => {
        await this.loadState();
        this.parts.membership.notify();
      },
      changeListeners: this.changeListeners,
    });
    ({ kv: this.kv, keys: this.keys, leaseService: this.leases, cluster: this.cluster, maintenance: this.maintenance, auth: this.auth } = this.parts);
  }

  static async open(store: MemberStore, opts: MemberOptions): Promise<Member> {
    const m = new Member(store, opts);
    await m.start();
    return m;
  }

  private async start(): Promise<void> {
    const { membership } = this.parts;
    const r = await recover({
      store: this.store,
      name: this.opts.name,
      identity: this.opts.identity,
      electionTick: Math.max(2, Math.round(this.electionTimeoutMs / this.heartbeatMs)),
      loadState: () => this.loadState(),
      members: () => membership.members,
    });
    ({ memberId: this.memberId, clusterId: this.clusterId, node: this.node } = r);
    const { authToken, authKeyFiles, authTokenTtlMs } = this.opts;
    this.auth.setProvider(await createTokenProvider({ store: this.parts.authStore, flag: authToken, keyFiles: authKeyFiles, simpleTtlMs: authTokenTtlMs }));
    this.raft = this.parts.raftLoop(r.node, r.storage, r.selfNode, r.term);
    membership.notify();
    const { voters } = this.raft.confState;
    if (voters.length === 1 && voters[0] === r.selfNode) this.node.campaign();
    await this.maintenance.measureSize();
    this.ticker = this.clock.setTimeout(() => this.tick(), this.heartbeatMs);
    this.parts.compactor?.start();
    this.raft.kick();
  }

  /** Rebuilds the in-memory state from the tables (at start-up, and after a snapshot is installed). */
  private async loadState(): Promise<void> {
    const { kv, lessor, alarms, authStore, applier, lane, membership } = this.parts;
    await loadState(this.store.state, {
      kv,
      lessor,
      alarms,
      auth: authStore,
      loaded: (applied, members) => {
        applier.index = applied;
        lane.loaded(applied);
        membership.load(members);
      },
    });
    if (this.raft?.isLeader) lessor.promote(this.clock.now(), this.electionTimeoutMs);
  }

  /** Every heartbeat: raft's clock, read retries and lease duties. */
  private tick(): void {
    if (this.closed) return;
    this.ticker = this.clock.setTimeout(() => this.tick(), this.heartbeatMs);
    if (this.failed) return;
    this.node.tick();
    // A ReadIndex request is dropped when no leader is known: ask again now and then.
    if (++this.ticks % 5 === 0) this.parts.reads.retry();
    if (this.ticks % 10 === 0) this.auth.tick();
    this.parts.leases.tick();
    this.raft.kick();
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = err;
    (this.opts.log ?? silentLogger).error(errorField(err), 'storage failed, member stops serving');
    this.parts.proposals.failAll(Errors.stopped);
  }

  get term(): number {
    return this.raft.term;
  }

  get isLeader(): boolean {
    return this.raft.isLeader;
  }

  get leaderId(): bigint {
    return this.raft.leader ? memberIdOf(this.raft.leader) : 0n;
  }

  get appliedIndex(): number {
    return this.parts.applier.index;
  }

  get isLearner(): boolean {
    return this.raft.confState.learners.includes(this.selfNodeId);
  }

  get selfNodeId(): string {
    return nodeIdOf(this.memberId);
  }

  get members(): Map<bigint, MemberRow> {
    return this.parts.membership.members;
  }

  /** The leases this member has applied. */
  get lessor() {
    return this.parts.lessor;
  }

  /** The revision of the key space now (every answer's header carries it). */
  get revision(): number {
    return this.kv.currentRev;
  }

  /** Snapshot files received from the leader, by raft index, waiting for raft to accept them. */
  get receivedSnapshots(): Map<number, string> {
    return this.raft.receivedSnapshots;
  }

  raftStatus() {
    return this.node.status();
  }

  /** etcd 3.4's /health: a leader is known, and no alarm is raised. */
  healthy(): boolean {
    return !this.failed && !this.closed && this.raft.leader !== '' && this.parts.alarms.list().length === 0;
  }

  /** healthy(), and unless serializable, a linearizable read that completes within a second. */
  async health(serializable: boolean): Promise<boolean> {
    if (!this.healthy()) return false;
    if (serializable) return true;
    let timer: unknown;
    const timeout = new Promise<false>((r) => (timer = this.clock.setTimeout(() => r(false), 1000)));
    const ok = await Promise.race([this.parts.reads.wait().then(() => true, () => false), timeout]);
    this.clock.clearTimeout(timer);
    return ok;
  }

  /** A raft message from a peer. */
  step(m: Message): void {
    if (this.closed || this.failed) return;
    try {
      this.node.step(m);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
    this.raft.kick();
  }

  reportUnreachable(id: string): void {
    this.node.reportUnreachable(id);
  }

  reportSnapshot(id: string, ok: boolean): void {
    this.node.reportSnapshot(id, ok);
    this.raft.kick();
  }

  /** Proposes a write and resolves once it is committed and applied here. */
  propose<T>(req: Omit<RaftRequest, 'id'>): Promise<Answer<T>> {
    return this.parts.proposals.propose<T>(req);
  }

  /** Subscribes to applied writes, synchronously and in revision order. Returns the unsubscribe function. */
  /**
   * etcd's lock and election services over this member's KV and lease services, waiting on the
   * given watchable store (the one fed by onChanges).
   */
  coordination(watches: KeyWatches): { locks: LockService; elections: ElectionService } {
    return { locks: new LockService(this.keys, this.leases, watches), elections: new ElectionService(this.keys, this.leases, watches) };
  }

  onChanges(fn: ChangeListener): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /** Revision rows with after < main <= until, oldest first, at most limit: what a watcher catching up reads. */
  changesSince(after: number, until: number, limit: number) {
    return this.parts.lane.rowsBetween(after, until, limit);
  }

  memberList(): MemberRow[] {
    return this.parts.membership.list();
  }

  /** Publishes this member's name and client URLs through the log once there is a leader. */
  publish(name: string, clientUrls: string[]): Promise<void> {
    return this.parts.membership.publish(name, clientUrls);
  }

  /** Streams this member's applied state, once the tables hold minIndex, for a follower that needs a snapshot. */
  async exportSnapshot(minIndex: number, write: (line: string) => Promise<void>): Promise<void> {
    await this.parts.lane.flushedTo(minIndex, () => this.closed);
    await this.store.state.exportSnapshot(write);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.ticker);
    this.parts.compactor?.stop();
    while (this.raft.busy) await new Promise((r) => setTimeout(r, 5));
    await this.raft.drainWrites().catch(() => {});
    await this.parts.lane.drain();
    this.parts.proposals.failAll(Errors.stopped);
    this.parts.reads.failAll(Errors.stopped);
    await this.store.close();
  }
}
