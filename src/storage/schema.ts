import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, pgTable, primaryKey, smallint, text } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

const int64 = (name: string) => bigint(name, { mode: 'number' });

/** Raft log entries not yet compacted away. kind: 0 normal, 1 conf change. */
export const raftLog = pgTable('raft_log', {
  idx: int64('idx').primaryKey(),
  term: int64('term').notNull(),
  kind: smallint('kind').notNull(),
  data: bytea('data').notNull(),
});

/** Raft hard state: one row (id = 1). */
export const raftState = pgTable('raft_state', {
  id: smallint('id').primaryKey(),
  term: int64('term').notNull(),
  vote: text('vote').notNull(),
  commit: int64('commit').notNull(),
});

/** The latest raft snapshot's metadata (one row); its data is the MVCC state in the kv table. */
export const raftSnapshot = pgTable('raft_snapshot', {
  id: smallint('id').primaryKey(),
  idx: int64('idx').notNull(),
  term: int64('term').notNull(),
  confState: text('conf_state').notNull(),
});

/** Small named values: consistent_index, compact_rev, cluster and member ids. */
export const meta = pgTable('meta', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

/**
 * Every MVCC revision not yet compacted: one row per (main, sub), tombstones included. Rows are
 * found by key through md5(key): a btree refuses index rows over 2,704 bytes, and etcd keys may be
 * far longer.
 */
export const kv = pgTable(
  'kv',
  {
    main: int64('main').notNull(),
    sub: integer('sub').notNull(),
    key: bytea('key').notNull(),
    value: bytea('value').notNull(),
    createRev: int64('create_rev').notNull(),
    version: int64('version').notNull(),
    lease: bigint('lease', { mode: 'bigint' }).notNull(),
    tombstone: boolean('tombstone').notNull(),
  },
  (t) => [primaryKey({ columns: [t.main, t.sub] }), index('kv_keyhash_rev').on(sql`md5(${t.key})`, t.main, t.sub)],
);

/** Leases granted and not yet revoked; the keys they hold are found from the kv rows. */
export const leases = pgTable('leases', {
  id: bigint('id', { mode: 'bigint' }).primaryKey(),
  ttl: int64('ttl').notNull(),
  /** Seconds left at the last checkpoint (0 = never checkpointed). */
  remaining: int64('remaining').notNull().default(0),
});

/** The cluster's members as this member last applied them (peer and client URLs as JSON arrays). */
export const members = pgTable('members', {
  id: bigint('id', { mode: 'bigint' }).primaryKey(),
  name: text('name').notNull(),
  peerUrls: text('peer_urls').notNull(),
  clientUrls: text('client_urls').notNull(),
  isLearner: boolean('is_learner').notNull(),
});
