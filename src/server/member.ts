import { randomBytes } from 'node:crypto';
import { Lessor } from '../lease/lessor.ts';
import { KvStore, revKey } from '../mvcc/kv-store.ts';
import type { Change } from '../mvcc/types.ts';
import type { KvRow, MemberStore } from '../storage/member-store.ts';
import { applyCompaction, applyDeleteRange, applyPut, applyRange, applyTxn, isTxnReadonly, type KvContext, type Waits } from './apply-kv.ts';
import { Errors } from './errors.ts';
import { decodeRaftRequest, encodeRaftRequest, type RaftRequest } from './raft-request.ts';
import type { RangeRequest, RangeResponse, TxnRequest, TxnResponse } from './rpc-types.ts';
import { SoloLog, type LogNode, type LogReady } from './solo-log.ts';

export interface MemberOptions {
  name: string;
  /** How long applied rows may wait for a write batch to carry them before a batch of their own. */
  rowFlushDelayMs?: number;
  /** Log entries kept behind the applied index (for slow followers, later). */
  logRetention?: number;
  /** Shortest lease TTL in seconds: etcd's 1.5 election timeouts, rounded up. */
  minLeaseTtl?: number;
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

type Waiter = { resolve: (a: Answer<unknown>) => void; reject: (e: unknown) => void };

const settle = (waits: Waits): Promise<void> | undefined => (waits.length ? Promise.all(waits).then(() => undefined) : undefined);

/**
 * One member: the write path (propose -> persist -> apply -> answer), the MVCC state it applies
 * into, and the rows it writes back. Applied rows ride along with the next log write.
 */
export class Member {
  readonly kv: KvStore;
  readonly lessor: Lessor;
  clusterId = 0n;
  memberId = 0n;
  appliedIndex = 0;

  private node!: LogNode;
  private readonly waiters = new Map<string, Waiter>();
  /** Rows applied but not yet committed to the database, by revision: history reads look here first. */
  private readonly unflushed = new Map<string, KvRow>();
  private pendingRows: KvRow[] = [];
  private pendingCompactions: { rev: number; done: () => void }[] = [];
  private pendingLeaseOps: { id: bigint; ttl?: number }[] = [];
  private looping = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private reqSeq = 0;
  private readonly reqPrefix = randomBytes(6).toString('hex');
  private failed: unknown;
  private readonly kvCtx: KvContext;
  private closed = false;
  private lastTruncate = 0;

  private constructor(
    private readonly db: MemberStore,
    private readonly opts: MemberOptions,
  ) {
    this.kv = new KvStore({ values: (revs) => this.historyValues(revs) });
    this.lessor = new Lessor(opts.minLeaseTtl ?? 2);
    this.kvCtx = { store: this.kv, leaseExists: (id) => this.lessor.exists(id) };
  }

  static async open(db: MemberStore, opts: MemberOptions): Promise<Member> {
    const m = new Member(db, opts);
    await m.recover();
    return m;
  }

  get term(): number {
    return this.node.term;
  }

  private async recover(): Promise<void> {
    this.clusterId = await this.idFromMeta('cluster_id');
    this.memberId = await this.idFromMeta('member_id');
    this.appliedIndex = Number((await this.db.getMeta('consistent_index')) ?? 0);
    this.kv.compactRev = Number((await this.db.getMeta('compact_rev')) ?? -1);
    let rev = Number((await this.db.getMeta('revision')) ?? 1);
    const index = this.kv.index;
    await this.db.forEachRevision((r) => {
      index.getOrCreate(r.key).restore({ main: r.main, sub: r.sub }, r.createRev, r.version, r.tombstone);
      if (r.main > rev) rev = r.main;
    });
    await this.db.forEachLiveValue((r) => {
      index.getOrCreate(r.key).latest = {
        key: r.key,
        value: r.value,
        createRevision: r.createRev,
        modRevision: r.main,
        version: r.version,
        lease: r.lease,
      };
    });
    this.kv.currentRev = rev;
    for (const l of await this.db.leases()) this.lessor.restore(l.id, l.ttl);
    for (const ki of index.entries()) if (ki.latest && ki.latest.lease !== 0n) this.lessor.attach(ki.latest.lease, ki.key);
    const entries = await this.db.entriesAfter(this.appliedIndex);
    let last = this.appliedIndex;
    for (const e of entries) {
      this.applyEntry(e.index, e.data);
      last = e.index;
    }
    this.node = new SoloLog(last);
    this.lastTruncate = this.appliedIndex;
  }

  private async idFromMeta(name: string): Promise<bigint> {
    const v = await this.db.getMeta(name);
    if (v) return BigInt(v);
    // etcd ids are uint64; keep them below 2^63 so they also fit a signed column.
    const id = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn;
    await this.db.putMeta(name, id.toString());
    return id;
  }

  /** Proposes a write and resolves once it is durable and applied. */
  propose<T>(req: Omit<RaftRequest, 'id'>): Promise<Answer<T>> {
    if (this.failed) return Promise.reject(Errors.stopped());
    if (this.closed) return Promise.reject(Errors.stopped());
    const id = `${this.reqPrefix}-${(this.reqSeq++).toString(36)}`;
    const data = encodeRaftRequest({ id, ...req });
    return new Promise<Answer<T>>((resolve, reject) => {
      this.waiters.set(id, { resolve: resolve as Waiter['resolve'], reject });
      this.node.propose(data);
      this.kick();
    });
  }

  /**
   * Runs a read once it may see every write acknowledged before it was asked. One member is
   * always its own leader and answers only what is durable and applied, so that holds at once.
   */
  async read<T>(_serializable: boolean, fn: () => T): Promise<T> {
    if (this.failed || this.closed) throw Errors.stopped();
    return fn();
  }

  healthy(): boolean {
    return !this.failed && !this.closed;
  }

  range(r: RangeRequest): Answer<RangeResponse> {
    const waits: Waits = [];
    const resp = applyRange(this.kv, r, waits);
    return { resp, done: settle(waits) };
  }

  /** A txn with no writes runs on local state; any other goes through the log. */
  async txn(r: TxnRequest): Promise<Answer<TxnResponse>> {
    if (isTxnReadonly(r)) {
      const waits: Waits = [];
      const resp = applyTxn(this.kvCtx, r, waits);
      return { resp, done: settle(waits) };
    }
    return this.propose<TxnResponse>({ txn: r });
  }

  private kick(): void {
    if (this.looping || this.failed) return;
    this.looping = true;
    queueMicrotask(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (
        this.node.hasReady() ||
        ((this.pendingRows.length > 0 || this.pendingLeaseOps.length > 0) && this.flushDue) ||
        this.pendingCompactions.length > 0
      ) {
        const rd = this.node.hasReady() ? this.node.ready() : { entries: [], committedEntries: [] as LogReady['committedEntries'] };
        await this.persist(rd);
        for (const e of rd.committedEntries) this.applyEntry(e.index, e.data);
        this.node.advance(rd);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.looping = false;
      this.flushDue = false;
    }
    if ((this.pendingRows.length > 0 || this.pendingLeaseOps.length > 0) && !this.flushTimer && !this.failed) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flushDue = true;
        this.kick();
      }, this.opts.rowFlushDelayMs ?? 20);
    }
  }

  private flushDue = false;

  private async persist(rd: LogReady): Promise<void> {
    const rows = this.pendingRows;
    const compactions = this.pendingCompactions;
    const leaseOps = this.pendingLeaseOps;
    this.pendingRows = [];
    this.pendingCompactions = [];
    this.pendingLeaseOps = [];
    const applied = this.appliedIndex;
    const retention = this.opts.logRetention ?? 10_000;
    const truncate = applied - retention > this.lastTruncate + 1000 ? applied - retention : undefined;
    await this.db.commit({
      entries: rd.entries,
      hardState: rd.hardState,
      rows,
      compactions: compactions.map((c) => c.rev),
      leaseOps,
      appliedIndex: applied,
      compactRev: compactions.length ? compactions[compactions.length - 1].rev : undefined,
      revision: this.kv.currentRev,
      truncateLogTo: truncate,
    });
    if (truncate !== undefined) this.lastTruncate = truncate;
    for (const r of rows) this.unflushed.delete(`${r.main}.${r.sub}`);
    for (const c of compactions) c.done();
  }

  private fail(err: unknown): void {
    this.failed = err;
    console.error('edgecd: storage failed, member stops serving writes:', err);
    for (const w of this.waiters.values()) w.reject(Errors.stopped());
    this.waiters.clear();
  }

  /** Applies one committed entry to the state machine and answers its waiter, if it is ours. */
  private applyEntry(index: number, data: Uint8Array): void {
    this.appliedIndex = index;
    if (data.length === 0) return;
    const req = decodeRaftRequest(data);
    const waiter = this.waiters.get(req.id);
    this.waiters.delete(req.id);
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
        const lease = this.lessor.grant(req.leaseGrant.ID, req.leaseGrant.TTL);
        this.pendingLeaseOps.push({ id: lease.id, ttl: lease.ttl });
        resp = { header: { revision: this.kv.currentRev }, ID: lease.id, TTL: lease.ttl } satisfies LeaseGrantResult;
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

  private readonly changeListeners = new Set<ChangeListener>();

  /**
   * Subscribes to applied writes: called synchronously, in revision order, right after each write
   * is applied (so a listener never misses or reorders one). Returns the unsubscribe function.
   */
  onChanges(fn: ChangeListener): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
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

  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushDue = true;
    while (this.looping) await new Promise((r) => setTimeout(r, 5));
    if (!this.failed && (this.pendingRows.length || this.pendingCompactions.length || this.pendingLeaseOps.length)) {
      await this.persist({ entries: [], committedEntries: [] });
    }
    for (const w of this.waiters.values()) w.reject(Errors.stopped());
    await this.db.close();
  }
}
