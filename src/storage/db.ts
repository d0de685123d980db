import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import * as schema from './schema.ts';

export type Sql = postgres.Sql;
export type Db = PostgresJsDatabase<typeof schema>;

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export interface Connection {
  sql: Sql;
  db: Db;
  /** A connection of its own for the applied lane, which never waits for a flush (when the server takes more than one). */
  applied?: Sql;
  /**
   * A connection of its own for the log lane (with the applied lane): log writes may be pipelined,
   * and one connection commits them in the order they were sent, so a crash never leaves a gap.
   */
  log?: Sql;
  close(): Promise<void>;
}

/**
 * One postgres.js client per member. `max` stays 1 for the embedded server (it serves one
 * connection); the write path is one transaction at a time anyway.
 */
export async function connect(url: string, opts: postgres.Options<Record<string, postgres.PostgresType>> & { appliedLane?: boolean } = {}): Promise<Connection> {
  const { appliedLane, ...rest } = opts;
  ({ url, path: rest.path } = unixSocket(url, rest.path));
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'edgecd' },
    ...rest,
  });
  const db = drizzle(sql, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  // synchronous_commit is set for the session, so an applied batch is one statement, not a transaction block.
  const lane = (name: string, extra: Record<string, string> = {}) =>
    postgres(url, { max: 1, path: rest.path, onnotice: () => {}, connection: { application_name: name, ...extra } });
  const applied = appliedLane ? lane('edgecd-applied', { synchronous_commit: 'off' }) : undefined;
  const log = appliedLane ? lane('edgecd-log') : undefined;
  return {
    sql,
    db,
    applied,
    log,
    close: async () => {
      await log?.end({ timeout: 5 });
      await applied?.end({ timeout: 5 });
      await sql.end({ timeout: 5 });
    },
  };
}

/**
 * A FROM item `(...) AS blob` whose column b holds these bytes, for an insert to cut rows out of by
 * offset (large text arrays cost far more to build, send and parse). The bytes go as base64 text
 * the server decodes: postgres.js sends a bytea as hex, which took this process twice the CPU (an
 * insert of 28 log entries: 372 / 232 us against 198 / 162). OFFSET 0 keeps the decoding in its
 * subquery: pulled up into the select list, a generic plan would decode the whole blob once per row.
 */
export function blobFrom(tx: Sql | postgres.TransactionSql, bytes: Buffer): postgres.PendingQuery<postgres.Row[]> {
  return tx`(SELECT decode(${bytes.toString('base64')}::text, 'base64') AS b OFFSET 0) AS blob`;
}

/**
 * A Postgres array literal of integers ('{1,2,3}') for a statement to cast (::bigint[], ::int[]):
 * postgres.js would escape each element of a JS array with two regex replaces and quote it, which
 * measured 40-120 us more of this process's CPU for one 28-row log insert (each run of 2,000).
 */
export const intArray = (xs: readonly (number | bigint)[]): string => `{${xs.join(',')}}`;

/**
 * libpq's way to name a Unix socket, `postgres://user@/db?host=/var/run/postgresql`, which
 * postgres.js does not read. A local socket costs far less per statement than loopback TCP.
 */
export function unixSocket(url: string, path?: string): { url: string; path?: string } {
  if (!/[?&]host=\//.test(url)) return { url, path };
  // WHATWG URLs need a host name where libpq allows none.
  const u = new URL(url.replace(/^(postgres(?:ql)?:\/\/(?:[^@/]*@)?)(?=\/)/, '$1localhost'));
  const host = u.searchParams.get('host');
  if (!host?.startsWith('/')) return { url, path };
  u.searchParams.delete('host');
  u.hostname = 'localhost';
  return { url: u.toString(), path: path ?? `${host}/.s.PGSQL.${u.port || 5432}` };
}
