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

export async function preload(url: string): Promise<void> {
  for (let i = 0; i < PRELOAD_KEYS; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        fetch(`${url}/v3/kv/put`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key: b64(`bench/k/${i + j}`), value: VALUE }),
        }).then((r) => r.arrayBuffer()),
      ),
    );
  }
}

let counter = 0;

/** Drives `connections` keep-alive clients, spread over the members' URLs, for `seconds`. */
export async function drive(urls: string[], w: Workload, connections: number, seconds: number): Promise<LoadResult> {
  const spec = request(w, () => counter++);
  const shares = urls.map((_, i) => Math.floor(connections / urls.length) + (i < connections % urls.length ? 1 : 0)).filter((n) => n > 0);
  const runs = await Promise.all(
    shares.map((n, i) =>
      autocannon({
        url: urls[i] + spec.path,
        connections: n,
        duration: seconds,
        method: 'POST',
        // antietcd insists on it; etcd and edgecd do not care.
        headers: { 'content-type': 'application/json' },
        requests: [{ setupRequest: (req) => ({ ...req, body: spec.body() }) }],
      }),
    ),
  );
  const rps = runs.reduce((s, r) => s + r.requests.total / seconds, 0);
  const errors = runs.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0);
  const p50s = runs.map((r) => r.latency.p50).sort((a, b) => a - b);
  return { rps, p50: p50s[Math.floor(p50s.length / 2)], p99: Math.max(...runs.map((r) => r.latency.p99)), errors };
}
