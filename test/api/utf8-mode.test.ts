import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';
import { anyBytes, fromTextForm, textForm } from './arbitrary-bytes.ts';

/**
 * ?encoding=text against a member: random byte strings (valid and invalid UTF-8, NUL, high bytes)
 * written in one encoding read back identical in the other, through range, txn, a watch stream
 * and a watch over SSE.
 */

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`utf8-mode: seed ${seed} (replay with EDGECD_SEED=${seed})`);

let server: EdgecdProcess;
before(async () => {
  server = await startEdgecd();
});
after(async () => {
  await server?.stop();
});

const b64 = (b: Uint8Array | string) => Buffer.from(b as Uint8Array).toString('base64');
const cat = (...parts: (string | Uint8Array)[]) => new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function post(path: string, body: unknown): Promise<any> {
  const r = await fetch(server.url + path, { method: 'POST', body: JSON.stringify(body) });
  const json = await r.json();
  assert.equal(r.status, 200, `${path} ${JSON.stringify(body)} -> ${JSON.stringify(json)}`);
  return json;
}

/** Collects the lines (or SSE data) of a streaming answer. */
function collect(path: string, method: string, body?: string): { messages: any[]; close(): void } {
  const messages: any[] = [];
  const u = new URL(path, server.url);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent: false }, (res) => {
    let pending = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      pending += d;
      for (let i; (i = pending.indexOf('\n')) >= 0; pending = pending.slice(i + 1)) {
        const line = pending.slice(0, i);
        if (line.startsWith('{')) messages.push(JSON.parse(line).result);
        else if (line.startsWith('data: ')) messages.push(JSON.parse(line.slice(6)));
      }
    });
  });
  req.on('error', () => undefined);
  if (body !== undefined) req.write(body);
  if (method === 'GET') req.end();
  return { messages, close: () => req.destroy() };
}

test('bytes written in one encoding read back identical in the other: range, txn, watch, SSE', { timeout: 120_000 }, async () => {
  const prefix = textForm(Buffer.from('u8/'));
  const stream = collect('/v3/watch?encoding=text', 'POST', JSON.stringify({ create_request: { key: prefix, range_end: textForm(Buffer.from('u80')) } }));
  const sse = collect('/v3/watch/sse?encoding=text&prefix=u8/', 'GET');
  await new Promise((r) => setTimeout(r, 300));
  const written = new Map<string, string>(); // hex key -> hex value, the last write of each
  let run = 0;
  await fc.assert(
    fc.asyncProperty(anyBytes, anyBytes, async (k, v) => {
      run++;
      // Written as base64, read as text.
      const k1 = cat(`u8/a${run}/`, k);
      await post('/v3/kv/put', { key: b64(k1), value: b64(v) });
      const r1 = await post('/v3/kv/range?encoding=text', { key: textForm(k1) });
      assert.equal(r1.kvs.length, 1);
      assert.equal(hex(fromTextForm(r1.kvs[0].key)), hex(k1));
      assert.equal(hex(r1.kvs[0].value === undefined ? Buffer.alloc(0) : fromTextForm(r1.kvs[0].value)), hex(v));

      // Written as text, read as base64.
      const k2 = cat(`u8/b${run}/`, k);
      await post('/v3/kv/put?encoding=text', { key: textForm(k2), value: textForm(v) });
      const r2 = await post('/v3/kv/range', { key: b64(k2) });
      assert.equal(Buffer.from(r2.kvs[0].key, 'base64').toString('hex'), hex(k2));
      assert.equal(Buffer.from(r2.kvs[0].value ?? '', 'base64').toString('hex'), hex(v));

      // A text txn: a compare on the value, a put, and ranges nested in the answer.
      const k3 = cat(`u8/c${run}/`, v);
      const t = await post('/v3/kv/txn?encoding=text', {
        compare: [{ key: textForm(k2), target: 'VALUE', result: 'EQUAL', value: textForm(v) }],
        success: [{ request_put: { key: textForm(k3), value: textForm(k) } }, { request_range: { key: textForm(k1) } }, { request_range: { key: textForm(k3) } }],
      });
      assert.equal(t.succeeded, true, 'the compare on the text value held');
      const [, got1, got3] = t.responses.map((x: any) => x.response_range?.kvs?.[0]);
      assert.equal(hex(fromTextForm(got1.key)), hex(k1));
      assert.equal(hex(fromTextForm(got3.key)), hex(k3));
      assert.equal(hex(got3.value === undefined ? Buffer.alloc(0) : fromTextForm(got3.value)), hex(k));
      for (const [key, value] of [[k1, v], [k2, v], [k3, k]] as const) written.set(hex(key), hex(value));
    }),
    { seed, numRuns: 40 },
  );

  // Every write reached both watches, keys and values intact.
  const lastSeen = (messages: any[]) => {
    const m = new Map<string, string>();
    for (const msg of messages) for (const e of msg.events ?? []) m.set(hex(fromTextForm(e.kv.key)), e.kv.value === undefined ? '' : hex(fromTextForm(e.kv.value)));
    return m;
  };
  const deadline = Date.now() + 10_000;
  while ((lastSeen(stream.messages).size < written.size || lastSeen(sse.messages).size < written.size) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  stream.close();
  sse.close();
  assert.deepEqual(lastSeen(stream.messages), written, 'the watch stream');
  assert.deepEqual(lastSeen(sse.messages), written, 'the SSE watch');
});

test('without ?encoding=text nothing changes: bytes fields stay base64', async () => {
  const r = await post('/v3/kv/put', { key: b64('plain'), value: b64('é'), prev_kv: true });
  assert.equal(r.prev_kv, undefined);
  const g = await post('/v3/kv/range', { key: b64('plain') });
  assert.equal(g.kvs[0].value, b64('é'));
  const bad = await fetch(`${server.url}/v3/kv/range?encoding=utf8`, { method: 'POST', body: '{}' });
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { error: 'invalid encoding "utf8": want base64 or text', message: 'invalid encoding "utf8": want base64 or text', code: 3 });
});

test('lease time-to-live keys and deleterange prev_kvs in text', async () => {
  await post('/v3/lease/grant', { TTL: 60, ID: 77 });
  const key = new Uint8Array([0x6c, 0x2f, 0xff, 0x00]);
  await post('/v3/kv/put', { key: b64(key), value: b64('é'), lease: 77 });
  const ttl = await post('/v3/lease/timetolive?encoding=text', { ID: 77, keys: true });
  assert.deepEqual(ttl.keys, [{ base64: b64(key) }]);
  const d = await post('/v3/kv/deleterange?encoding=text', { key: { base64: b64(key) }, prev_kv: true });
  assert.equal(d.deleted, '1');
  assert.deepEqual(d.prev_kvs[0].key, { base64: b64(key) });
  assert.equal(d.prev_kvs[0].value, 'é');
});
