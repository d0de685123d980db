import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthChurn, refusedForToken, TokenSource } from './auth-client.ts';

/** The auth profile's checks catch what they promise: a forbidden write that passed, a refused one that landed. */

test('auth checks: a write to secret/, one to toggle/ inside a revoked window, and a refused write that landed are anomalies', () => {
  const noUrls = () => [];
  const churn = new AuthChurn(noUrls, new TokenSource(noUrls, { name: 'r', password: '' }), new TokenSource(noUrls, { name: 'a', password: '' }), () => 0);
  churn.revoked.push({ from: 1000, to: 2000 });
  churn.probes.push(
    { key: 'toggle/p0', call: 500, ret: 900, status: 200 }, // before the revoke: fine
    { key: 'toggle/p1', call: 1100, ret: 1200, status: 200 }, // wholly inside the revoked window
    { key: 'toggle/p2', call: 900, ret: 1100, status: 200 }, // straddles the revoke: may have applied before it
    { key: 'toggle/p3', call: 1300, ret: 1400, status: 403 }, // refused...
    { key: 'secret/p0', call: 100, ret: 200, status: 200 }, // never allowed
  );
  const found = churn.check([{ type: 'PUT', key: 'toggle/p3' }]).map((a) => a.message);
  assert.equal(found.length, 3, found.join('\n'));
  assert.ok(found.some((m) => m.includes('toggle/p1') && m.includes('revoked')));
  assert.ok(found.some((m) => m.includes('secret/p0')));
  assert.ok(found.some((m) => m.includes('toggle/p3') && m.includes('refused (403) yet applied')));
});

test('a request refused for its token is told apart from one refused for its content', () => {
  assert.equal(refusedForToken(401, { error: 'etcdserver: invalid auth token' }), true);
  assert.equal(refusedForToken(400, { error: 'etcdserver: revision of auth store is old' }), true);
  assert.equal(refusedForToken(403, { error: 'etcdserver: permission denied' }), false);
  assert.equal(refusedForToken(400, { error: 'etcdserver: key is not provided' }), false);
});
