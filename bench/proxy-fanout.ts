/**
 * Proxy fan-out: N SSE subscribers on one prefix, through `edgecd proxy` and straight on the member,
 * while puts go to the member one after another (each put is one event for every subscriber).
 * Reports events/s delivered, upstream watches, proxy memory per subscriber.
 *   npx tsx bench/proxy-fanout.ts [subscribers=10000] [puts=100]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startEdgecd } from '../test/helpers/server.ts';
import { openSse, type SseClient } from '../test/proxy/sse-client.ts';
import { rssMiB } from './procs.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 10_000);
const PUTS = Number(process.argv[3] ?? 100);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function put(url: string, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${url}/v3/kv/put`);
    const r = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    r.on('error', reject);
    r.end(JSON.stringify({ key: b64(key), value: b64('v'.repeat(64)) }));
  });
}

async function metric(url: string, name: string): Promise<number> {
  const t = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(t);
  return m ? Number(m[1]) : NaN;
}

async function run(label: string, sseBase: string, member: string, pid: number): Promise<Record<string, number | string>> {
  const rss0 = rssMiB(pid);
  const clients: SseClient[] = [];
  const t0 = Date.now();
  for (let i = 0; i < N; i += 500) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(500, N - i) }, () => openSse(`${sseBase}/v3/watch/sse?prefix=fan/&encoding=text`, { keepIds: false })))));
  }
  const connectS = (Date.now() - t0) / 1000;
  await sleep(1000);
  const rss1 = rssMiB(pid);
  const start = Date.now();
  let lastRev = 0;
  // 8 puts in flight: the member's put latency, not the fan-out, would bound one at a time.
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < PUTS) await put(member, `fan/${next++ % 10}`);
  }));
  const want = PUTS;
  while (clients.some((c) => c.events < want) && Date.now() - start < 300_000) await sleep(20);
  const secs = (Date.now() - start) / 1000;
  const total = clients.reduce((n, c) => n + c.events, 0);
  lastRev = Math.min(...clients.map((c) => c.lastId ?? 0));
  const watches = label === 'proxy' ? await metric(sseBase, 'edgecd_proxy_upstream_watches') : N;
  const out = {
    upstream_watches: watches,
    path: label,
    subscribers: N,
    puts: PUTS,
    events_delivered: total,
    seconds: Number(secs.toFixed(2)),
    events_per_s: Math.round(total / secs),
    connect_s: Number(connectS.toFixed(1)),
    server_rss_mib_before: Math.round(rss0),
    server_rss_mib_with_subscribers: Math.round(rss1),
    kib_per_subscriber: Number((((rss1 - rss0) * 1024) / N).toFixed(1)),
    min_last_id: lastRev,
  };
  for (const c of clients) c.close();
  await sleep(2000);
  return out;
}

const member = await startEdgecd();
try {
  const port = await freePort();
  const proxy = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'proxy', '--endpoints', member.url, '--listen-addr', `127.0.0.1:${port}`], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const purl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${purl}/metrics`);
      break;
    } catch {
      await sleep(100);
    }
  }
  const viaProxy = await run('proxy', purl, member.url, proxy.pid!);
  proxy.kill('SIGTERM');
  const direct = await run('member directly', member.url, member.url, member.proc.pid!);
  console.log(JSON.stringify({ viaProxy, direct }, null, 1));
} finally {
  await member.stop();
  agent.destroy();
}
