import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startEdgecd } from '../helpers/server.ts';

/**
 * Bad input never crashes the member and changes nothing: random bodies on every KV route get
 * an answer in etcd's error format (or a normal answer, when the bytes happen to be a valid
 * request that writes nothing), and an endless body is cut off.
 */

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`bad-input: seed ${seed} (replay with EDGECD_SEED=${seed})`);

const ROUTES = ['/v3/kv/range', '/v3/kv/put', '/v3/kv/deleterange', '/v3/kv/txn', '/v3/kv/compaction', '/v3/lease/grant'];

const body = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.json().map((j) => Buffer.from(j)),
  fc.string().map((s) => Buffer.from(`{"key":${JSON.stringify(s)},"value":${s}}`)),
  fc.constantFrom('{"key":', '{"key":"Zm9v","limit":1e400}', '[[[[[[[[[[', '{"success":[{"request_txn":{"success":[{}]}}]}').map((s) => Buffer.from(s)),
  fc.nat({ max: 3000 }).map((n) => Buffer.from('['.repeat(n))),
);

test('random and malformed bodies get etcd-format answers and the member survives', { timeout: 120_000 }, async () => {
  const server = await startEdgecd();
  try {
    const revision = async () =>
      Number((await (await fetch(`${server.url}/v3/kv/range`, { method: 'POST', body: '{"key":"AA==","count_only":true}' })).json()).header.revision);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), body, async (route, b) => {
        const before = await revision();
        const r = await fetch(server.url + route, { method: 'POST', body: b });
        const text = await r.text();
        assert.equal(r.headers.get('content-type'), 'application/json', `${route} ${b.toString('latin1').slice(0, 80)}`);
        const json = JSON.parse(text);
        if (r.status !== 200) {
          assert.equal(typeof json.error, 'string');
          assert.equal(json.error, json.message);
          assert.equal(typeof json.code, 'number');
          assert.equal(await revision(), before, 'a refused request changed the key space');
        }
      }),
      { seed, numRuns: 300 },
    );
    const huge = Buffer.alloc(9 * 1024 * 1024, 0x20);
    const r = await fetch(`${server.url}/v3/kv/put`, { method: 'POST', body: huge });
    assert.equal(r.status, 429);
    assert.match((await r.json()).error, /^grpc: received message larger than max \(\d+ vs\. 2097152\)$/);
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200, 'member still serving');
  } finally {
    await server.stop();
  }
});
