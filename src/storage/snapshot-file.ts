import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type postgres from 'postgres';
import type { Sql } from './db.ts';

/**
 * The snapshot file a leader streams to a follower that fell behind its log: NDJSON lines of
 * {meta}, {lease: [id, ttl, remaining]}, {member}, then {kvs: [[main, sub, keyHex, valueHex,
 * createRev, version, lease, tombstone], ...]} in revision order.
 */

/**
 * Streams the applied state (meta, leases, members, every kv row) as NDJSON lines, read in one
 * repeatable-read transaction so it is the state at exactly one applied index.
 */
export async function exportSnapshot(sql: Sql, write: (line: string) => Promise<void>): Promise<number> {
  let applied = 0;
  await sql.begin('isolation level repeatable read', async (tx) => {
    const meta = Object.fromEntries((await tx`SELECT name, value FROM meta`).map((r) => [r.name, r.value]));
    applied = Number(meta.consistent_index ?? 0);
    await write(JSON.stringify({ meta }));
    for (const l of await tx`SELECT id::text AS id, ttl::float8 AS ttl, remaining::float8 AS remaining FROM leases`) {
      await write(JSON.stringify({ lease: [l.id, l.ttl, l.remaining] }));
    }
    for (const m of await tx`SELECT id::text AS id, name, peer_urls, client_urls, is_learner FROM members`) await write(JSON.stringify({ member: m }));
    await tx`SELECT main::text AS main, sub, encode(key, 'hex') AS k, encode(value, 'hex') AS v, create_rev::text AS c,
        version::text AS ver, lease::text AS l, tombstone FROM kv ORDER BY main, sub`.cursor(2000, async (rows) => {
      await write(JSON.stringify({ kvs: rows.map((r) => [r.main, r.sub, r.k, r.v, r.c, r.ver, r.l, r.tombstone]) }));
    });
  });
  return applied;
}

/** Replaces the whole applied state with a snapshot file written from exportSnapshot's lines. */
export async function installSnapshot(tx: postgres.TransactionSql, file: string): Promise<void> {
  await tx`TRUNCATE kv, leases, members, raft_log`;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    const rec = JSON.parse(line);
    if (rec.meta) {
      for (const [name, value] of Object.entries(rec.meta)) {
        if (name === 'member_id') continue; // our own identity stays ours
        await tx`INSERT INTO meta (name, value) VALUES (${name}, ${String(value)}) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`;
      }
    } else if (rec.lease) await tx`INSERT INTO leases (id, ttl, remaining) VALUES (${rec.lease[0]}, ${rec.lease[1]}, ${rec.lease[2] ?? 0})`;
    else if (rec.member) {
      const m = rec.member;
      await tx`INSERT INTO members (id, name, peer_urls, client_urls, is_learner) VALUES (${m.id}, ${m.name}, ${m.peer_urls}, ${m.client_urls}, ${m.is_learner})`;
    } else if (rec.kvs) {
      const r = rec.kvs as [string, number, string, string, string, string, string, boolean][];
      await tx`INSERT INTO kv (main, sub, key, value, create_rev, version, lease, tombstone)
        SELECT m, s, decode(k, 'hex'), decode(v, 'hex'), c, ver, l, t::bool FROM unnest(
          ${r.map((x) => x[0])}::bigint[], ${r.map((x) => x[1])}::int[], ${r.map((x) => x[2])}::text[], ${r.map((x) => x[3])}::text[],
          ${r.map((x) => x[4])}::bigint[], ${r.map((x) => x[5])}::bigint[], ${r.map((x) => x[6])}::bigint[],
          ${r.map((x) => (x[7] ? 't' : 'f'))}::text[]) AS u(m, s, k, v, c, ver, l, t)`;
    }
  }
}

