// npm run bench:floor -- [--workload range] [--clients 64] [--seconds 8] [--rounds 2]
// What no Node gateway can beat on this machine, beside etcd in the same run: node:http servers
// that read each body, JSON.parse it and answer a fixed JSON (no routing, no member, no database),
// in 1, 2 and 3 processes sharing the port (node:cluster), driven by the same wrk as `npm run bench`
// with etcd's single member measured between them. The ratio of a floor to etcd is the most a
// gateway on Node could reach for that workload here.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

async function bare(processes: number): Promise<number> {
  const file = path.join(os.tmpdir(), 'edgecd-bench-floor.cjs');
  writeFileSync(file, SERVER);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const p: ChildProcess = spawn(process.execPath, [file, String(processes), String(port)], { stdio: 'ignore' });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${url}/v3/kv/range`, { method: 'POST', body: '{}' }).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return (await drive([url], workload, clients, seconds, 'wrk')).rps;
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }
}

async function etcd(): Promise<number> {
  const t = await startEtcdTarget(1);
  try {
    await preload(t.urls[0]);
    return (await drive(t.urls, workload, clients, seconds, 'wrk')).rps;
  } finally {
    await t.stop();
  }
}

if (!haveEtcd()) {
  console.error('bench:floor needs etcd on the PATH (apt-get install -y etcd-server)');
  process.exit(2);
}
console.log(`${workload}, ${clients} clients, ${seconds} s each, wrk with one thread on the same ${os.cpus().length} cores`);
for (let r = 0; r < rounds; r++) {
  const e = await etcd();
  const line = [`etcd 1 member ${e.toFixed(0)} req/s`];
  for (const n of [1, 2, 3]) {
    const b = await bare(n);
    line.push(`node:http x${n} ${b.toFixed(0)} (${(b / e).toFixed(2)}x etcd)`);
  }
  console.log(line.join('; '));
}
