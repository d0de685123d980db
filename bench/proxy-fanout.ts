/**
 * The edge proxy (`edgecd proxy`) in front of one member:
 * - fan-out: N SSE subscribers on one prefix, through the proxy and straight on the member, while
 *   puts go to the member 8 at a time (each put is one event for every subscriber). Events/s
 *   delivered, upstream watches, memory per subscriber (RSS growth of the serving process / N),
 *   CPU seconds per million events (proxy + member, or member).
 * - read cache: serializable ranges of the preloaded keys (bench/workloads.ts) from `clients`
 *   connections, straight on the member, through the proxy where no feed covers them (forwarded),
 *   and through the proxy with an SSE subscriber on their prefix (cached: every hit waits for a
 *   /v3/auth/status asked after it arrived, one in flight at a time).
 * `npm run bench` runs both on one member (--proxy-subscribers, --proxy-puts, --proxy-clients, --proxy-seconds); the fan-out alone:
 *   npx tsx bench/proxy-fanout.ts [subscribers=10000] [puts=100]   (npm run bench:proxy)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startEdgecd, type EdgecdProcess } from '../test/helpers/server.ts';
import { openSse, type SseClient } from '../test/proxy/sse-client.ts';
import { cpuSeconds, rssMiB } from './procs.ts';
import { drive, preload, type LoadGenerator, type LoadResult } from './workloads.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FanoutRow {
  path: 'proxy' | 'member directly';
  subscribers: number;
  puts: number;
  events_delivered: number;
  seconds: number;
  events_per_s: number;
  upstream_watches: number;
  connect_s: number;
  kib_per_subscriber: number;
  /** CPU of the serving processes (proxy and member, or the member) per million events delivered. */
  cpu_s_per_million_events: number;
  min_last_id: number;
}

export interface ReadRow {
  path: 'member directly' | 'proxy, forwarded' | 'proxy, cached';
  clients: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Answers from the proxy's cache during the measurement (cached row). */
  cache_hits: number;
  /** /v3/auth/status calls the proxy made for them (one in flight at a time, shared by the hits waiting). */
  auth_checks: number;
  /** CPU of the serving processes per 1,000 answers. */
  cpu_s_per_1k: number;
}

export interface ProxyBench {
  fanout: FanoutRow[];
  reads: ReadRow[];
}

async function metric(url: string, name: string): Promise<number> {
  const t = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(t);
  return m ? Number(m[1]) : NaN;
}

function putter(): { put(url: string, key: string): Promise<void>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  return {
    put: (url, key) =>
      new Promise((resolve, reject) => {
        const u = new URL(`${url}/v3/kv/put`);
        const r = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        r.on('error', reject);
        r.end(JSON.stringify({ key: b64(key), value: b64('v'.repeat(64)) }));
      }),
    close: () => agent.destroy(),
  };
}

async function fanoutOnce(label: FanoutRow['path'], sseBase: string, member: string, pids: number[], n: number, puts: number): Promise<FanoutRow> {
  const rss0 = rssMiB(pids[0]);
  const clients: SseClient[] = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i += 500) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(500, n - i) }, () => openSse(`${sseBase}/v3/watch/sse?prefix=fan/&encoding=text`, { keepIds: false })))));
  }
  const connectS = (Date.now() - t0) / 1000;
  await sleep(1000);
  const rss1 = rssMiB(pids[0]);
  const p = putter();
  const cpu0 = pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
  const start = Date.now();
  // 8 puts in flight: the member's put latency, not the fan-out, would bound one at a time.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < puts) await p.put(member, `fan/${next++ % 10}`);
    }),
  );
  while (clients.some((c) => c.events < puts) && Date.now() - start < 300_000) await sleep(20);
  const secs = (Date.now() - start) / 1000;
  const cpu = pids.reduce((s, pid) => s + cpuSeconds(pid), 0) - cpu0;
  p.close();
  const total = clients.reduce((s, c) => s + c.events, 0);
  const row: FanoutRow = {
    path: label,
    subscribers: n,
    puts,
    events_delivered: total,
    seconds: Number(secs.toFixed(2)),
    events_per_s: Math.round(total / secs),
    upstream_watches: label === 'proxy' ? await metric(sseBase, 'edgecd_proxy_upstream_watches') : n,
    connect_s: Number(connectS.toFixed(1)),
    kib_per_subscriber: Number((((rss1 - rss0) * 1024) / n).toFixed(1)),
    cpu_s_per_million_events: Number(((cpu / Math.max(total, 1)) * 1e6).toFixed(1)),
    min_last_id: Math.min(...clients.map((c) => c.lastId ?? 0)),
  };
  for (const c of clients) c.close();
  await sleep(1000);
  return row;
}

async function startProxy(member: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'proxy', '--endpoints', member, '--listen-addr', `127.0.0.1:${port}`], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/metrics`)).ok) return { url, proc };
    } catch {
      // not yet
    }
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error('proxy did not start');
}

async function stopProxy(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}

/** SSE fan-out through one proxy and straight on the member. */
export async function proxyFanout(member: EdgecdProcess, n: number, puts: number, log: (s: string) => void = console.log): Promise<FanoutRow[]> {
  const proxy = await startProxy(member.url);
  let via: FanoutRow;
  try {
    via = await fanoutOnce('proxy', proxy.url, member.url, [proxy.proc.pid!, member.proc.pid!], n, puts);
  } finally {
    await stopProxy(proxy.proc);
  }
  log(`proxy fan-out: ${n} SSE subscribers through the proxy: ${via.events_per_s} events/s, ${via.upstream_watches} upstream watch(es), ${via.kib_per_subscriber} KiB per subscriber`);
  const direct = await fanoutOnce('member directly', member.url, member.url, [member.proc.pid!], n, puts);
  log(`proxy fan-out: ${n} SSE subscribers on the member: ${direct.events_per_s} events/s, ${direct.kib_per_subscriber} KiB per subscriber`);
  return [via, direct];
}

async function readOnce(label: ReadRow['path'], url: string, proxyUrl: string | undefined, pids: number[], clients: number, seconds: number, load: LoadGenerator): Promise<ReadRow> {
  await drive([url], 'range-serializable', clients, 1, load); // warm-up (and, cached, fills the cache)
  const hits0 = proxyUrl ? await metric(proxyUrl, 'edgecd_proxy_read_cache_hits_total') : 0;
  const checks0 = proxyUrl ? await metric(proxyUrl, 'edgecd_proxy_read_cache_auth_checks_total') : 0;
  const cpu0 = pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
  const r: LoadResult = await drive([url], 'range-serializable', clients, seconds, load);
  const cpu = pids.reduce((s, pid) => s + cpuSeconds(pid), 0) - cpu0;
  const hits = proxyUrl ? (await metric(proxyUrl, 'edgecd_proxy_read_cache_hits_total')) - hits0 : 0;
  const checks = proxyUrl ? (await metric(proxyUrl, 'edgecd_proxy_read_cache_auth_checks_total')) - checks0 : 0;
  return {
    path: label,
    clients,
    rps: Math.round(r.rps),
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    cache_hits: hits,
    auth_checks: checks,
    cpu_s_per_1k: Number(((cpu / Math.max(r.rps * seconds, 1)) * 1000).toFixed(3)),
  };
}

/** Serializable ranges straight on the member, through the proxy uncached, and through the proxy from its cache. */
export async function proxyReads(member: EdgecdProcess, clients: number, seconds: number, load: LoadGenerator, rounds = 1, log: (s: string) => void = console.log): Promise<ReadRow[]> {
  const rows: ReadRow[] = [];
  await preload(member.url);
  const proxy = await startProxy(member.url);
  const best = async (f: () => Promise<ReadRow>) => {
    let b: ReadRow | undefined;
    for (let i = 0; i < rounds; i++) {
      const r = await f();
      if (!b || r.rps > b.rps) b = r;
    }
    return b!;
  };
  try {
    const both = [proxy.proc.pid!, member.proc.pid!];
    rows.push(await best(() => readOnce('member directly', member.url, undefined, [member.proc.pid!], clients, seconds, load)));
    rows.push(await best(() => readOnce('proxy, forwarded', proxy.url, proxy.url, both, clients, seconds, load)));
    // A subscriber on the preloaded keys' prefix: the proxy's feed covers them, its reads are cached.
    const sub = await openSse(`${proxy.url}/v3/watch/sse?prefix=bench/k/&encoding=text`, { keepIds: false });
    await sleep(1500);
    rows.push(await best(() => readOnce('proxy, cached', proxy.url, proxy.url, both, clients, seconds, load)));
    sub.close();
  } finally {
    await stopProxy(proxy.proc);
  }
  for (const r of rows) log(`proxy reads: serializable range, ${r.path}, ${clients} clients: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cache_hits} cache hits (${r.auth_checks} auth status checks), ${r.cpu_s_per_1k} CPU-s per 1k, errors ${r.errors}`);
  return rows;
}

/** Both, on one fresh member (each measurement with its own proxy process). */
export async function proxyBench(o: { subscribers: number; puts: number; clients: number; seconds: number; rounds: number; load: LoadGenerator; fanout: boolean; reads: boolean }): Promise<ProxyBench> {
  const member = await startEdgecd();
  try {
    return {
      fanout: o.fanout ? await proxyFanout(member, o.subscribers, o.puts) : [],
      reads: o.reads ? await proxyReads(member, o.clients, o.seconds, o.load, o.rounds) : [],
    };
  } finally {
    await member.stop();
  }
}

/** The section of bench/results/*.md. */
export function proxyMarkdown(b: ProxyBench): string {
  const out = ['## Edge proxy (one member, one `edgecd proxy`, same machine)', ''];
  if (b.fanout.length) {
    out.push(
      'SSE fan-out: subscribers on one prefix, puts 8 in flight; memory = RSS growth of the serving process per subscriber; CPU = serving processes per million events.',
      '',
      '| path | subscribers | puts | events | seconds | events/s | upstream watches | KiB per subscriber | CPU-s per 1M events |',
      '|---|---|---|---|---|---|---|---|---|',
      ...b.fanout.map((r) => `| ${r.path} | ${r.subscribers} | ${r.puts} | ${r.events_delivered} | ${r.seconds} | ${r.events_per_s} | ${r.upstream_watches} | ${r.kib_per_subscriber} | ${r.cpu_s_per_million_events} |`),
      '',
    );
  }
  if (b.reads.length) {
    out.push(
      'Serializable range of one preloaded key (best of the rounds): on the member, through the proxy where no feed covers it (forwarded), and from the proxy\'s cache (an SSE subscriber on the prefix; each hit waits for an /v3/auth/status asked after it arrived, one in flight at a time).',
      '',
      '| path | clients | req/s | p50 ms | p99 ms | cache hits | auth status checks | CPU-s per 1k (proxy + member) | errors |',
      '|---|---|---|---|---|---|---|---|---|',
      ...b.reads.map((r) => `| ${r.path} | ${r.clients} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.cache_hits || '-'} | ${r.auth_checks || '-'} | ${r.cpu_s_per_1k} | ${r.errors} |`),
      '',
    );
  }
  return out.join('\n');
}

// Alone (npm run bench:proxy): the fan-out, as before.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 10_000);
  const puts = Number(process.argv[3] ?? 100);
  const member = await startEdgecd();
  try {
    const [viaProxy, direct] = await proxyFanout(member, n, puts);
    console.log(JSON.stringify({ viaProxy, direct }, null, 1));
  } finally {
    await member.stop();
  }
}
