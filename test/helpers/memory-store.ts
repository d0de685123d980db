import type { AppliedBatch, BootstrapBatch, HardStateRow, LeaseRow, LogBatch, MemberRow, RevisionRow, SnapshotMeta, StoredEntry } from '../../src/storage/rows.ts';
import type { IndexRow, LogStore, MemberStore, StateStore } from '../../src/storage/stores.ts';

/**
 * A member's storage in memory, for tests of the member's parts without a database: the same
 * contract as the Postgres stores (a batch is all or nothing; compaction keeps each key's newest
 * revision at or below it unless that is a tombstone). Commits can be held or failed on demand.
 */
export class MemoryStore implements MemberStore {
  readonly log: MemoryLogStore;
  readonly state: MemoryStateStore;
  closed = false;

  constructor() {
    this.state = new MemoryStateStore();
    this.log = new MemoryLogStore();
  }

  async bootstrap(b: BootstrapBatch): Promise<void> {
    await this.log.commitLog({ entries: [], hardState: b.hardState, snapshot: b.snapshot });
    await this.state.commitApplied({ rows: [], compactions: [], memberOps: b.memberOps, appliedIndex: b.appliedIndex, revision: 1 });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Lets a test hold commits (and release or fail them) to see what waits on durability. */
export class Gate {
  private held: { go: () => void; fail: (e: unknown) => void }[] | undefined;
  failWith: unknown;

  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const h = this.held ?? [];
    this.held = undefined;
    for (const x of h) x.go();
  }

  get waiting(): number {
    return this.held?.length ?? 0;
  }

  async pass(): Promise<void> {
    if (this.failWith) throw this.failWith;
    if (this.held) await new Promise<void>((go, fail) => this.held!.push({ go, fail }));
    if (this.failWith) throw this.failWith;
  }
}

export class MemoryLogStore implements LogStore {
  readonly entries = new Map<number, StoredEntry>();
  hard: HardStateRow | undefined;
  snapshot: SnapshotMeta | undefined;
  readonly gate = new Gate();
  commits = 0;

  async commitLog(b: LogBatch): Promise<void> {
    await this.gate.pass();
    if (b.installFrom) throw new Error('the memory store cannot install snapshot files');
    if (b.truncateFrom !== undefined) for (const i of [...this.entries.keys()]) if (i >= b.truncateFrom) this.entries.delete(i);
    for (const e of b.entries) this.entries.set(e.index, { ...e });
    if (b.hardState) this.hard = { ...b.hardState };
    if (b.truncateLogTo !== undefined) for (const i of [...this.entries.keys()]) if (i <= b.truncateLogTo) this.entries.delete(i);
    if (b.snapshot) this.snapshot = structuredClone(b.snapshot);
    this.commits++;
  }

  async hardState() {
    return this.hard && { ...this.hard };
  }

  async raftSnapshot() {
    return this.snapshot && structuredClone(this.snapshot);
  }

  async entriesAfter(index: number): Promise<StoredEntry[]> {
    return [...this.entries.values()].filter((e) => e.index > index).sort((a, b) => a.index - b.index);
  }
}

const revKey = (r: { main: number; sub: number }) => `${r.main}.${r.sub}`;

export class MemoryStateStore implements StateStore {
  readonly rows = new Map<string, RevisionRow>();
  readonly meta = new Map<string, string>();
  readonly leaseRows = new Map<bigint, LeaseRow>();
  readonly memberRows = new Map<bigint, MemberRow>();
  readonly gate = new Gate();
  commits = 0;

  async commitApplied(b: AppliedBatch): Promise<void> {
    await this.gate.pass();
    for (const r of b.rows) if (!this.rows.has(revKey(r))) this.rows.set(revKey(r), { ...r });
    for (const rev of b.compactions) this.compact(rev);
    for (const l of b.leaseOps ?? []) {
      if (l.ttl === undefined) this.leaseRows.delete(l.id);
      else this.leaseRows.set(l.id, { id: l.id, ttl: l.ttl, remaining: l.remaining ?? 0 });
    }
    for (const m of b.memberOps ?? []) {
      if (m.member) this.memberRows.set(m.id, structuredClone(m.member));
      else this.memberRows.delete(m.id);
    }
    this.meta.set('consistent_index', String(b.appliedIndex));
    this.meta.set('revision', String(b.revision));
    if (b.compactRev !== undefined) this.meta.set('compact_rev', String(b.compactRev));
    for (const [name, value] of b.meta ?? []) this.meta.set(name, value);
    this.commits++;
  }

  private compact(rev: number): void {
    const newest = new Map<string, RevisionRow>();
    for (const r of this.rows.values()) {
      if (r.main > rev) continue;
      const n = newest.get(r.key);
      if (!n || r.main > n.main || (r.main === n.main && r.sub > n.sub)) newest.set(r.key, r);
    }
    for (const [k, r] of this.rows) if (r.main <= rev && (r.tombstone || newest.get(r.key) !== r)) this.rows.delete(k);
  }

  private sorted(): RevisionRow[] {
    return [...this.rows.values()].sort((a, b) => a.main - b.main || a.sub - b.sub);
  }

  async getMeta(name: string) {
    return this.meta.get(name);
  }

  async putMeta(name: string, value: string) {
    this.meta.set(name, value);
  }

  async forEachRow(fn: (r: IndexRow) => void): Promise<void> {
    const rows = [...this.rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.main - b.main || a.sub - b.sub));
    rows.forEach((r, i) => {
      const newest = rows[i + 1]?.key !== r.key;
      fn({ ...r, value: newest && !r.tombstone ? r.value : undefined });
    });
  }

  async leases() {
    return [...this.leaseRows.values()].map((l) => ({ ...l }));
  }

  async members() {
    return [...this.memberRows.values()].map((m) => structuredClone(m));
  }

  async values(revs: { main: number; sub: number }[]) {
    const out = new Map<string, { value: string; lease: bigint }>();
    for (const r of revs) {
      const row = this.rows.get(revKey(r));
      if (row) out.set(revKey(r), { value: row.value, lease: row.lease });
    }
    return out;
  }

  async rowsBetween(after: number, until: number, limit: number) {
    return this.sorted()
      .filter((r) => r.main > after && r.main <= until)
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }

  /** The same rows as the Postgres store hashes, with a simpler hash: equal states, equal hashes. */
  async hashKV(rev: number, compactRev: number): Promise<number> {
    const rows = [...this.rows.values()].filter((r) => r.main <= rev);
    const newest = new Map<string, RevisionRow>();
    for (const r of rows) if (r.main <= compactRev && (!newest.has(r.key) || r.main > newest.get(r.key)!.main || (r.main === newest.get(r.key)!.main && r.sub > newest.get(r.key)!.sub))) newest.set(r.key, r);
    let h = 0;
    for (const r of rows) {
      if (r.main <= compactRev && (r.tombstone || newest.get(r.key) !== r)) continue;
      let rh = 0;
      for (const ch of `${r.main}/${r.sub}/${r.key}/${r.value}/${r.createRev}/${r.version}/${r.lease}/${r.tombstone}`) rh = (rh * 31 + ch.charCodeAt(0)) >>> 0;
      h = (h + rh) >>> 0;
    }
    return h;
  }

  async exportSnapshot(write: (line: string) => Promise<void>): Promise<number> {
    await write(JSON.stringify({ meta: Object.fromEntries(this.meta) }));
    return Number(this.meta.get('consistent_index') ?? 0);
  }

  defrags = 0;

  async defragment() {
    this.defrags++;
  }

  async databaseSize() {
    let n = 0;
    for (const r of this.rows.values()) n += r.key.length + r.value.length + 40;
    return n;
  }
}
