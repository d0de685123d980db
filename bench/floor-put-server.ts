// The least a durable put can cost on Node and Postgres (bench/floor.ts --workload put): a node:http
// server that reads each put, appends it as one row to a log table in its own database (one
// multi-row insert per batch, synchronous_commit on, so the answer waits for the WAL's fsync) and
// answers with etcd's header. No raft, no MVCC, no second row, no routing. As a leader it also posts
// each batch to its followers (the same append, over keep-alive HTTP) and answers once its own
// commit and one follower's have both landed: a three-member quorum's least work.
// With `embedded:<dir>` for its database it writes to PGlite as a member does (a worker thread,
// fsynced, reached through postgres.js).
// With EDGECD_FLOOR_ROWS=batch a whole batch is one row (one JSON array), the least a log can write.
// argv: role (single|leader|follower) port databaseUrl|embedded:<dir> [followerUrls,comma-separated]
import http from 'node:http';
import postgres from 'postgres';
import { EMBEDDED_CLIENT_OPTIONS, startEmbedded } from '../src/storage/embedded/index.ts';
import { unixSocket } from '../src/storage/db.ts';

const [role, portArg, dbUrl, followerArg] = process.argv.slice(2);
const followers = followerArg ? followerArg.split(',') : [];
const embedded = dbUrl.startsWith('embedded:') ? await startEmbedded(dbUrl.slice('embedded:'.length)) : undefined;
const socket = unixSocket(dbUrl);
const sql = embedded ? postgres(embedded.url, { ...EMBEDDED_CLIENT_OPTIONS }) : postgres(socket.url, { max: 1, path: socket.path, onnotice: () => {} });
const rowPerBatch = process.env.EDGECD_FLOOR_ROWS === 'batch';
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let index = 0;
let revision = 1000;
const header = () => `{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"${revision}","raft_term":"2"}}`;

// One insert in flight at a time; what arrives meanwhile goes in the next batch (group commit).
let queue: { rows: string[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
let writing = false;
function append(rows: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    queue.push({ rows, resolve, reject });
    if (!writing) flush();
  });
}
async function flush() {
  writing = true;
  while (queue.length) {
    const batch = queue;
    queue = [];
    const idx: number[] = [];
    const data: string[] = [];
    for (const b of batch) for (const r of b.rows) { idx.push(++index); data.push(r); }
    try {
      if (rowPerBatch) await sql`INSERT INTO floor_log (idx, data) VALUES (${idx[idx.length - 1]}, ${JSON.stringify(data)})`;
      else await sql`INSERT INTO floor_log (idx, data) SELECT * FROM unnest(${`{${idx.join(',')}}`}::bigint[], ${data}::text[])`;
      for (const b of batch) b.resolve();
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
  writing = false;
}

function replicate(rows: string[]): Promise<void> {
  const body = JSON.stringify(rows);
  return new Promise((resolve, reject) => {
    let left = Math.min(1, followers.length);
    if (left === 0) return resolve();
    for (const f of followers) {
      const req = http.request(f, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => { if (--left === 0) resolve(); });
      });
      req.on('error', reject);
      req.end(body);
    }
  });
}

// A leader ships what arrived in one turn of the event loop as one message to each follower.
let pending: { row: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
function propose(row: string): Promise<void> {
  return new Promise((resolve, reject) => {
    pending.push({ row, resolve, reject });
    if (pending.length === 1) setImmediate(() => {
      const batch = pending;
      pending = [];
      const rows = batch.map((p) => p.row);
      Promise.all([append(rows), replicate(rows)]).then(() => { revision += rows.length; for (const p of batch) p.resolve(); }, (e) => { for (const p of batch) p.reject(e); });
    });
  });
}

function body(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function main(): Promise<void> {
  process.on('SIGTERM', async () => {
    await sql.end({ timeout: 2 });
    await embedded?.stop();
    process.exit(0);
  });
  await sql`CREATE TABLE IF NOT EXISTS floor_log (idx bigint PRIMARY KEY, data text NOT NULL)`;
  http.createServer(async (req, res) => {
    const text = await body(req);
    try {
      if (req.url === '/append') {
        await append(JSON.parse(text));
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{}');
      }
      const put = JSON.parse(text || '{}');
      if (req.url === '/v3/kv/put') await propose(`${put.key} ${put.value}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(header());
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  }).listen(Number(portArg), '127.0.0.1');
}
await main();
