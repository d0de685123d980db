import { createHash } from 'node:crypto';
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
        version::text AS ver, lease::text AS l, tombstone FROM kv ORDER BY kv.main, kv.sub`.cursor(2000, async (rows) => {
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


/** The last line of a snapshot file saved for operators: a sha256 of every byte before it. */
export interface SnapshotSeal {
  sha256: string;
}

/** Wraps a line writer so that the lines end with their seal (checked by inspectSnapshot). */
export function sealing(write: (line: string) => Promise<void>): { write: (line: string) => Promise<void>; seal: () => Promise<void> } {
  const hash = createHash('sha256');
  return {
    write: (line) => {
      hash.update(line + '\n');
      return write(line);
    },
    seal: () => write(JSON.stringify({ sha256: hash.digest('hex') } satisfies SnapshotSeal)),
  };
}

export interface SnapshotStatus {
  /** Whether the seal matches the content (false also when there is none). */
  intact: boolean;
  sha256: string;
  /** The store's revision and its compaction when the snapshot was taken. */
  revision: number;
  compactRevision: number;
  /** Live keys, and revision rows in all. */
  totalKeys: number;
  totalRevisions: number;
  totalSize: number;
}

/** Reads a snapshot file through: its seal, revision and size (etcdctl's snapshot status). */
export async function inspectSnapshot(file: string): Promise<SnapshotStatus> {
  const hash = createHash('sha256');
  let sealed: string | undefined;
  let revision = 0;
  let compactRevision = -1;
  let totalRevisions = 0;
  let totalSize = 0;
  const live = new Map<string, boolean>();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    totalSize += Buffer.byteLength(line) + 1;
    const rec = JSON.parse(line);
    if (rec.sha256 !== undefined) {
      sealed = rec.sha256;
      continue;
    }
    // Anything after a seal is not covered by it.
    if (sealed !== undefined) sealed = '';
    hash.update(line + '\n');
    if (rec.meta) {
      revision = Number(rec.meta.revision ?? 0);
      compactRevision = Number(rec.meta.compact_rev ?? -1);
    } else if (rec.kvs) {
      for (const [main, , k, , , , , tombstone] of rec.kvs as [string, number, string, string, string, string, string, boolean][]) {
        totalRevisions++;
        live.set(k, !tombstone);
        if (Number(main) > revision) revision = Number(main);
      }
    }
  }
  const sha256 = hash.digest('hex');
  let totalKeys = 0;
  for (const v of live.values()) if (v) totalKeys++;
  return { intact: sealed === sha256, sha256, revision, compactRevision, totalKeys, totalRevisions, totalSize };
}
