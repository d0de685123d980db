import { randomBytes } from 'node:crypto';
import { Lessor } from '../lease/lessor.ts';
import { systemClock } from './clock.ts';
import { LeaseDuties, type TimeToLive } from './lease-duties.ts';
import { KvStore, revKey } from '../mvcc/kv-store.ts';
import type { Change } from '../mvcc/types.ts';
import {
  bootstrapMemoryStorage,
  decodeConfChange,
  encodeConfChange,
  MemoryStorage,
  mulberry32,
  RaftError,
  RawNode,
  sendableBeforePersist,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type Ready,
} from '../raft/index.ts';
import type { KvRow, MemberRow, MemberStore, StoredEntry } from '../storage/member-store.ts';
import { applyCompaction, applyDeleteRange, applyPut, applyRange, applyTxn, isTxnReadonly, type KvContext, type Waits } from './apply-kv.ts';
import { memberIdOf, nodeIdOf } from './cluster-ids.ts';
import { Errors, EtcdError } from '../errors.ts';
import { decodeRaftRequest, encodeRaftRequest, type RaftRequest } from './raft-request.ts';
import type { RangeRequest, RangeResponse, TxnRequest, TxnResponse } from './rpc-types.ts';

/** Who this member is and, for a brand-new member, how its cluster starts. */
export interface Identity {
  memberId: bigint;
  clusterId: bigint;
  self: MemberRow;
  /** Members of a new cluster (this one included): bootstraps the log on first start. */
  initialMembers?: MemberRow[];
  /** A joining member's view of the cluster, until a snapshot brings the real one. */
  knownMembers?: MemberRow[];
}

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
  forwardLease?: (kind: 'renew' | 'ttl', id: bigint) => Promise<{ ttl: number; granted?: number }>;
  /**
   * Log writes in flight at once (each a batch of whatever raft had ready). With one, committed
   * entries are still applied while the next batch is written.
   */
  logWrites?: number;
}

export interface LeaseGrantResult {
  header: { revision: number };
  ID: bigint;
  TTL: number;
}

/** An answer plus the history reads it still waits on. */
export interface Answer<T> {
  resp: T;
  done?: Promise<void>;
}

export type ChangeListener = (revision: number, changes: Change[]) => void;

type Waiter = { resolve: (a: Answer<unknown>) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout };
type ReadBatch = { ctx: Uint8Array; index: number; waiters: { resolve: () => void; reject: (e: unknown) => void }[]; asked: number };

/** Past this many bytes of raft log in memory, fewer entries are kept behind the applied index. */
const LOG_BYTES = 64 * 1024 * 1024;
/** How long a small batch of applied rows waits for more before it is committed. */
const APPLIED_GATHER_MS = 10;
/** A batch this large is committed at once. */
const APPLIED_BATCH_ROWS = 1000;

const settle = (waits: Waits): Promise<void> | undefined => (waits.length ? Promise.all(waits).then(() => undefined) : undefined);
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One member: raft drives the write path (propose -> persist -> replicate -> commit -> apply ->
 * answer); linearizable reads wait for a ReadIndex round; the MVCC state and leases are applied
 * from committed entries. Applied rows ride along with the next log write.
 */
export class Member {
  readonly kv: KvStore;
  readonly lessor: Lessor;
  clusterId = 0n;
  memberId = 0n;
  appliedIndex = 0;
  term = 0;
  leader = '';
  members = new Map<bigint, MemberRow>();
  removed = false;

  private node!: RawNode;
  private storage = new MemoryStorage();
  private selfNode = '';
  private confState: ConfState = { voters: [], learners: [] };
  private readonly waiters = new Map<string, Waiter>();
  /** Rows applied but not yet committed to the database, by revision: history reads look here first. */
  private readonly unflushed = new Map<string, KvRow>();
  private pendingRows: KvRow[] = [];
  private pendingCompactions: { rev: number; done: () => void }[] = [];
  private pendingLeaseOps: { id: bigint; ttl?: number; remaining?: number }[] = [];
  private pendingMemberOps: { id: bigint; member?: MemberRow }[] = [];
  private pendingSnapshot: { index: number; term: number; confState: ConfState } | undefined;
  /** Conf changes applied since the raft snapshot, with the configuration each left. */
  private confChanges: { index: number; confState: ConfState }[] = [];
  /** The applied index the database holds (rows and meta committed up to it, maybe not yet flushed). */
  persistedApplied = 0;
  /** The applied index known to be on disk: a later synchronous log commit flushed it. */
  durableApplied = 0;
  private looping = false;
  private ticker: NodeJS.Timeout | undefined;
  private reqSeq = 0;
  private readonly reqPrefix = randomBytes(6).toString('hex');
  private failed: unknown;
  private readonly kvCtx: KvContext;
  private readonly leaseDuties: LeaseDuties;
  private closed = false;
  private lastTruncate = 0;
  /** Approximate bytes of raft log entries held in memory. */
  private logBytes = 0;
  private readonly changeListeners = new Set<ChangeListener>();
  private readonly readBatches = new Map<string, ReadBatch>();
  private currentRead: ReadBatch | undefined;
  private readSeq = 0;
  private ticks = 0;
  /** Snapshot files received from the leader, by raft index, waiting for raft to accept them. */
  readonly receivedSnapshots = new Map<number, string>();
  private appliedWatchers: { index: number; resolve: () => void }[] = [];
  /** Readys whose log write is in flight, oldest first; each settles after the ones before it. */
  private writing: Promise<void>[] = [];
  /** The last log index handed to the database (written or being written). */
  private logLast = 0;

  private constructor(
    private readonly db: MemberStore,
    private readonly opts: MemberOptions,
  ) {
    this.kv = new KvStore({ values: (revs) => this.historyValues(revs) });
    this.lessor = new Lessor(opts.minLeaseTtl ?? 2);
    this.kvCtx = { store: this.kv, leaseExists: (id) => this.lessor.exists(id) };
    this.leaseDuties = new LeaseDuties({
      lessor: this.lessor,
      clock: systemClock,
      isLeader: () => this.isLeader,
      raftLeading: () => this.node.status().role === 'leader',
      readBarrier: () => this.readBarrier(),
      propose: (req) => this.propose(req),
      forward: opts.forwardLease,
      heartbeatMs: this.heartbeatMs,
      electionTimeoutMs: this.electionTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
      checkpointMs: opts.leaseCheckpointMs,
      revokeRate: opts.leaseRevokeRate,
    });
  }

  static async open(db: MemberStore, opts: MemberOptions): Promise<Member> {
    const m = new Member(db, opts);
    await m.recover();
    return m;
  }

  get heartbeatMs(): number {
    return this.opts.heartbeatMs ?? 100;
  }

  get electionTimeoutMs(): number {
    return this.opts.electionTimeoutMs ?? 1000;
  }

  get requestTimeoutMs(): number {
    return 5000 + 2 * this.electionTimeoutMs;
  }

  get isLeader(): boolean {
    return this.leader === this.selfNode && this.selfNode !== '';
  }

  get leaderId(): bigint {
    return this.leader ? memberIdOf(this.leader) : 0n;
  }

  get raftIndex(): number {
    return this.node.status().commit;
  }

  get isLearner(): boolean {
    return this.confState.learners.includes(this.selfNode);
  }

  private async recover(): Promise<void> {
    const ident = this.opts.identity;
    const storedId = await this.db.getMeta('member_id');
    const fresh = storedId === undefined;
    this.memberId = storedId ? BigInt(storedId) : (ident?.memberId ?? (randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn));
    const storedCluster = await this.db.getMeta('cluster_id');
    this.clusterId = storedCluster ? BigInt(storedCluster) : (ident?.clusterId ?? (randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn));
    if (fresh) {
      await this.db.putMeta('member_id', this.memberId.toString());
      await this.db.putMeta('cluster_id', this.clusterId.toString());
    }
    this.selfNode = nodeIdOf(this.memberId);
    await this.loadState();

    const snap = await this.db.raftSnapshot();
    const hs = await this.db.hardState();
    if (!snap && !hs && fresh && (ident?.initialMembers || !ident)) {
      // A brand-new cluster: every initial member bootstraps the same first configuration.
      const initial = ident?.initialMembers ?? [{ id: this.memberId, name: this.opts.name, peerUrls: [], clientUrls: [], isLearner: false }];
      const voters = initial.map((m) => nodeIdOf(m.id));
      bootstrapMemoryStorage(this.storage, voters);
      const meta = this.storage.snapshot().metadata;
      for (const m of initial) this.members.set(m.id, m);
      await this.db.commit({
        entries: [],
        hardState: { term: 1, vote: '', commit: 1 },
        rows: [],
        compactions: [],
        snapshot: meta,
        memberOps: initial.map((m) => ({ id: m.id, member: m })),
        appliedIndex: 1,
      });
      this.appliedIndex = 1;
      this.persistedApplied = 1;
    } else if (snap) {
      this.storage.applySnapshot({ metadata: snap, data: EMPTY });
      // The stored commit index may trail the snapshot: raft raises it (a snapshot is committed).
      if (hs) this.storage.setHardState(hs);
      const entries = await this.db.entriesAfter(snap.index);
      if (entries.length) this.storage.append(entries.map(toRaftEntry));
    }
    this.confState = this.storage.initialState().confState;
    if (this.members.size === 0) for (const m of ident?.knownMembers ?? []) this.members.set(m.id, m);
    if (ident && !this.members.has(this.memberId)) this.members.set(this.memberId, ident.self);
    const hard = this.storage.initialState().hardState;
    // Raft hands back every committed entry after the snapshot, even those the tables already hold:
    // its configuration starts from the snapshot's and must see the conf changes made since.
    const applied = this.storage.firstIndex() - 1;
    this.node = new RawNode({
      id: this.selfNode,
      electionTick: Math.max(2, Math.round(this.electionTimeoutMs / this.heartbeatMs)),
      heartbeatTick: 1,
      storage: this.storage,
      applied,
      maxSizePerMsg: 1 << 20,
      maxInflightMsgs: 256,
      checkQuorum: true,
      preVote: true,
      random: mulberry32(randomBytes(4).readUInt32LE()),
      asyncStorageWrites: true,
    });
    this.logLast = this.storage.lastIndex();
    this.term = hard.term;
    this.lastTruncate = this.storage.firstIndex() - 1;
    this.opts.onMembers?.([...this.members.values()]);
    if (this.confState.voters.length === 1 && this.confState.voters[0] === this.selfNode) this.node.campaign();
    this.ticker = setInterval(() => this.tick(), this.heartbeatMs);
    this.kick();
  }

  /** Rebuilds the in-memory state (index, live values, leases, members) from the database. */
  private async loadState(): Promise<void> {
    this.kv.reset();
    this.lessor.reset();
    this.unflushed.clear();
    this.appliedIndex = Number((await this.db.getMeta('consistent_index')) ?? 0);
    this.persistedApplied = this.appliedIndex;
    this.durableApplied = this.appliedIndex;
    this.kv.compactRev = Number((await this.db.getMeta('compact_rev')) ?? -1);
    let rev = Number((await this.db.getMeta('revision')) ?? 1);
    const index = this.kv.index;
    // One pass in key order: each key's revisions oldest first, the live value with its newest.
    let ki: ReturnType<typeof index.getOrCreate> | undefined;
    await this.db.forEachRow((r) => {
      if (!ki || ki.key !== r.key) ki = index.getOrCreate(r.key);
      ki.restore({ main: r.main, sub: r.sub }, r.createRev, r.version, r.tombstone);
      if (r.value !== undefined) ki.latest = { key: r.key, value: r.value, createRevision: r.createRev, modRevision: r.main, version: r.version, lease: r.lease };
      if (r.main > rev) rev = r.main;
    });
    this.kv.currentRev = rev;
    for (const l of await this.db.leases()) this.lessor.restore(l.id, l.ttl, l.remaining);
    if (this.isLeader) this.lessor.promote(Date.now(), this.electionTimeoutMs);
    for (const ki of index.entries()) if (ki.latest && ki.latest.lease !== 0n) this.lessor.attach(ki.latest.lease, ki.key);
    this.members = new Map((await this.db.members()).map((m) => [m.id, m]));
  }

  private tick(): void {
    if (this.closed || this.failed) return;
    this.node.tick();
    this.ticks++;
    // A ReadIndex request is dropped when no leader is known: ask again now and then.
    if (this.ticks % 5 === 0) for (const b of this.readBatches.values()) if (b.index === 0 && b !== this.currentRead) this.node.readIndex(b.ctx);
    this.leaseDuties.tick();
    this.kick();
  }

  /** A keep-alive: answered by the leader (forwarded there from a follower). Returns the TTL, 0 if unknown. */
  renewLease(id: bigint): Promise<number> {
    return this.leaseDuties.renew(id);
  }

  /** Remaining and granted TTL of a lease (TTL -1 when it does not exist, as etcd answers). */
  leaseTimeToLive(id: bigint): Promise<TimeToLive> {
    return this.leaseDuties.timeToLive(id);
  }

  /** A raft message from a peer. */
  step(m: Message): void {
    if (this.closed || this.failed) return;
    try {
      this.node.step(m);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
    this.kick();
  }

  reportUnreachable(id: string): void {
    this.node.reportUnreachable(id);
  }

  reportSnapshot(id: string, ok: boolean): void {
    this.node.reportSnapshot(id, ok);
    this.kick();
  }

  transferLeadership(to: bigint): void {
    this.node.transferLeader(nodeIdOf(to));
    this.kick();
  }

  /** Proposes a write and resolves once it is committed and applied here. */
  propose<T>(req: Omit<RaftRequest, 'id'>): Promise<Answer<T>> {
    const id = `${this.reqPrefix}-${(this.reqSeq++).toString(36)}`;
    return this.proposeData<T>(id, encodeRaftRequest({ id, ...req }), (data) => this.node.propose(data));
  }

  private proposeData<T>(id: string, data: Uint8Array, submit: (data: Uint8Array) => void): Promise<Answer<T>> {
    if (this.failed || this.closed || this.removed) return Promise.reject(Errors.stopped());
    return new Promise<Answer<T>>((resolve, reject) => {
      const deadline = Date.now() + this.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(this.leader ? Errors.requestTimeout() : Errors.noLeader());
      }, this.requestTimeoutMs);
      this.waiters.set(id, { resolve: resolve as Waiter['resolve'], reject, timer });
      // Without a known leader raft drops the proposal: try again until the deadline.
      const attempt = () => {
        if (!this.waiters.has(id)) return;
        try {
          submit(data);
          this.kick();
        } catch (err) {
          if (err instanceof RaftError && err.code === 'ErrProposalDropped' && Date.now() + this.heartbeatMs < deadline) {
            setTimeout(attempt, this.heartbeatMs);
            return;
          }
          clearTimeout(timer);
          this.waiters.delete(id);
          reject(err instanceof RaftError ? Errors.noLeader() : err);
        }
      };
      attempt();
    });
  }

  /** Proposes a membership change; resolves with the member list once it is applied. */
  proposeConfChange(cc: ConfChange): Promise<Answer<MemberRow[]>> {
    const id = `${this.reqPrefix}-${(this.reqSeq++).toString(36)}`;
    const ctx = JSON.parse(cc.context ? decoder.decode(cc.context) : '{}');
    const withId: ConfChange = { ...cc, context: encoder.encode(JSON.stringify({ ...ctx, requestId: id })) };
    return this.proposeData<MemberRow[]>(id, EMPTY, () => this.node.proposeConfChange(withId));
  }

  /**
   * Runs fn once it may see every write acknowledged anywhere before it was asked: a ReadIndex
   * round confirms leadership and the commit index, then this member waits to apply up to it.
   * Serializable reads answer from local state at once.
   */
  async read<T>(serializable: boolean, fn: () => T): Promise<T> {
    if (this.failed || this.closed) throw Errors.stopped();
    if (!serializable) await this.readBarrier();
    return fn();
  }

  private readBarrier(): Promise<void> {
    return new Promise((resolve, reject) => {
      // A read joins only a round not asked yet: one asked before the read came may miss writes
      // acknowledged in between (a stale read). Reads arriving together share the next round.
      let batch = this.currentRead;
      if (!batch) {
        const ctx = encoder.encode(`${this.reqPrefix}/r${this.readSeq++}`);
        const open: ReadBatch = { ctx, index: 0, waiters: [], asked: Date.now() };
        batch = this.currentRead = open;
        this.readBatches.set(decoder.decode(ctx), batch);
        setImmediate(() => {
          if (this.currentRead === open) this.currentRead = undefined;
          this.node.readIndex(ctx);
          this.kick();
        });
      }
      const b = batch;
      const timer = setTimeout(() => {
        const i = b.waiters.indexOf(w);
        if (i >= 0) b.waiters.splice(i, 1);
        reject(this.leader ? Errors.requestTimeout() : Errors.noLeader());
      }, this.requestTimeoutMs);
      const w = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      b.waiters.push(w);
    });
  }

  /** Resolves once this member has applied up to index. */
  waitApplied(index: number): Promise<void> {
    if (this.appliedIndex >= index) return Promise.resolve();
    return new Promise((resolve) => this.appliedWatchers.push({ index, resolve }));
  }

  healthy(): boolean {
    return !this.failed && !this.closed && this.leader !== '';
  }

  range(r: RangeRequest): Answer<RangeResponse> {
    const waits: Waits = [];
    const resp = applyRange(this.kv, r, waits);
    return { resp, done: settle(waits) };
  }

  /** A txn with no writes runs on local state after the read barrier; any other goes through the log. */
  async txn(r: TxnRequest): Promise<Answer<TxnResponse>> {
    if (isTxnReadonly(r)) {
      return this.read(false, () => {
        const waits: Waits = [];
        const resp = applyTxn(this.kvCtx, r, waits);
        return { resp, done: settle(waits) };
      });
    }
    return this.propose<TxnResponse>({ txn: r });
  }

  private kick(): void {
    if (this.looping || this.failed) return;
    this.looping = true;
    queueMicrotask(() => void this.loop());
  }

  /**
   * Takes Readys while raft has them, up to logWrites with their log write in flight (each carries
   * what gathered while the others were written): a Ready's committed entries are durable already
   * and applied at once, and what must wait for its own write (the rest of its messages, raft's
   * acknowledgement) follows once that write and every earlier one are done. A snapshot, received
   * or recorded, is written alone.
   */
  private async loop(): Promise<void> {
    const most = Math.max(1, this.opts.logWrites ?? 1);
    try {
      while (!this.failed && this.node.hasReady()) {
        if (this.writing.length >= most) {
          await this.writing[0];
          continue;
        }
        const rd = this.node.ready();
        if (rd.snapshot || this.pendingSnapshot) {
          await this.drainWrites();
          await this.handleReady(rd);
        } else this.startReady(rd);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.looping = false;
    }
    this.flushApplied();
  }

  private async drainWrites(): Promise<void> {
    while (this.writing.length) await this.writing[this.writing.length - 1];
  }

  /** Starts a Ready's log write and does at once what need not wait for it. */
  private startReady(rd: Ready): void {
    const early = rd.messages.length ? rd.messages.filter(sendableBeforePersist) : [];
    if (early.length) this.opts.send?.(early);
    const write = this.persist(rd, undefined);
    this.takeSoftState(rd);
    if (rd.committedEntries.length) {
      for (const e of rd.committedEntries) this.applyEntry(e);
      this.node.ackApplied(rd);
      this.flushApplied();
    }
    this.takeReadStates(rd);
    this.releaseReads();
    const before = this.writing.at(-1);
    const done = (before ? Promise.all([before, write]) : write).then(() => this.finishWrite(rd));
    this.writing.push(done);
    // A failed write fails the member; every later one then settles without acting.
    done.catch((err) => this.fail(err));
  }

  /** A Ready's write and every earlier one are durable: what waited for them goes on. */
  private finishWrite(rd: Ready): void {
    this.writing.shift();
    if (this.failed) return;
    this.takeWritten(rd);
    const late = rd.messages.filter((m) => !sendableBeforePersist(m));
    if (late.length) this.opts.send?.(late);
    this.node.ackPersisted(rd);
    this.maybeSnapshot();
    this.kick();
  }

  /** Mirrors a written Ready in the in-memory raft storage. */
  private takeWritten(rd: Ready): void {
    if (rd.entries.length) {
      this.storage.append(rd.entries);
      for (const e of rd.entries) this.logBytes += e.data.length + 32;
    }
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.term = rd.hardState.term;
    }
  }

  private takeSoftState(rd: Ready): void {
    if (!rd.softState) return;
    const wasLeader = this.isLeader;
    this.leader = rd.softState.lead;
    if (this.isLeader !== wasLeader) this.leaseDuties.leadershipChanged(this.isLeader);
  }

  private takeReadStates(rd: Ready): void {
    for (const rs of rd.readStates) {
      const b = this.readBatches.get(decoder.decode(rs.requestCtx));
      if (b) b.index = rs.index;
      if (b === this.currentRead) this.currentRead = undefined;
    }
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
    if (early.length) this.opts.send?.(early);
    await this.persist(rd, snapshot ? { index: snapshot.metadata.index, term: snapshot.metadata.term, confState: snapshot.metadata.confState } : undefined, installFrom);
    if (snapshot) {
      this.storage.applySnapshot(snapshot);
      this.receivedSnapshots.delete(snapshot.metadata.index);
      await this.loadState();
      this.confState = snapshot.metadata.confState;
      this.confChanges = [];
      this.lastTruncate = snapshot.metadata.index;
      this.opts.onMembers?.([...this.members.values()]);
    }
    this.takeWritten(rd);
    this.takeSoftState(rd);
    const late = early.length ? rd.messages.filter((m) => !sendableBeforePersist(m)) : rd.messages;
    if (late.length) this.opts.send?.(late);
    for (const e of rd.committedEntries) this.applyEntry(e);
    if (rd.committedEntries.length) this.flushApplied();
    this.takeReadStates(rd);
    this.node.advance(rd);
    this.releaseReads();
    this.maybeSnapshot();
  }

  /** Answers the reads whose ReadIndex this member has applied. */
  private releaseReads(): void {
    for (const [key, b] of this.readBatches) {
      if (b.index === 0 || b.index > this.appliedIndex) continue;
      this.readBatches.delete(key);
      for (const w of b.waiters) w.resolve();
    }
    if (this.appliedWatchers.length) {
      const ready = this.appliedWatchers.filter((w) => w.index <= this.appliedIndex);
      this.appliedWatchers = this.appliedWatchers.filter((w) => w.index > this.appliedIndex);
      for (const w of ready) w.resolve();
    }
  }

  /**
   * Keeps the in-memory raft log short: entries behind the durable applied index go, except the
   * last few for followers that lag a little (etcd keeps 5,000), and fewer when they are large.
   */
  private maybeSnapshot(): void {
    const count = this.opts.logRetention ?? 100_000;
    let retention = Math.min(count, 5000);
    const first = this.storage.firstIndex();
    const last = this.storage.lastIndex();
    if (last >= first && this.logBytes > LOG_BYTES) {
      const avg = this.logBytes / (last - first + 1);
      retention = Math.max(1, Math.min(retention, Math.floor(LOG_BYTES / 2 / avg)));
    }
    if (this.snapshotForConfChange()) return;
    const upTo = this.durableApplied - retention;
    if (upTo <= this.lastTruncate + Math.min(1000, retention) || this.pendingSnapshot) return;
    try {
      // A snapshot taken for a conf change may already be past upTo: then only memory is trimmed.
      if (upTo > this.storage.snapshot().metadata.index) {
        const snap = this.storage.createSnapshot(upTo, this.confStateAt(upTo), EMPTY);
        this.pendingSnapshot = snap.metadata;
        this.confChanges = this.confChanges.filter((c) => c.index > upTo);
      }
      const kept = this.storage.lastIndex() - upTo;
      this.storage.compact(upTo);
      // Re-estimate what is held from the average entry size.
      this.logBytes = last >= first ? (this.logBytes * kept) / (last - first + 1) : 0;
      this.lastTruncate = upTo;
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
  }

  /**
   * Raft refuses a snapshot whose configuration does not name the member it is sent to, so a member
   * added since the last snapshot could never catch up by one: once the tables hold the conf
   * change, a snapshot is taken there (memory keeps its entries for followers that lag a little).
   * Its index need not be durable yet: the synchronous commit that records it flushes the applied
   * rows committed before it.
   */
  private snapshotForConfChange(): boolean {
    const last = this.confChanges.at(-1);
    const snapIndex = this.storage.snapshot().metadata.index;
    if (!last || last.index <= snapIndex || this.persistedApplied < last.index || this.pendingSnapshot) return false;
    const snap = this.storage.createSnapshot(this.persistedApplied, this.confStateAt(this.persistedApplied), EMPTY);
    this.pendingSnapshot = snap.metadata;
    this.confChanges = this.confChanges.filter((c) => c.index > snap.metadata.index);
    return true;
  }

  /** The configuration as of a log index at or after the snapshot's. */
  private confStateAt(index: number): ConfState {
    for (let i = this.confChanges.length - 1; i >= 0; i--) if (this.confChanges[i].index <= index) return this.confChanges[i].confState;
    return this.storage.snapshot().metadata.confState;
  }

  /** The log lane: what raft needs durable before it acts (entries, hard state, snapshot metadata). */
  private async persist(rd: Ready, installed: { index: number; term: number; confState: ConfState } | undefined, installFrom?: string): Promise<void> {
    const snapMeta = installed ?? this.pendingSnapshot;
    this.pendingSnapshot = undefined;
    const entries = rd.entries;
    // A Ready that only carries messages or read states writes nothing (reads must not wait on a
    // commit), nor one that only moves the commit index: raft learns that again from its leader, and
    // the applied rows carry their own index.
    if (!entries.length && !snapMeta && !installFrom && (!rd.hardState || !rd.mustSync)) return;
    if (installFrom) await this.drainApplied();
    // Appending right after what is written needs no delete; a follower's conflicting suffix does.
    const truncateFrom = entries.length && entries[0].index <= this.logLast ? entries[0].index : undefined;
    if (entries.length) this.logLast = entries[entries.length - 1].index;
    else if (installed) this.logLast = installed.index;
    const flushes = this.persistedApplied;
    // Raft says whether this batch must be on disk first (entries, term or vote); a commit index alone need not.
    const sync = rd.mustSync || !!snapMeta || !!installFrom;
    await this.db.commitLog({
      sync,
      entries: entries.map(toStoredEntry),
      truncateFrom,
      hardState: rd.hardState,
      snapshot: snapMeta,
      truncateLogTo: snapMeta && !installed ? snapMeta.index : undefined,
      installFrom,
    });
    // A synchronous commit flushes the WAL up to itself, so applied state committed before it is on disk.
    if (sync && !installed && flushes > this.durableApplied) this.durableApplied = flushes;
    if (installed) this.durableApplied = this.persistedApplied;
  }

  private flushing: Promise<void> | undefined;
  /** A drain waits: the running flush goes on until nothing is left. */
  private flushNow = false;
  private flushTimer: NodeJS.Timeout | undefined;

  /**
   * The applied lane: rows, leases, members and the applied index go to the database beside the
   * log lane, one transaction at a time, each carrying whatever was applied since the last. Small
   * batches wait up to APPLIED_GATHER_MS for more, as etcd's backend commits in batches: every
   * commit wakes a database backend, which costs more than the rows. Nothing here needs to be
   * durable before an answer (the log is); a compaction, a snapshot or a close asks for it now.
   */
  private flushApplied(now = false): void {
    if (this.failed) return;
    if (this.flushing) {
      if (now) this.flushNow = true;
      return;
    }
    if (!this.hasAppliedWork()) return;
    if (!now && !this.appliedBatchFull()) {
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        this.flushApplied(true);
      }, APPLIED_GATHER_MS).unref();
      return;
    }
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = (async () => {
      try {
        while (this.hasAppliedWork() && !this.failed) {
          const rows = this.pendingRows;
          const compactions = this.pendingCompactions;
          const leaseOps = this.pendingLeaseOps;
          const memberOps = this.pendingMemberOps;
          this.pendingRows = [];
          this.pendingCompactions = [];
          this.pendingLeaseOps = [];
          this.pendingMemberOps = [];
          const applied = this.appliedIndex;
          await this.db.commitApplied({
            rows,
            compactions: compactions.map((c) => c.rev),
            leaseOps,
            memberOps,
            appliedIndex: applied,
            revision: this.kv.currentRev,
            compactRev: compactions.length ? compactions[compactions.length - 1].rev : undefined,
          });
          this.persistedApplied = applied;
          for (const r of rows) this.unflushed.delete(`${r.main}.${r.sub}`);
          for (const c of compactions) c.done();
          if (!this.flushNow && !this.appliedBatchFull()) break;
        }
      } catch (err) {
        this.fail(err);
      } finally {
        this.flushing = undefined;
        this.flushNow = false;
      }
      this.flushApplied();
    })();
  }

  private hasAppliedWork(): boolean {
    return this.pendingRows.length > 0 || this.pendingCompactions.length > 0 || this.pendingLeaseOps.length > 0 || this.pendingMemberOps.length > 0 || this.persistedApplied < this.appliedIndex;
  }

  /** Enough to commit without waiting: many rows, or a compaction someone waits for. */
  private appliedBatchFull(): boolean {
    return this.pendingRows.length >= APPLIED_BATCH_ROWS || this.pendingCompactions.length > 0;
  }

  /** Commits everything applied so far to the database and waits for it. */
  private async drainApplied(): Promise<void> {
    for (;;) {
      this.flushApplied(true);
      if (!this.flushing) return;
      await this.flushing;
    }
  }

  /** Waits until the database holds the applied state up to index (a snapshot sent from it must). */
  async flushedTo(index: number): Promise<void> {
    while (this.persistedApplied < index && !this.failed && !this.closed) {
      this.flushApplied(true);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = err;
    console.error('edgecd: storage failed, member stops serving:', err);
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(Errors.stopped());
    }
    this.waiters.clear();
  }

  private applyEntry(e: Entry): void {
    if (e.type === 'confChange') {
      this.applyConfChange(e);
      return;
    }
    if (e.index <= this.appliedIndex) return;
    this.appliedIndex = e.index;
    if (e.data.length === 0) return;
    this.applyRequest(e.data);
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.confState = this.node.applyConfChange(cc);
    this.confChanges.push({ index: e.index, confState: this.confState });
    // An entry the snapshot already covered changes raft's view only; the tables have it.
    if (e.index <= this.appliedIndex) return;
    this.appliedIndex = e.index;
    const ctx = cc.context && cc.context.length ? JSON.parse(decoder.decode(cc.context)) : {};
    const id = memberIdOf(cc.nodeId);
    if (cc.type === 'removeNode') {
      this.members.delete(id);
      this.pendingMemberOps.push({ id });
      if (id === this.memberId) this.removed = true;
    } else {
      const prev = this.members.get(id);
      const m: MemberRow = {
        id,
        name: ctx.name ?? prev?.name ?? '',
        peerUrls: ctx.peerUrls ?? prev?.peerUrls ?? [],
        clientUrls: ctx.clientUrls ?? prev?.clientUrls ?? [],
        isLearner: cc.type === 'addLearner',
      };
      this.members.set(id, m);
      this.pendingMemberOps.push({ id, member: m });
    }
    this.opts.onMembers?.([...this.members.values()]);
    const waiter = ctx.requestId ? this.waiters.get(ctx.requestId) : undefined;
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(ctx.requestId);
      waiter.resolve({ resp: [...this.members.values()] });
    }
  }

  /** Applies one committed write to the state machine and answers its waiter, if it is ours. */
  private applyRequest(data: Uint8Array): void {
    const req = decodeRaftRequest(data);
    const waiter = this.waiters.get(req.id);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(req.id);
    }
    const before = this.kv.currentRev;
    const waits: Waits = [];
    try {
      let resp: unknown;
      if (req.put) resp = applyPut(this.kvCtx, undefined, req.put);
      else if (req.deleteRange) resp = applyDeleteRange(this.kvCtx, undefined, req.deleteRange);
      else if (req.txn) resp = applyTxn(this.kvCtx, req.txn, waits);
      else if (req.compaction) {
        resp = applyCompaction(this.kvCtx, req.compaction);
        const rev = req.compaction.revision;
        const flushed = new Promise<void>((done) => this.pendingCompactions.push({ rev, done }));
        if (req.compaction.physical) waits.push(flushed);
        this.kick();
      } else if (req.leaseGrant) {
        const lease = this.lessor.grant(req.leaseGrant.ID, req.leaseGrant.TTL, Date.now());
        this.pendingLeaseOps.push({ id: lease.id, ttl: lease.ttl });
        resp = { header: { revision: this.kv.currentRev }, ID: lease.id, TTL: lease.ttl } satisfies LeaseGrantResult;
      } else if (req.leaseCheckpoint) {
        const now = Date.now();
        for (const c of req.leaseCheckpoint.checkpoints) {
          this.lessor.checkpoint(c.ID, c.remaining, now);
          const l = this.lessor.get(c.ID);
          if (l) this.pendingLeaseOps.push({ id: l.id, ttl: l.ttl, remaining: l.remaining });
        }
        resp = {};
      } else if (req.memberAttrs) {
        const a = req.memberAttrs;
        const id = BigInt(a.id);
        const m = this.members.get(id);
        if (!m) throw Errors.memberNotFound();
        const next: MemberRow = { ...m, name: a.name ?? m.name, clientUrls: a.clientUrls ?? m.clientUrls, peerUrls: a.peerUrls ?? m.peerUrls };
        this.members.set(id, next);
        this.pendingMemberOps.push({ id, member: next });
        this.opts.onMembers?.([...this.members.values()]);
        resp = [...this.members.values()];
      } else if (req.leaseRevoke) {
        const keys = this.lessor.revoke(req.leaseRevoke.ID);
        const txn = this.kv.write();
        for (const key of keys) txn.deleteRange(key, undefined);
        txn.end();
        this.pendingLeaseOps.push({ id: req.leaseRevoke.ID });
        resp = { header: { revision: this.kv.currentRev } };
      }
      this.queueRows(before);
      waiter?.resolve({ resp, done: settle(waits) });
    } catch (err) {
      waiter?.reject(err);
    }
  }

  /**
   * Subscribes to applied writes: called synchronously, in revision order, right after each write
   * is applied (so a listener never misses or reorders one). Returns the unsubscribe function.
   */
  onChanges(fn: ChangeListener): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /**
   * Revision rows with after < main <= until (revisions already applied), oldest first, at most
   * limit of them: the history a watcher catching up reads. Rows not flushed yet come from memory.
   */
  async changesSince(after: number, until: number, limit: number): Promise<KvRow[]> {
    // Copy the unflushed rows before querying: a row flushed meanwhile is then in one of the two.
    const recent: KvRow[] = [];
    for (const r of this.unflushed.values()) if (r.main > after && r.main <= until) recent.push(r);
    const stored = await this.db.rowsBetween(after, until, limit);
    if (recent.length === 0) return stored;
    const seen = new Set(stored.map((r) => `${r.main}.${r.sub}`));
    const all = stored.concat(recent.filter((r) => !seen.has(`${r.main}.${r.sub}`)));
    all.sort((a, b) => a.main - b.main || a.sub - b.sub);
    return all.length > limit ? all.slice(0, limit) : all;
  }

  /** Records the changes the last write made (if the revision moved) as rows to persist. */
  private queueRows(before: number): void {
    const changes = this.kv.lastChanges;
    if (this.kv.currentRev === before || !changes) return;
    const main = this.kv.currentRev;
    for (const c of changes) {
      const prevLease = c.prev?.lease ?? 0n;
      if (prevLease !== 0n && (c.tombstone || prevLease !== c.kv.lease)) this.lessor.detach(prevLease, c.kv.key);
      if (!c.tombstone && c.kv.lease !== 0n) this.lessor.attach(c.kv.lease, c.kv.key);
      const row: KvRow = {
        main,
        sub: c.sub,
        key: c.kv.key,
        value: c.kv.value,
        createRev: c.kv.createRevision,
        version: c.kv.version,
        lease: c.kv.lease,
        tombstone: c.tombstone,
      };
      this.pendingRows.push(row);
      this.unflushed.set(`${main}.${c.sub}`, row);
    }
    for (const fn of this.changeListeners) fn(main, changes);
  }

  private async historyValues(revs: { main: number; sub: number }[]) {
    const out = new Map<string, { value: string; lease: bigint }>();
    const ask: { main: number; sub: number }[] = [];
    for (const r of revs) {
      const row = this.unflushed.get(revKey(r));
      if (row) out.set(revKey(r), { value: row.value, lease: row.lease });
      else ask.push(r);
    }
    if (ask.length) for (const [k, v] of await this.db.values(ask)) out.set(k, v);
    return out;
  }

  memberList(): MemberRow[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Adds a member (as a learner or a voter); its id is derived from its peer URLs and the time. */
  async addMember(id: bigint, peerUrls: string[], isLearner: boolean): Promise<MemberRow[]> {
    for (const m of this.members.values()) {
      if (m.id === id) throw Errors.memberExist();
      if (m.peerUrls.some((u) => peerUrls.includes(u))) throw Errors.peerURLExist();
    }
    if (isLearner && [...this.members.values()].filter((m) => m.isLearner).length >= 1) throw Errors.tooManyLearners();
    const context = encoder.encode(JSON.stringify({ name: '', peerUrls, clientUrls: [] }));
    return (await this.proposeConfChange({ type: isLearner ? 'addLearner' : 'addNode', nodeId: nodeIdOf(id), context })).resp;
  }

  async removeMember(id: bigint): Promise<MemberRow[]> {
    if (!this.members.has(id)) throw Errors.memberNotFound();
    return (await this.proposeConfChange({ type: 'removeNode', nodeId: nodeIdOf(id) })).resp;
  }

  /** Promotes a learner once it has caught up with the leader (only the leader can tell). */
  async promoteMember(id: bigint): Promise<MemberRow[]> {
    const m = this.members.get(id);
    if (!m) throw Errors.memberNotFound();
    if (!m.isLearner) throw Errors.memberNotLearner();
    if (!this.isLeader) throw Errors.notLeader();
    const st = this.node.status();
    const p = st.progress?.[nodeIdOf(id)];
    const leaderMatch = st.progress?.[this.selfNode]?.match ?? st.commit;
    // etcd's rule: the learner's log must reach 90% of the leader's.
    if (!p || p.match < leaderMatch * 0.9) throw Errors.learnerNotReady();
    return (await this.proposeConfChange({ type: 'addNode', nodeId: nodeIdOf(id) })).resp;
  }

  async updateMember(id: bigint, peerUrls: string[]): Promise<MemberRow[]> {
    if (!this.members.has(id)) throw Errors.memberNotFound();
    for (const m of this.members.values()) if (m.id !== id && m.peerUrls.some((u) => peerUrls.includes(u))) throw Errors.peerURLExist();
    return (await this.propose<MemberRow[]>({ memberAttrs: { id: id.toString(), peerUrls } })).resp;
  }

  /** Publishes this member's name and client URLs through the log once there is a leader. */
  async publish(name: string, clientUrls: string[]): Promise<void> {
    const m = this.members.get(this.memberId);
    if (m && m.name === name && JSON.stringify(m.clientUrls) === JSON.stringify(clientUrls)) return;
    await this.propose({ memberAttrs: { id: this.memberId.toString(), name, clientUrls } });
  }

  databaseSize(): Promise<number> {
    return this.db.databaseSize();
  }

  raftStatus() {
    return this.node.status();
  }

  get selfNodeId(): string {
    return this.selfNode;
  }

  /** Streams this member's applied state for a follower that needs a snapshot. */
  async exportSnapshot(minIndex: number, write: (line: string) => Promise<void>): Promise<void> {
    await this.flushedTo(minIndex);
    await this.db.exportSnapshot(write);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    while (this.looping) await new Promise((r) => setTimeout(r, 5));
    await this.drainWrites().catch(() => {});
    await this.drainApplied();
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(Errors.stopped());
    }
    for (const b of this.readBatches.values()) for (const w of b.waiters) w.reject(Errors.stopped());
    await this.db.close();
  }
}

function toStoredEntry(e: Entry): StoredEntry {
  return { index: e.index, term: e.term, kind: e.type === 'confChange' ? 1 : 0, data: e.data };
}

function toRaftEntry(e: StoredEntry): Entry {
  return { index: e.index, term: e.term, type: e.kind === 1 ? 'confChange' : 'normal', data: e.data };
}

export { encodeConfChange };
