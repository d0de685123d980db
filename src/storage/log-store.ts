import { eq } from 'drizzle-orm';
import type postgres from 'postgres';
import { blobFrom, intArray, type Connection, type Sql } from './db.ts';
import type { HardStateRow, LogBatch, SnapshotMeta, StoredEntry } from './rows.ts';
import { raftState } from './schema.ts';
import { installSnapshot } from './snapshot-file.ts';
import type { LogStore } from './stores.ts';

type Tx = Sql | postgres.TransactionSql;

/** INSERT of consecutive log entries: their data travel as one blob cut apart by offset. */
function insertEntries(sql: Sql | postgres.TransactionSql, e: StoredEntry[]): postgres.PendingQuery<postgres.Row[]> {
  const offs: number[] = [];
  const lens: number[] = [];
  let at = 1;
  for (const x of e) {
    if (x.index !== e[0].index + offs.length) throw new Error(`log entries to write are not consecutive at ${x.index}`);
    offs.push(at);
    lens.push(x.data.length);
    at += x.data.length;
  }
  return sql`INSERT INTO raft_log (idx, term, kind, data)
    SELECT ${e[0].index}::bigint + n - 1, t, k, substring(blob.b FROM o FOR l)
    FROM ${blobFrom(sql, Buffer.concat(e.map((x) => x.data)))}, unnest(${intArray(e.map((x) => x.term))}::bigint[], ${intArray(e.map((x) => x.kind))}::smallint[], ${intArray(offs)}::int[], ${intArray(lens)}::int[]) WITH ORDINALITY AS u(t, k, o, l, n)`;
}

/** The raft log, hard state and snapshot metadata in the member's Postgres; the hot statements are raw. */
export class PgLogStore implements LogStore {
  /** The log lane's connection (the shared one when there is no lane of its own). */
  private readonly log: Sql;

  constructor(private readonly conn: Connection) {
    this.log = conn.log ?? conn.sql;
  }

  /**
   * The log lane: entries and hard state must be on disk before raft may act on them. Statements
   * are pipelined: one round trip per batch.
   */
  async commitLog(b: LogBatch): Promise<void> {
    if (!b.installFrom && b.truncateLogTo === undefined && !b.snapshot) return this.commitLogFast(b);
    await this.log.begin(async (tx) => {
      // A received snapshot replaces the state in the same transaction as its raft metadata.
      if (b.installFrom) await installSnapshot(tx, b.installFrom);
      await Promise.all(logStatements(tx, b));
    });
  }

  /**
   * The common case in one statement (its own transaction): one round trip and one flush per batch.
   * Data-modifying CTEs all see the same snapshot, so a replaced suffix is deleted past the new
   * entries and the new ones are upserted.
   */
  private async commitLogFast(b: LogBatch): Promise<void> {
    const sql = this.log;
    const ctes: postgres.PendingQuery<postgres.Row[]>[] = [];
    if (b.entries.length > 0) {
      const e = b.entries;
      if (b.truncateFrom !== undefined) ctes.push(sql`d AS (DELETE FROM raft_log WHERE idx > ${e[e.length - 1].index})`);
      ctes.push(sql`e AS (${insertEntries(sql, e)} ON CONFLICT (idx) DO UPDATE SET term = EXCLUDED.term, kind = EXCLUDED.kind, data = EXCLUDED.data)`);
    }
    if (b.hardState) {
      const h = b.hardState;
      ctes.push(sql`h AS (INSERT INTO raft_state (id, term, vote, commit) VALUES (1, ${h.term}, ${h.vote}, ${h.commit})
        ON CONFLICT (id) DO UPDATE SET term = EXCLUDED.term, vote = EXCLUDED.vote, commit = EXCLUDED.commit)`);
    }
    if (ctes.length === 0) return;
    const withs = ctes.reduce((acc, c) => sql`${acc}, ${c}`);
    if (b.sync === false) await sql.begin((tx) => [tx`SET LOCAL synchronous_commit TO OFF`, tx`WITH ${withs} SELECT 1`]);
    else await sql`WITH ${withs} SELECT 1`;
  }

  async hardState(): Promise<HardStateRow | undefined> {
    const rows = await this.conn.db.select().from(raftState).where(eq(raftState.id, 1));
    return rows[0] ? { term: rows[0].term, vote: rows[0].vote, commit: rows[0].commit } : undefined;
  }

  async entriesAfter(index: number): Promise<StoredEntry[]> {
    const rows = await this.conn.sql`SELECT idx::float8 AS idx, term::float8 AS term, kind, data FROM raft_log WHERE idx > ${index} ORDER BY idx`;
    return rows.map((r) => ({ index: r.idx, term: r.term, kind: r.kind, data: new Uint8Array(r.data) }));
  }

  async raftSnapshot(): Promise<SnapshotMeta | undefined> {
    const rows = await this.conn.sql`SELECT idx::float8 AS idx, term::float8 AS term, conf_state FROM raft_snapshot WHERE id = 1`;
    return rows[0] ? { index: rows[0].idx, term: rows[0].term, confState: JSON.parse(rows[0].conf_state) } : undefined;
  }
}

/** A log batch's statements, for a transaction of the caller's. */
export function logStatements(tx: Tx, b: LogBatch): postgres.PendingQuery<postgres.Row[]>[] {
  const q: postgres.PendingQuery<postgres.Row[]>[] = [];
  if (b.truncateFrom !== undefined) q.push(tx`DELETE FROM raft_log WHERE idx >= ${b.truncateFrom}`);
  if (b.entries.length > 0) {
    q.push(tx`${insertEntries(tx, b.entries)} ON CONFLICT (idx) DO UPDATE SET term = EXCLUDED.term, kind = EXCLUDED.kind, data = EXCLUDED.data`);
  }
  if (b.hardState) {
    const h = b.hardState;
    q.push(tx`INSERT INTO raft_state (id, term, vote, commit) VALUES (1, ${h.term}, ${h.vote}, ${h.commit})
      ON CONFLICT (id) DO UPDATE SET term = EXCLUDED.term, vote = EXCLUDED.vote, commit = EXCLUDED.commit`);
  }
  if (b.truncateLogTo !== undefined) q.push(tx`DELETE FROM raft_log WHERE idx <= ${b.truncateLogTo}`);
  if (b.snapshot) {
    const sm = b.snapshot;
    q.push(tx`INSERT INTO raft_snapshot (id, idx, term, conf_state) VALUES (1, ${sm.index}, ${sm.term}, ${JSON.stringify(sm.confState)})
      ON CONFLICT (id) DO UPDATE SET idx = EXCLUDED.idx, term = EXCLUDED.term, conf_state = EXCLUDED.conf_state`);
  }
  return q;
}

