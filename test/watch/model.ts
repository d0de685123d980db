// A revisioned store in memory for watch tests: the real KvStore for the key index and writes, a
// row table with the database's compaction rule for history, and the full log of every change
// ever made (what an ideal watcher would see).
import { KvStore, revKey, revisionRows } from '../../src/mvcc/kv-store.ts';
import type { Change, KeyValue } from '../../src/mvcc/types.ts';
import type { WatchHistory } from '../../src/mvcc/watchable-store.ts';
import type { RevisionRow } from '../../src/storage/rows.ts';
import { mulberry32 } from '../../src/raft/rand.ts';

export interface LoggedEvent {
  rev: number;
  sub: number;
  key: string;
  type: 0 | 1;
  kv: KeyValue;
  /** The key's value before the change (undefined for a creation). */
  prev?: KeyValue;
}

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export function seedFromEnv(name: string): number {
  const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`${name}: seed ${seed} (replay with EDGECD_SEED=${seed})`);
  return seed;
}

export class MemoryKv {
  readonly rows: RevisionRow[] = [];
  readonly log: LoggedEvent[] = [];
  readonly kv: KvStore;
  private readonly byRev = new Map<string, RevisionRow>();
  /** Delay before history answers (to race reads against writes). */
  delay: () => Promise<void> = () => Promise.resolve();
  reads = 0;

  constructor() {
    this.kv = new KvStore({
      values: async (revs) => {
        await this.delay();
        const out = new Map<string, { value: string; lease: bigint }>();
        for (const r of revs) {
          const row = this.byRev.get(revKey(r));
          if (row) out.set(revKey(r), { value: row.value, lease: row.lease });
        }
        return out;
      },
    });
  }

  history(): WatchHistory {
    return {
      rows: async (after, until, limit) => {
        // Copy the answer now (as a query would), hand it over later.
        const out: RevisionRow[] = [];
        for (const r of this.rows) {
          if (r.main > after && r.main <= until) {
            out.push(r);
            if (out.length >= limit) break;
          }
        }
        this.reads++;
        await this.delay();
        return out;
      },
      valuesAt: (reqs) => this.kv.valuesAt(reqs),
      currentRev: () => this.kv.currentRev,
      compactRev: () => this.kv.compactRev,
    };
  }

  /** Applies a write; returns its revision and changes if it changed anything. */
  write(fn: (t: ReturnType<KvStore['write']>) => void): { rev: number; changes: Change[] } | undefined {
    const t = this.kv.write();
    fn(t);
    const changes = t.end();
    if (changes.length === 0) return undefined;
    const rev = this.kv.currentRev;
    const rows = revisionRows(rev, changes);
    for (const [i, c] of changes.entries()) {
      const row = rows[i];
      this.rows.push(row);
      this.byRev.set(revKey({ main: rev, sub: c.sub }), row);
      this.log.push({ rev, sub: c.sub, key: c.kv.key, type: c.tombstone ? 1 : 0, kv: c.kv, prev: c.prev });
    }
    return { rev, changes };
  }

  /** Compacts at rev: the index, and the rows as the database does (etcd's keep rule). */
  compact(rev: number): void {
    this.kv.compact(rev);
    const newest = new Map<string, RevisionRow>();
    for (const r of this.rows) if (r.main <= rev) newest.set(r.key, r);
    const keep = (r: RevisionRow) => r.main > rev || (newest.get(r.key) === r && !r.tombstone);
    const kept = this.rows.filter(keep);
    for (const r of this.rows) if (!keep(r)) this.byRev.delete(revKey({ main: r.main, sub: r.sub }));
    this.rows.length = 0;
    this.rows.push(...kept);
  }

  /** A random write over a small key space: put, delete (one key or a range), or a txn of several. */
  randomWrite(rng: Rng, keys: readonly string[]): { rev: number; changes: Change[] } | undefined {
    const val = () => `v${rng.int(1000)}`;
    const r = rng.float();
    return this.write((t) => {
      if (r < 0.55) t.put(rng.pick(keys), val(), 0n);
      else if (r < 0.7) t.deleteRange(rng.pick(keys), undefined);
      else if (r < 0.78) {
        const a = rng.pick(keys);
        const b = rng.pick(keys);
        t.deleteRange(a < b ? a : b, a < b ? b : `${b}\u00ff`);
      } else {
        const used = new Set<string>();
        const n = 2 + rng.int(4);
        for (let i = 0; i < n; i++) {
          const k = rng.pick(keys);
          if (used.has(k)) continue;
          used.add(k);
          if (rng.chance(0.75)) t.put(k, val(), 0n);
          else if (t.get(k)) t.deleteRange(k, undefined);
        }
      }
    });
  }
}

/** The events a watcher on [key, end) (etcd's end rules) with filters should see from rev `from` on. */
export function expectedEvents(log: LoggedEvent[], from: number, key: string, end: string | undefined, filterMask: number): LoggedEvent[] {
  const inRange = (k: string) => (end === undefined ? k === key : k >= key && (end === '' || k < end));
  return log.filter((e) => e.rev >= from && inRange(e.key) && (filterMask & (e.type === 0 ? 1 : 2)) === 0);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
