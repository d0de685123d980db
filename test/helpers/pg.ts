import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { unixSocket } from '../../src/storage/db.ts';

/** The machine's Postgres (CI has it at 127.0.0.1:5432, trust auth). */
export const PG_ADMIN_URL = process.env.EDGECD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database for one test member; drop() removes it. */
export async function createTestDatabase(prefix = 'edgecd_t'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = adminClient(PG_ADMIN_URL);
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = adminClient(PG_ADMIN_URL);
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

function adminClient(url: string) {
  const { url: u, path } = unixSocket(url);
  return postgres(u, { max: 1, path, onnotice: () => {} });
}
