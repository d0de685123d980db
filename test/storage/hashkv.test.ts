import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { connect } from '../../src/storage/db.ts';
import { PgStateStore } from '../../src/storage/state-store.ts';
import type { RevisionRow } from '../../src/storage/rows.ts';
import { createTestDatabase } from '../helpers/pg.ts';

/** hashKV in Postgres: equal histories hash alike whether compaction deleted its rows yet or not; one changed byte shows. */

const row = (main: number, key: string, value: string, o: Partial<RevisionRow> = {}): RevisionRow => ({ main, sub: 0, key, value, createRev: main, version: 1, lease: 0n, tombstone: false, ...o });

const history: RevisionRow[] = [
  row(2, 'a', 'one'),
  row(3, 'b', 'x'),
  row(4, 'a', 'two', { createRev: 2, version: 2 }),
  row(5, 'b', '', { createRev: 0, version: 0, tombstone: true }),
  row(6, 'c', '\u00ff\u0000bin', { lease: 7n }),
  row(7, 'a', 'three', { createRev: 2, version: 3 }),
];

test('hashKV: logical compaction, revision bounds, and a corrupted value', async () => {
  const dbs = [await createTestDatabase(), await createTestDatabase()];
  const conns = await Promise.all(dbs.map((d) => connect(d.url)));
  try {
    const [a, b] = conns.map((c) => new PgStateStore(c));
    const batch = { rows: history, compactions: [] as number[], appliedIndex: 10, revision: 7 };
    await a.commitApplied(batch);
    await b.commitApplied({ ...batch, compactions: [5], compactRev: 5 });
    assert.equal(await a.hashKV(7, -1), await a.hashKV(7, -1), 'stable');
    assert.equal(await a.hashKV(7, 5), await b.hashKV(7, 5), 'compacted physically or not: the same history');
    assert.notEqual(await a.hashKV(7, -1), await a.hashKV(7, 5), 'compaction changes what history holds');
    assert.notEqual(await a.hashKV(6, 5), await a.hashKV(7, 5), 'the revision bounds the rows');
    const before = await b.hashKV(7, 5);
    await conns[0].sql`UPDATE kv SET value = 'xx' WHERE main = 3`;
    assert.equal(await a.hashKV(7, 5), before, 'a row compaction made obsolete (still there physically) does not count');
    await conns[1].sql`UPDATE kv SET value = 'thr3e' WHERE main = 7`;
    assert.notEqual(await b.hashKV(7, 5), before, 'a changed live value shows');
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await Promise.all(dbs.map((d) => d.drop()));
  }
});

test('defragment gives the space of compacted rows back while the hash stays', { timeout: 60_000 }, async () => {
  const db = await createTestDatabase();
  const conn = await connect(db.url, { max: 2, appliedLane: true });
  try {
    const s = new PgStateStore(conn);
    // Incompressible, so TOAST cannot shrink them out of the measurement.
    const big = () => randomBytes(2000).toString('latin1');
    for (let b = 0; b < 10; b++) {
      const rows = Array.from({ length: 500 }, (_, i) => row(2 + b * 500 + i, `k${i}`, big(), { createRev: 2 + i, version: b + 1 }));
      await s.commitApplied({ rows, compactions: [], appliedIndex: b + 1, revision: 1 + (b + 1) * 500 });
    }
    const top = 1 + 10 * 500;
    await s.commitApplied({ rows: [], compactions: [top], compactRev: top, appliedIndex: 11, revision: top });
    const hash = await s.hashKV(top, top);
    const before = await s.databaseSize();
    await s.defragment();
    const after = await s.databaseSize();
    assert.ok(after < before - 4_000_000, `${before} -> ${after} bytes: nine tenths of the rows were compacted away`);
    assert.equal(await s.hashKV(top, top), hash);
  } finally {
    await conn.close();
    await db.drop();
  }
});
