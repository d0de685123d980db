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
  close(): Promise<void>;
}

/**
 * One postgres.js client per member. `max` stays 1 for the embedded server (it serves one
 * connection); the write path is one transaction at a time anyway.
 */
export async function connect(url: string, opts: postgres.Options<Record<string, postgres.PostgresType>> = {}): Promise<Connection> {
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'edgecd' },
    ...opts,
  });
  const db = drizzle(sql, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}
