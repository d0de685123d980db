import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { methodNotAllowed, postOnly } from './index.ts';

function app(): Hono {
  const a = new Hono();
  postOnly(a, '/v3/kv/range', (c) => c.text('ran'));
  a.get('/version', (c) => c.text('v'));
  a.on(['POST', 'PUT', 'DELETE', 'PATCH'], '/version', methodNotAllowed({ allow: 'GET' }));
  return a;
}

test("another method on a gateway route is grpc-gateway's 405: text, no Allow header", async () => {
  const a = app();
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    const r = await a.request('/v3/kv/range', { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('allow'), null);
    assert.equal(await r.text(), 'Method Not Allowed\n');
  }
  const head = await a.request('/v3/kv/range', { method: 'HEAD' });
  assert.equal(head.status, 405);
  assert.equal(await head.text(), '');
  assert.equal(await (await a.request('/v3/kv/range', { method: 'POST' })).text(), 'ran');
});

test("Go's own mux names the allowed method", async () => {
  const r = await app().request('/version', { method: 'POST' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET');
  assert.equal(await r.text(), 'Method Not Allowed\n');
});
