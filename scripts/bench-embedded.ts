// Write speed of the embedded (durable PGlite) database through postgres.js, to compare with the
// table in /work/shared/ARCHITECTURE.md ("Group commit decides the write speed").
//   npx tsx scripts/bench-embedded.ts [seconds-per-case=3] [dataDir]
// Rows go into log(idx bigint, term bigint, data bytea) with 100-byte payloads, committed
// 1, 10, 100, 1000 rows per transaction, two ways:
//   unnest: one prepared INSERT ... SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
//   begin:  sql.begin() with one prepared single-row INSERT per row
// Prints rows/s and fsyncs per commit. Without a dataDir it creates a throwaway database (~5 s).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startEmbedded, EMBEDDED_CLIENT_OPTIONS } from '../src/storage/embedded/index.ts';

const seconds = Number(process.argv[2] ?? 3);
const given = process.argv[3];
const dir = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'edgecd-bench-embedded-'));

const db = await startEmbedded(given ? dir : path.join(dir, 'pg'));
const sql = postgres(db.url, { ...EMBEDDED_CLIENT_OPTIONS });
await sql`DROP TABLE IF EXISTS log`;
await sql`CREATE TABLE log (idx bigint PRIMARY KEY, term bigint NOT NULL, data bytea NOT NULL)`;

const payload = Buffer.alloc(100, 7);
let idx = 0;

async function unnestBatch(n: number) {
  const idxs: string[] = [];
  const terms: string[] = [];
  const datas: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    idxs.push(String(++idx));
    terms.push('1');
    datas.push(payload);
  }
  await sql`INSERT INTO log (idx, term, data) SELECT * FROM unnest(${idxs}::bigint[], ${terms}::bigint[], ${sql.array(datas, 17)}::bytea[])`;
}

async function beginBatch(n: number) {
  await sql.begin(async (tx) => {
    for (let i = 0; i < n; i++) await tx`INSERT INTO log (idx, term, data) VALUES (${++idx}, 1, ${payload})`;
  });
}

async function run(name: string, n: number, fn: (n: number) => Promise<void>) {
  for (let i = 0; i < 3; i++) await fn(n); // warm-up: statement preparation
  const f0 = await db.fsyncCount();
  const t0 = performance.now();
  let commits = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await fn(n);
    commits++;
  }
  const ms = performance.now() - t0;
  const fsyncs = (await db.fsyncCount()) - f0;
  const rowsPerSec = (commits * n * 1000) / ms;
  console.log(
    `${name.padEnd(6)} ${String(n).padStart(5)} rows/txn: ${rowsPerSec.toFixed(0).padStart(7)} rows/s, ` +
      `${((commits * 1000) / ms).toFixed(0).padStart(5)} commits/s, ${(fsyncs / commits).toFixed(2)} fsyncs/commit`,
  );
}

try {
  for (const n of [1, 10, 100, 1000]) await run('unnest', n, unnestBatch);
  for (const n of [1, 10, 100]) await run('begin', n, beginBatch);
} finally {
  await sql.end();
  await db.stop();
  if (!given) fs.rmSync(dir, { recursive: true, force: true });
}
