import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { EtcdError } from '../../etcd-errors.ts';
import { authorize, authToken, type TokenVerifier } from './index.ts';

/** A route that asks for the caller where etcd's server would, and says what it found. */
function app(opts?: Parameters<typeof authToken>[0]): Hono {
  const a = new Hono();
  a.use('*', authToken(opts));
  a.post('/checked', async (c) => {
    try {
      const who = await authorize(c);
      return c.json({ user: who.username === '' ? null : who.username });
    } catch (err) {
      const e = err as EtcdError;
      return c.json({ code: e.code, error: e.message }, 401);
    }
  });
  a.post('/unchecked', (c) => c.json({ ok: true }));
  return a;
}

test('without a token there is no caller, and nothing is refused', async () => {
  const r = await app().request('/checked', { method: 'POST' });
  assert.deepEqual(await r.json(), { user: null });
});

test('auth disabled: a token is refused where it is checked, with etcd\'s error', async () => {
  const r = await app().request('/checked', { method: 'POST', headers: { authorization: 'anything' } });
  assert.equal(r.status, 401);
  assert.deepEqual(await r.json(), { code: 16, error: 'etcdserver: invalid auth token' });
});

test('the middleware itself refuses nothing: a route that does not check answers as usual', async () => {
  const r = await app().request('/unchecked', { method: 'POST', headers: { authorization: 'anything' } });
  assert.equal(r.status, 200);
});

test('a verifier names the caller; a query parameter can carry the token', async () => {
  const verify: TokenVerifier = (t) => {
    if (t !== 'good') throw new EtcdError(16, 'etcdserver: invalid auth token');
    return { username: 'alice', revision: 3 };
  };
  const a = app({ verify, queryParam: 'token' });
  assert.deepEqual(await (await a.request('/checked', { method: 'POST', headers: { authorization: 'good' } })).json(), { user: 'alice' });
  assert.deepEqual(await (await a.request('/checked?token=good', { method: 'POST' })).json(), { user: 'alice' });
  assert.equal((await a.request('/checked?token=bad', { method: 'POST' })).status, 401);
  // The header wins over the query.
  assert.deepEqual(await (await a.request('/checked?token=bad', { method: 'POST', headers: { authorization: 'good' } })).json(), { user: 'alice' });
});
