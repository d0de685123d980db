import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { cors, corsHeaders } from './index.ts';

const ETCD = {
  'access-control-allow-headers': 'accept, content-type, authorization',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-origin': '*',
};

function corsOf(r: Response): Record<string, string> {
  const out: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    if (k.startsWith('access-control-')) out[k] = v;
  });
  return out;
}

function app(): Hono {
  const a = new Hono();
  a.use('/special', cors({ allowHeaders: ['accept', 'last-event-id'] }));
  a.use('*', cors());
  a.post('/json', (c) => c.json({ ok: true }));
  a.get('/error', (c) => c.body('nope', 400, { 'content-type': 'text/plain' }));
  a.get('/special', (c) => c.text('special'));
  a.post('/sent', () => RESPONSE_ALREADY_SENT);
  a.notFound((c) => c.text('Not Found\n', 404));
  return a;
}

test("the default headers are etcd 3.4's", () => {
  assert.deepEqual(corsHeaders(), ETCD);
});

test('a preflight on any path answers 200, empty, without a content type, before routing', async () => {
  for (const path of ['/json', '/nope', '/']) {
    const r = await app().request(path, { method: 'OPTIONS', headers: { origin: 'http://example.com', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '');
    assert.equal(r.headers.get('content-type'), null);
    assert.deepEqual(corsOf(r), ETCD, 'the origin is not echoed, no Vary, no credentials');
    assert.equal(r.headers.get('vary'), null);
  }
});

test('every other answer gets the headers: success, error, 404', async () => {
  const a = app();
  for (const [method, path, status] of [['POST', '/json', 200], ['GET', '/error', 400], ['POST', '/missing', 404]] as const) {
    const r = await a.request(path, { method, headers: { origin: 'https://app.example.org' } });
    assert.equal(r.status, status);
    assert.deepEqual(corsOf(r), ETCD, `${method} ${path}`);
  }
});

test('a path-specific cors registered first answers its own preflight; its other answers keep the defaults', async () => {
  const a = app();
  const pre = await a.request('/special', { method: 'OPTIONS' });
  assert.equal(pre.headers.get('access-control-allow-headers'), 'accept, last-event-id');
  const get = await a.request('/special');
  assert.equal(await get.text(), 'special');
  assert.equal(get.headers.get('access-control-allow-headers'), ETCD['access-control-allow-headers']);
});

test('an answer already written to Node is left alone', async () => {
  const r = await app().request('/sent', { method: 'POST' });
  assert.equal(r, RESPONSE_ALREADY_SENT);
  assert.deepEqual(corsOf(r), {});
});
