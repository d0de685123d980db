// The embedded database (src/storage/embedded): durable PGlite in a worker thread, spoken to
// through postgres.js. Creating a database costs ~5 s, so one is created in before() and each test
// works on its own copy of that (stopped, checkpointed) data directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startEmbedded, EMBEDDED_CLIENT_OPTIONS, type EmbeddedPostgres } from '../../src/storage/embedded/index.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecd-embedded-'));
const template = path.join(root, 'template');
const writer = path.join(import.meta.dirname, 'fixtures', 'embedded-writer.ts');
const repo = path.resolve(import.meta.dirname, '..', '..');
let copies = 0;

/** A fresh data directory holding a copy of the template database. */
function copyOfTemplate(): string {
  const dir = path.join(root, `db${++copies}`);
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

function connect(db: EmbeddedPostgres) {
  return postgres(db.url, { ...EMBEDDED_CLIENT_OPTIONS });
}

before(async () => {
  const db = await startEmbedded(template);
  // initdb's files were fsynced one by one before the directory was renamed into place
  assert.ok((await db.fsyncCount()) > 100, 'creating a database fsyncs its files');
  await db.stop();
  assert.ok(fs.existsSync(path.join(template, 'PG_VERSION')));
  assert.ok(!fs.existsSync(`${template}.creating`), 'the temporary creation directory is gone');
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('every committed single-row INSERT causes at least one fsync', async () => {
  const db = await startEmbedded(copyOfTemplate());
  const sql = connect(db);
  try {
    await sql`CREATE TABLE t (id bigint PRIMARY KEY, v text)`;
    const N = 50;
    const start = await db.fsyncCount();
    let prev = start;
    for (let i = 0; i < N; i++) {
      await sql`INSERT INTO t VALUES (${i}, 'x')`;
      const now = await db.fsyncCount();
      assert.ok(now > prev, `commit ${i} was acknowledged without an fsync`);
      prev = now;
    }
    assert.ok(prev - start >= N, `${N} commits made only ${prev - start} fsyncs`);

    // the same through the simple protocol (prepare: false) and through sql.begin
    const unprepared = postgres(db.url, { ...EMBEDDED_CLIENT_OPTIONS, prepare: false });
    await sql.end(); // one connection at a time
    try {
      const before = await db.fsyncCount();
      for (let i = N; i < 2 * N; i++) await unprepared`INSERT INTO t VALUES (${i}, 'y')`;
      for (let i = 2 * N; i < 3 * N; i += 5) {
        await unprepared.begin(async (tx) => {
          for (let j = i; j < i + 5; j++) await tx`INSERT INTO t VALUES (${j}, 'z')`;
        });
      }
      assert.ok((await db.fsyncCount()) - before >= N + N / 5);
      const [{ n }] = await unprepared<{ n: number }[]>`SELECT count(*)::int AS n FROM t`;
      assert.equal(n, 3 * N);
    } finally {
      await unprepared.end();
    }
  } finally {
    await sql.end();
    await db.stop();
  }
});

test('prepared statements, sql.begin, rollback and reconnects work through pglite-socket', async () => {
  const db = await startEmbedded(copyOfTemplate());
  let sql = connect(db);
  try {
    await sql`CREATE TABLE kv (k text PRIMARY KEY, v bytea, rev bigint)`;
    // the same prepared statement many times, with parameters of several types
    for (let i = 0; i < 20; i++) {
      await sql`INSERT INTO kv VALUES (${'k' + i}, ${Buffer.from([i, 255])}, ${String(BigInt(i) * 10_000_000_000n)})`;
    }
    const rows = await sql<{ k: string; v: Buffer; rev: string }[]>`SELECT k, v, rev FROM kv WHERE k = ${'k7'}`;
    assert.deepEqual(rows.map((r) => [r.k, [...r.v], r.rev]), [['k7', [7, 255], '70000000000']]);

    // a transaction that commits, one that throws and must leave nothing behind
    await sql.begin(async (tx) => {
      await tx`INSERT INTO kv VALUES ('a', NULL, 1)`;
      await tx`UPDATE kv SET rev = rev + 1 WHERE k = 'a'`;
    });
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`INSERT INTO kv VALUES ('b', NULL, 1)`;
        throw new Error('abort');
      }),
      /abort/,
    );
    // a failing statement inside a transaction, then the connection is still usable
    await assert.rejects(sql.begin(async (tx) => {
      await tx`INSERT INTO kv VALUES ('a', NULL, 1)`; // duplicate key
    }), /duplicate key/);
    assert.deepEqual([...await sql`SELECT k, rev::int FROM kv WHERE k IN ('a', 'b') ORDER BY k`], [{ k: 'a', rev: 2 }]);

    // pipelined: sql.begin returning its statements unawaited (all sent in one round trip)
    const fBefore = await db.fsyncCount();
    await sql.begin((tx) => [
      tx`INSERT INTO kv VALUES ('p1', NULL, 1)`,
      tx`INSERT INTO kv VALUES ('p2', NULL, 2)`,
      tx`UPDATE kv SET rev = rev + 10 WHERE k IN ('p1', 'p2')`,
    ]);
    assert.ok((await db.fsyncCount()) > fBefore, 'a pipelined transaction fsyncs its commit');
    assert.deepEqual([...await sql`SELECT k, rev::int FROM kv WHERE k LIKE 'p%' ORDER BY k`], [{ k: 'p1', rev: 11 }, { k: 'p2', rev: 12 }]);
    // pipelined queries outside a transaction, and one failing in the middle of a pipeline
    const settled = await Promise.allSettled([
      sql`SELECT 1 AS x`,
      sql`SELECT 1 / 0 AS y`,
      sql`SELECT 3 AS z`,
    ]);
    assert.deepEqual(settled.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    await sql`DELETE FROM kv WHERE k LIKE 'p%'`;

    // an array-fed prepared batch insert, the shape the hot path uses
    const ks = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const revs = ks.map((_, i) => String(i));
    await sql`INSERT INTO kv (k, rev) SELECT * FROM unnest(${ks}::text[], ${revs}::bigint[])`;
    assert.equal((await sql`SELECT count(*)::int AS n FROM kv`)[0]!.n, 121);

    // the client goes away and a new one connects (the server admits one connection at a time)
    await sql.end();
    sql = connect(db);
    assert.equal((await sql`SELECT count(*)::int AS n FROM kv WHERE k LIKE ${'u%'}`)[0]!.n, 100);
    // a client dropped in the middle of a transaction: its transaction is rolled back
    const [{ pid }] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    assert.ok(typeof pid === 'number');
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`INSERT INTO kv VALUES ('dropped', NULL, 1)`;
        await sql.end({ timeout: 0 }); // kills the socket under the open transaction
        await tx`SELECT 1`;
      }),
    );
    sql = connect(db);
    assert.equal((await sql`SELECT count(*)::int AS n FROM kv WHERE k = 'dropped'`)[0]!.n, 0);
    assert.equal((await sql`SELECT 1 AS one`)[0]!.one, 1);
  } finally {
    await sql.end();
    await db.stop();
  }
});

test('one connection at a time: immediate reconnects are admitted, a second concurrent one is refused', async () => {
  const db = await startEmbedded(copyOfTemplate());
  try {
    // a client killed with a query in flight, and a new one connecting at once (this used to be
    // reset by the server while the old socket was still being released)
    for (let i = 0; i < 10; i++) {
      const sql = connect(db);
      assert.equal((await sql`SELECT ${i}::int AS i`)[0]!.i, i);
      const inflight = sql`SELECT pg_sleep(0.01)`.catch(() => {});
      await sql.end({ timeout: 0 });
      await inflight;
    }
    // a misconfigured pool (max: 2) gets a Postgres error on its second connection, not a hang
    const two = postgres(db.url, { ...EMBEDDED_CLIENT_OPTIONS, max: 2 });
    // (whichever of its two connections reaches the server first keeps the slot)
    const results = await Promise.allSettled([two`SELECT pg_sleep(2.5)`, two`SELECT 2`]);
    await two.end();
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(rejected.length, 1, `expected one refused connection: ${results.map((r) => r.status)}`);
    assert.match(String(rejected[0]!.reason), /one connection at a time/);
  } finally {
    await db.stop();
  }
});

test('rows survive stop and reopen', async () => {
  const dir = copyOfTemplate();
  let db = await startEmbedded(dir);
  // a second instance on the same directory would corrupt it
  await assert.rejects(startEmbedded(dir), /already open in this process/);
  let sql = connect(db);
  await sql`CREATE TABLE r (id int PRIMARY KEY)`;
  await sql`INSERT INTO r SELECT generate_series(1, 1000)`;
  await sql.end();
  await db.stop();

  db = await startEmbedded(dir);
  sql = connect(db);
  try {
    assert.deepEqual([...await sql`SELECT count(*)::int AS n, sum(id)::int AS s FROM r`], [{ n: 1000, s: 500500 }]);
  } finally {
    await sql.end();
    await db.stop();
  }
});

test('a non-empty directory without a database is refused', async () => {
  const dir = path.join(root, 'not-a-db');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'something'), 'x');
  await assert.rejects(startEmbedded(dir), /not empty/);
});

/** Spawns the writer, waits until it has acknowledged ids for runMs, then SIGKILLs it. */
async function killWriterMidStream(dir: string, runMs: number): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  const deadline = Date.now() + 30_000;
  while (!out.includes('ready\n')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`writer did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, runMs));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', `writer died before the kill: ${err}`);
  const complete = out.slice(out.indexOf('ready\n') + 6, out.lastIndexOf('\n') + 1);
  return complete.split('\n').filter(Boolean).map(Number);
}

test('SIGKILL mid-stream loses no acknowledged commit', async () => {
  const dir = copyOfTemplate();
  const acked: number[] = [];
  for (let round = 0; round < 2; round++) {
    const ids = await killWriterMidStream(dir, 1500);
    assert.ok(ids.length > 50, `round ${round}: only ${ids.length} commits acknowledged`);
    acked.push(...ids);

    const db = await startEmbedded(dir); // crash recovery
    const sql = connect(db);
    try {
      const rows = await sql<{ id: string }[]>`SELECT id FROM acked`;
      const present = new Set(rows.map((r) => Number(r.id)));
      const lost = acked.filter((id) => !present.has(id));
      assert.deepEqual(lost.slice(0, 10), [], `round ${round}: ${lost.length} of ${acked.length} acknowledged ids lost`);
    } finally {
      await sql.end();
      await db.stop();
    }
  }
});

test('the worker also loads when the parent runs under the tsx CLI (npm start)', async () => {
  const dir = copyOfTemplate();
  const tsxCli = path.join(repo, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsxCli, [writer, dir, 'once'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, err);
  assert.match(out, /committed 1\nstopped\n/);
});

test("the main thread's event loop keeps running while the database is busy", async () => {
  const db = await startEmbedded(copyOfTemplate());
  const sql = connect(db);
  try {
    await sql`CREATE TABLE busy (id int, v text)`;
    let ticks = 0;
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const t0 = performance.now();
    try {
      // one long query (runs ~1 s inside PGlite without yielding) ...
      await sql`SELECT count(*) FROM generate_series(1, 3000000) g, LATERAL (SELECT g % 7) x`;
      // ... and a loop of small ones
      for (let i = 0; i < 300; i++) await sql`INSERT INTO busy VALUES (${i}, 'v')`;
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - t0;
    assert.ok(elapsed > 300, `the workload was too short to prove anything (${elapsed.toFixed(0)} ms)`);
    // a 10 ms timer should fire about elapsed/10 times; allow for a loaded 2-core CI machine
    assert.ok(ticks >= elapsed / 10 / 3, `only ${ticks} ticks in ${elapsed.toFixed(0)} ms`);
    assert.ok(maxGap < 250, `the event loop stalled for ${maxGap.toFixed(0)} ms`);
  } finally {
    await sql.end();
    await db.stop();
  }
});
