// npm run bench:ceiling -- [--clients 64] [--seconds 8] [--workload put] [--bare]
// The write path's ceiling on one Node thread: a lone member on in-memory storage (no database, no
// fsync, nothing a real member could acknowledge) behind the real HTTP gateway, driven by wrk.
// What a member with a database does beyond this is the database's share.
// --bare: Node's own floor instead: a plain node:http server that reads each body, JSON.parses it
// and answers a put's JSON, with no gateway, no member and no database.
import http from 'node:http';
import { createApp } from '../src/api/app.ts';
import { closeServers, serveNode } from '../src/api/serve-node.ts';
import { systemClock } from '../src/server/clock.ts';
import { Member } from '../src/server/member.ts';
import { createWatchStore } from '../src/server/watch-history.ts';
import { MemoryStore } from '../test/helpers/memory-store.ts';
import { drive, preload, type Workload } from './workloads.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

const BARE_ANSWER = JSON.stringify({ header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '2', raft_term: '2' } });

/** A plain node:http server: what any Node gateway pays before doing anything of its own. */
async function serveBare(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(BARE_ANSWER);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, close: () => new Promise((r) => server.close(() => r())) };
}

if (process.argv.includes('--bare')) {
  const bare = await serveBare();
  const seconds = Number(arg('seconds', '8'));
  const c0 = process.cpuUsage();
  const r = await drive([bare.url], arg('workload', 'put') as Workload, Number(arg('clients', '64')), seconds, 'wrk');
  const c = process.cpuUsage(c0);
  console.log(
    `bare node:http, ${arg('workload', 'put')} ${arg('clients', '64')} clients: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms; ` +
      `CPU ${((c.user + c.system) / 1e6 / seconds).toFixed(2)} cores, ${((c.user + c.system) / (r.rps * seconds)).toFixed(0)} us per request`,
  );
  await bare.close();
  process.exit(0);
}

const member = await Member.open(new MemoryStore(), { name: 'ceiling', clock: systemClock });
for (let i = 0; i < 100 && !member.isLeader; i++) await new Promise((r) => setTimeout(r, 50));
const { app } = createApp(member, { maxRequestBytes: 1.5 * 1024 * 1024, maxTxnOps: 128, watchStore: createWatchStore(member) });
const servers = await serveNode(app, ['http://127.0.0.1:0']);
const addr = servers[0].address();
const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
await preload(url);
const seconds = Number(arg('seconds', '8'));
const c0 = process.cpuUsage();
const r = await drive([url], arg('workload', 'put') as Workload, Number(arg('clients', '64')), seconds, 'wrk');
const c = process.cpuUsage(c0);
const n = r.rps * seconds;
console.log(
  `no database, one member, ${arg('workload', 'put')} ${arg('clients', '64')} clients: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms; ` +
    `CPU ${(((c.user + c.system) / 1e6 / seconds)).toFixed(2)} cores, ${((c.user + c.system) / n).toFixed(0)} us per request`,
);
await closeServers(servers);
await member.close();
