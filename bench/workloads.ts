import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** The request mixes, all through the JSON gateway routes every target serves. */

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const VALUE = b64('v'.repeat(256));
export const PRELOAD_KEYS = 1000;

export type Workload = 'put' | 'range' | 'range-serializable' | 'txn-cas';
export const WORKLOADS: Workload[] = ['put', 'range', 'range-serializable', 'txn-cas'];

function request(w: Workload, seq: () => number): { path: string; body: () => string } {
  switch (w) {
    case 'put':
      return { path: '/v3/kv/put', body: () => JSON.stringify({ key: b64(`bench/put/${seq()}`), value: VALUE }) };
    case 'range':
      return { path: '/v3/kv/range', body: () => JSON.stringify({ key: b64(`bench/k/${seq() % PRELOAD_KEYS}`) }) };
    case 'range-serializable':
      return { path: '/v3/kv/range', body: () => JSON.stringify({ key: b64(`bench/k/${seq() % PRELOAD_KEYS}`), serializable: true }) };
    case 'txn-cas':
      // Compare-and-swap on a preloaded key: succeeds while the key exists (version > 0).
      return {
        path: '/v3/kv/txn',
        body: () => {
          const k = b64(`bench/k/${seq() % PRELOAD_KEYS}`);
          return JSON.stringify({
            compare: [{ key: k, target: 'VERSION', result: 'GREATER', version: '0' }],
            success: [{ request_put: { key: k, value: VALUE } }],
          });
        },
      };
  }
}

export async function preload(url: string, extra: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < PRELOAD_KEYS; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        fetch(`${url}/v3/kv/put`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...extra },
          body: JSON.stringify({ key: b64(`bench/k/${i + j}`), value: VALUE }),
        }).then((r) => r.arrayBuffer()),
      ),
    );
  }
}

let counter = 0;

export type LoadGenerator = 'wrk' | 'autocannon';

/** wrk (C, one thread per process: far less CPU per request than autocannon on the same cores) when installed. */
export function defaultLoadGenerator(): LoadGenerator {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error ? 'autocannon' : 'wrk';
}

const shares = (urls: string[], connections: number) =>
  urls.map((_, i) => Math.floor(connections / urls.length) + (i < connections % urls.length ? 1 : 0)).filter((n) => n > 0);

/** Drives `connections` keep-alive clients, spread over the members' URLs, for `seconds`. */
export async function drive(urls: string[], w: Workload, connections: number, seconds: number, gen: LoadGenerator = 'autocannon', headers: Record<string, string> = {}): Promise<LoadResult> {
  return gen === 'wrk' ? driveWrk(urls, w, connections, seconds, headers) : driveAutocannon(urls, w, connections, seconds, headers);
}

const WRK_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wrk.lua');
const ROUTE: Record<Workload, string> = { put: '/v3/kv/put', range: '/v3/kv/range', 'range-serializable': '/v3/kv/range', 'txn-cas': '/v3/kv/txn' };

/** Latency from wrk's --latency table ("    99%   12.34ms") in ms. */
function wrkMs(out: string, pct: string): number {
  const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
  if (!m) return 0;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

async function driveWrk(urls: string[], w: Workload, connections: number, seconds: number, headers: Record<string, string>): Promise<LoadResult> {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const outs = await Promise.all(
    shares(urls, connections).map(
      (n, i) =>
        new Promise<string>((resolve, reject) => {
          const p = spawn('wrk', ['-t1', `-c${n}`, `-d${seconds}s`, '--latency', ...h, '-s', WRK_SCRIPT, urls[i] + ROUTE[w], '--', w, String(PRELOAD_KEYS), String(i)]);
          let out = '';
          p.stdout.on('data', (d) => (out += d));
          p.stderr.on('data', (d) => (out += d));
          p.on('error', reject);
          p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}: ${out}`))));
        }),
    ),
  );
  let rps = 0;
  let errors = 0;
  for (const o of outs) {
    rps += Number(/Requests\/sec:\s+([\d.]+)/.exec(o)?.[1] ?? 0);
    errors += Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(o)?.[1] ?? 0);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(o);
    if (sock) errors += Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]);
  }
  const p50s = outs.map((o) => wrkMs(o, '50')).sort((a, b) => a - b);
  return { rps, p50: Math.round(p50s[Math.floor(p50s.length / 2)] * 10) / 10, p99: Math.round(Math.max(...outs.map((o) => wrkMs(o, '99'))) * 10) / 10, errors };
}

async function driveAutocannon(urls: string[], w: Workload, connections: number, seconds: number, extra: Record<string, string>): Promise<LoadResult> {
  const spec = request(w, () => counter++);
  const runs = await Promise.all(
    shares(urls, connections).map((n, i) =>
      autocannon({
        url: urls[i] + spec.path,
        connections: n,
        duration: seconds,
        method: 'POST',
        // antietcd insists on it; etcd and edgecd do not care.
        headers: { 'content-type': 'application/json', ...extra },
        requests: [{ setupRequest: (req) => ({ ...req, body: spec.body() }) }],
      }),
    ),
  );
  const rps = runs.reduce((s, r) => s + r.requests.total / seconds, 0);
  const errors = runs.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0);
  const p50s = runs.map((r) => r.latency.p50).sort((a, b) => a - b);
  return { rps, p50: p50s[Math.floor(p50s.length / 2)], p99: Math.max(...runs.map((r) => r.latency.p99)), errors };
}
