import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post } from '../helpers/cluster.ts';
import { startEdgecd } from '../helpers/server.ts';

/**
 * 10,000 leases (each holding a key) expire together: the leader revokes them in bounded batches
 * while a writer keeps writing; no write waits long, and every key goes.
 */

const N = 10_000;
// Long enough for 10,000 grants and their puts on a busy 2-core machine (about 15 s at worst seen here).
const TTL = 30;

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

test('10,000 leases expiring at once do not stall writes', { timeout: 300_000 }, async () => {
  const server = await startEdgecd();
  try {
    const ids = Array.from({ length: N }, (_, i) => i + 1);
    await pool(ids, 32, async (id) => {
      const r = await post(server.url, '/v3/lease/grant', { TTL: TTL, ID: String(id) });
      assert.equal(r.status, 200);
    });
    const batches = Array.from({ length: N / 100 }, (_, b) => ids.slice(b * 100, b * 100 + 100));
    await pool(batches, 8, async (batch) => {
      const success = batch.map((id) => ({ request_put: { key: b64(`burst/${id}`), value: b64('x'), lease: String(id) } }));
      const r = await post(server.url, '/v3/kv/txn', { success });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    });
    // One keep-alive stream renews them all within a moment: from here they expire together.
    const ka = await fetch(`${server.url}/v3/lease/keepalive`, { method: 'POST', body: ids.map((id) => `{"ID":"${id}"}`).join('\n') });
    const answers = (await ka.text()).trim().split('\n');
    assert.equal(answers.length, N);
    assert.ok(answers.every((a) => JSON.parse(a).result.TTL === String(TTL)), 'every lease was still alive and renewed');
    await new Promise((r) => setTimeout(r, (TTL - 2) * 1000));
    const count = async () => Number((await post(server.url, '/v3/kv/range', { key: b64('burst/'), range_end: b64('burst0'), count_only: true })).json.count ?? 0);
    const t0 = Date.now();
    const latencies: number[] = [];
    let left = await count();
    let n = 0;
    while (left > 0 && Date.now() - t0 < 120_000) {
      const s = Date.now();
      const r = await post(server.url, '/v3/kv/put', { key: b64(`writer/${n++}`), value: b64('v') });
      assert.equal(r.status, 200);
      latencies.push(Date.now() - s);
      if (n % 20 === 0) left = await count();
      await new Promise((r) => setTimeout(r, 10));
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)];
    const max = latencies[latencies.length - 1];
    console.log(`lease burst: ${N} leases, all keys deleted ${Date.now() - t0} ms after the expiry window began; ${latencies.length} writes meanwhile, p99 ${p99} ms, max ${max} ms`);
    assert.equal(left, 0, 'every leased key was deleted');
    assert.ok(max < 2000, `a write waited ${max} ms while leases expired`);
  } finally {
    await server.stop();
  }
});
