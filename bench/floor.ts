// npm run bench:floor -- [--workload range|put] [--store postgres|embedded] [--rows put|batch] [--clients 64] [--seconds 8] [--rounds 2]
// What no Node gateway can beat on this machine, beside etcd in the same run: node:http servers
// that read each body, JSON.parse it and answer a fixed JSON (no routing, no member, no database),
// in 1, 2 and 3 processes sharing the port (node:cluster), driven by the same wrk as `npm run bench`
// with etcd's single member measured between them. The ratio of a floor to etcd is the most a
// gateway on Node could reach for that workload here.
// --workload put: instead a durable log (bench/floor-put-server.ts: each put one row, group commit,
// fsynced) on the machine's Postgres or, with --store embedded, on PGlite as members use it, on one
// member and as a leader with two followers, beside etcd's one and three members: what no design
// that writes each put durably to that store from Node can beat on these cores. --rows batch writes
// each group commit as a single row instead of a row per put.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/helpers/pg.ts';
import { freePort } from '../test/helpers/server.ts';
import { cpuSeconds, postgresPidsFor } from './procs.ts';
import { haveEtcd, startEtcdTarget } from './targets.ts';
import { drive, preload, type Workload } from './workloads.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const workload = arg('workload', 'range') as Workload;
const clients = Number(arg('clients', '64'));
const seconds = Number(arg('seconds', '8'));
const rounds = Number(arg('rounds', '2'));
const store = arg('store', 'postgres') as 'postgres' | 'embedded';
const rows = arg('rows', 'put') as 'put' | 'batch';
if (!['put', 'range', 'range-serializable'].includes(workload) || !['postgres', 'embedded'].includes(store) || !['put', 'batch'].includes(rows)) {
  console.error('bench:floor: --workload put|range|range-serializable, --store postgres|embedded, --rows put|batch');
  process.exit(2);
}
if (workload !== 'put' && (process.argv.includes('--store') || process.argv.includes('--rows'))) {
  console.error('bench:floor: --store and --rows apply to --workload put only (the range floor has no database)');
  process.exit(2);
}

// Plain CommonJS so it runs with no loader; a range's answer of one 256-byte value, as etcd sends.
const SERVER = `
const cluster = require('node:cluster');
const http = require('node:http');
const n = Number(process.argv[2]);
const port = Number(process.argv[3]);
const answer = JSON.stringify({ header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '1001', raft_term: '2' },
  kvs: [{ key: Buffer.from('bench/key/000123').toString('base64'), create_revision: '2', mod_revision: '2', version: '1', value: Buffer.alloc(256, 118).toString('base64') }], count: '1' });
if (cluster.isPrimary && n > 1) for (let i = 0; i < n; i++) cluster.fork();
else http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(answer);
  });
}).listen(port, '127.0.0.1');
`;

/** Waits until a floor server answers (an embedded database takes seconds to open). */
async function up(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${url}/v3/kv/range`, { method: 'POST', body: '{}' }).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

async function bare(processes: number): Promise<number> {
  const file = path.join(os.tmpdir(), 'edgecd-bench-floor.cjs');
  writeFileSync(file, SERVER);
  const port = await freePort();
  const p: ChildProcess = spawn(process.execPath, [file, String(processes), String(port)], { stdio: 'ignore' });
  try {
    const url = `http://127.0.0.1:${port}`;
    await up(url);
    return (await drive([url], workload, clients, seconds, 'wrk')).rps;
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }
}

interface Measured {
  rps: number;
  /** CPU ms per request of the system's processes (and its Postgres backends), not the load generator's. */
  cpuMs: number;
}

async function measured(pids: number[], run: () => Promise<number>): Promise<Measured> {
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  const rps = await run();
  const cpu = pids.reduce((sum, p, i) => sum + Math.max(0, cpuSeconds(p) - before[i]), 0);
  const requests = (rps * (performance.now() - t0)) / 1000;
  return { rps, cpuMs: (cpu * 1000) / requests };
}

/** The durable-log floor with `members` processes (one leader; followers answer the leader's appends). */
async function durable(members: number): Promise<Measured> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'floor-put-server.ts');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'edgecd-floor-'));
  const dbs =
    store === 'embedded'
      ? Array.from({ length: members }, (_, i) => ({ url: `embedded:${path.join(tmp, `m${i}`)}`, drop: async () => {} }))
      : await Promise.all(Array.from({ length: members }, () => createTestDatabase('edgecd_floor')));
  const ports: number[] = [];
  for (const _ of dbs) ports.push(await freePort());
  const procs: ChildProcess[] = [];
  try {
    for (let i = members - 1; i >= 0; i--) {
      const role = members === 1 ? 'single' : i === 0 ? 'leader' : 'follower';
      const followers = i === 0 ? ports.slice(1).map((p) => `http://127.0.0.1:${p}/append`).join(',') : '';
      procs.push(spawn(process.execPath, ['--import', 'tsx', file, role, String(ports[i]), dbs[i].url, followers], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, EDGECD_FLOOR_ROWS: rows } }));
      await up(`http://127.0.0.1:${ports[i]}`);
    }
    const pids = [...procs.map((p) => p.pid!), ...(store === 'postgres' ? await postgresPidsFor(dbs.map((d) => d.url)) : [])];
    return await measured(pids, async () => (await drive([`http://127.0.0.1:${ports[0]}`], workload, clients, seconds, 'wrk')).rps);
  } finally {
    for (const p of procs) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
    await Promise.all(dbs.map((d) => d.drop()));
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function etcd(members = 1): Promise<Measured> {
  const t = await startEtcdTarget(members);
  try {
    await preload(t.urls[0]);
    return await measured(t.pids(), async () => (await drive(t.urls, workload, clients, seconds, 'wrk')).rps);
  } finally {
    await t.stop();
  }
}

if (!haveEtcd()) {
  console.error('bench:floor needs etcd on the PATH (apt-get install -y etcd-server)');
  process.exit(2);
}
console.log(`${workload}, ${clients} clients, ${seconds} s each, wrk with one thread on the same ${os.cpus().length} cores`);
for (let r = 0; r < rounds && workload === 'put'; r++) {
  const line: string[] = [];
  for (const n of [1, 3]) {
    const e = await etcd(n);
    const d = await durable(n);
    line.push(
      `etcd x${n} ${e.rps.toFixed(0)} puts/s (${e.cpuMs.toFixed(3)} CPU ms a put), durable log on ${store} (a row per ${rows}) x${n} ${d.rps.toFixed(0)} (${(d.rps / e.rps).toFixed(2)}x etcd; ${d.cpuMs.toFixed(3)} CPU ms a put, ${(d.cpuMs / e.cpuMs).toFixed(2)}x etcd's)`,
    );
  }
  console.log(line.join('; '));
}
for (let r = 0; r < rounds && workload !== 'put'; r++) {
  const e = (await etcd()).rps;
  const line = [`etcd 1 member ${e.toFixed(0)} req/s`];
  for (const n of [1, 2, 3]) {
    const b = await bare(n);
    line.push(`node:http x${n} ${b.toFixed(0)} (${(b / e).toFixed(2)}x etcd)`);
  }
  console.log(line.join('; '));
}
