import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, unixSocket } from '../../src/storage/db.ts';
import { createTestDatabase } from '../helpers/pg.ts';

test('a libpq-style host=/dir names a Unix socket; other URLs pass unchanged', () => {
  assert.deepEqual(unixSocket('postgres://postgres@/db?host=/var/run/postgresql'), { url: 'postgres://postgres@localhost/db', path: '/var/run/postgresql/.s.PGSQL.5432' });
  assert.deepEqual(unixSocket('postgresql://u@h:6000/db?host=/tmp&sslmode=disable'), { url: 'postgresql://u@localhost:6000/db?sslmode=disable', path: '/tmp/.s.PGSQL.6000' });
  assert.deepEqual(unixSocket('postgres://a:b@127.0.0.1:5433/x'), { url: 'postgres://a:b@127.0.0.1:5433/x', path: undefined });
});

test('a member database is reached over the Unix socket, applied lane included', async () => {
  const db = await createTestDatabase();
  const name = new URL(db.url).pathname.slice(1);
  const conn = await connect(`postgres://postgres@/${name}?host=/var/run/postgresql`, { max: 1, appliedLane: true });
  try {
    // Over a socket, the server sees no client address.
    assert.deepEqual([...(await conn.sql`SELECT inet_client_addr() AS a`)], [{ a: null }]);
    assert.deepEqual([...(await conn.applied!`SELECT current_setting('synchronous_commit') AS s`)], [{ s: 'off' }]);
  } finally {
    await conn.close();
    await db.drop();
  }
});
