// Watch benchmark (not a test):  npx tsx bench/watch.ts [seconds]
// Starts one member on a fresh Postgres database (as the tests do) and reports
//  1. events delivered per second to 1,000 watchers on one key, as 10 POST /v3/watch streams of
//     100 watchers and as 1,000 SSE connections of one watcher, while 16 writers put to that key;
//  2. the member's memory (RSS) for 100,000 idle watchers (100 streams of 1,000, distinct keys).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startEdgecd } from '../test/helpers/server.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Opens a stream and counts answer lines (or SSE messages) without parsing them. */
function open(url: string, method: 'POST' | 'GET', body: string, sep: string, counter: { n: number }): Promise<http.ClientRequest> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent: false, headers: method === 'POST' ? { 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let tail = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        const s = tail + d;
        let i = -1;
        let last = 0;
        while ((i = s.indexOf(sep, i + 1)) >= 0) {
          counter.n++;
          last = i + sep.length;
        }
        tail = s.slice(last);
      });
      resolve(req);
    });
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

function put(base: string, key: string, value: string): Promise<void> {
  const u = new URL('/v3/kv/put', base);
  const body = JSON.stringify({ key: b64(key), value: b64(value) });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

async function fanOut(base: string, label: string, streams: number, perStream: number, sse: boolean): Promise<void> {
  const key = `fan-${label}`;
  const counter = { n: 0 };
  const reqs: http.ClientRequest[] = [];
  for (let s = 0; s < streams; s++) {
    if (sse) reqs.push(await open(`${base}/v3/watch/sse?key=${encodeURIComponent(b64(key))}`, 'GET', '', '\n\n', counter));
    else reqs.push(await open(`${base}/v3/watch`, 'POST', Array.from({ length: perStream }, () => JSON.stringify({ create_request: { key: b64(key) } })).join(''), '\n', counter));
  }
  const created = streams * (sse ? 1 : perStream);
  await until(() => counter.n >= created, 30_000);
  counter.n = 0;
  let writes = 0;
  const stopAt = Date.now() + SECONDS * 1000;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < stopAt) {
        await put(base, key, `value-${writes++}`);
      }
    }),
  );
  const expected = writes * streams * perStream;
  await until(() => counter.n >= expected, 30_000);
  const secs = (Date.now() - t0) / 1000;
  console.log(
    `${label}: ${streams * perStream} watchers on one key, ${writes} puts in ${SECONDS} s -> ${counter.n} of ${expected} events in ${secs.toFixed(1)} s = ${Math.round(counter.n / secs).toLocaleString('en')} events/s`,
  );
  for (const r of reqs) r.destroy();
}

async function idle(base: string, pid: number): Promise<void> {
  global.gc?.();
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssMiB(pid);
  const counter = { n: 0 };
  const reqs: http.ClientRequest[] = [];
  for (let s = 0; s < 100; s++) {
    const body = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ create_request: { key: b64(`idle/${s}/${i}`) } })).join('');
    reqs.push(await open(`${base}/v3/watch`, 'POST', body, '\n', counter));
  }
  await until(() => counter.n >= 100_000, 60_000);
  await new Promise((r) => setTimeout(r, 2000));
  const afterRss = rssMiB(pid);
  console.log(
    `idle: ${counter.n.toLocaleString('en')} watchers on 100 streams: RSS ${before.toFixed(0)} MiB -> ${afterRss.toFixed(0)} MiB (+${(afterRss - before).toFixed(0)} MiB, ${Math.round(((afterRss - before) * 1048576) / 100_000)} bytes per watcher)`,
  );
  for (const r of reqs) r.destroy();
}

const server = await startEdgecd();
try {
  // Idle first, on a fresh process, so the fan-out runs' heap does not hide what the watchers take.
  await idle(server.url, server.proc.pid!);
  await fanOut(server.url, 'gateway', 10, 100, false);
  await fanOut(server.url, 'sse', 1000, 1, true);
} finally {
  agent.destroy();
  await server.stop();
}
