import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post } from '../helpers/cluster.ts';
import { startCluster } from '../helpers/cluster.ts';

/**
 * Auth on a 3-member cluster with edgecd's default tokens (JWTs signed with a key the members share
 * through the log): users and roles made through one member, a token issued by a second used on the
 * third; every route enforces the caller's roles; a token older than a role change is refused;
 * watches (stream and SSE) are checked against the watched range; forged and tampered tokens are
 * refused; a restarted member keeps users, roles, the auth revision and the signing key.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const withToken = (url: string, path: string, body: unknown, token?: string) =>
  fetch(`${url}${path}`, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));

async function token(url: string, name: string, password: string): Promise<string> {
  const r = await post(url, '/v3/auth/authenticate', { name, password });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.token;
}

/** The first line of a watch stream after a create request. */
async function firstWatchLine(url: string, key: string, tok?: string): Promise<any> {
  const ac = new AbortController();
  const r = await fetch(`${url}/v3/watch`, { method: 'POST', headers: tok ? { authorization: tok } : {}, body: JSON.stringify({ create_request: { key: b64(key) } }), signal: ac.signal });
  const reader = r.body!.getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('watch ended');
      buf += Buffer.from(value).toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) return JSON.parse(buf.slice(0, nl)).result;
    }
  } finally {
    ac.abort();
  }
}

test('auth on a cluster: shared-key JWTs, RBAC on every route, stale tokens, watches, forged tokens, restart', { timeout: 300_000 }, async () => {
  const c = await startCluster({ size: 3, args: ['--bcrypt-cost', '4'] });
  try {
    const [a, b, d] = c.members.map((m) => m!.url);
    for (const [path, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
      ['/v3/auth/role/add', { name: 'app' }],
      ['/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64('app/'), range_end: b64('app0') } }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'app' }],
      ['/v3/auth/enable', {}],
    ] as const) {
      const r = await post(a, path, body);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
    }
    const st = await withToken(a, '/v3/auth/status', {});
    assert.equal(st.json.enabled, true);

    // Issued by one member, honoured by another: the signing key came through the log.
    const alice = await token(b, 'alice', 'alicepw');
    assert.match(alice, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
    assert.equal((await withToken(d, '/v3/kv/put', { key: b64('app/x'), value: b64('1') }, alice)).status, 200);
    assert.equal((await withToken(d, '/v3/kv/put', { key: b64('other'), value: b64('1') }, alice)).status, 403);
    const noToken = await withToken(d, '/v3/kv/range', { key: b64('app/x') });
    assert.deepEqual([noToken.status, noToken.json.error], [400, 'etcdserver: user name is empty']);
    const read = await withToken(d, '/v3/kv/range', { key: b64('app/'), range_end: b64('app0'), serializable: true }, alice);
    assert.equal(read.json.count, '1');
    assert.equal((await withToken(a, '/v3/kv/txn', { success: [{ request_put: { key: b64('app/y'), value: b64('2') } }, { request_range: { key: b64('other') } }] }, alice)).status, 403, 'every op of a txn is checked');
    assert.equal((await withToken(a, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'] }, alice)).status, 403, 'membership needs root');
    const defrag = await withToken(a, '/v3/maintenance/defragment', {}, alice);
    assert.deepEqual([defrag.status, defrag.json.error], [500, 'auth: permission denied'], "etcd 3.4's untranslated error");

    // Leases: revoking needs write on every attached key; time-to-live shows keys only to who may read them.
    const root = await token(a, 'root', 'rootpw');
    await withToken(a, '/v3/lease/grant', { ID: '77', TTL: '300' }, root);
    assert.equal((await withToken(a, '/v3/kv/put', { key: b64('secret'), value: b64('s'), lease: '77' }, root)).status, 200);
    assert.equal((await withToken(b, '/v3/lease/revoke', { ID: '77' }, alice)).status, 403);
    assert.equal((await withToken(b, '/v3/lease/timetolive', { ID: '77', keys: true }, alice)).status, 403);
    assert.equal((await withToken(b, '/v3/lease/timetolive', { ID: '77' }, alice)).status, 200, 'without keys, as etcd');

    // Watches: checked against the watched range when created.
    assert.equal((await firstWatchLine(d, 'app/x', alice)).canceled, undefined);
    const denied = await firstWatchLine(d, 'secret', alice);
    assert.equal(denied.cancel_reason, 'rpc error: code = PermissionDenied desc = etcdserver: permission denied');
    const sseOk = await fetch(`${d}/v3/watch/sse?prefix=app/&encoding=text&token=${encodeURIComponent(alice)}`, { signal: AbortSignal.timeout(2000) }).catch((e) => e);
    assert.equal(sseOk.status, 200);
    void sseOk.body?.cancel();
    const sseDenied = await fetch(`${d}/v3/watch/sse?key=${encodeURIComponent(b64('secret'))}&token=${encodeURIComponent(alice)}`);
    assert.equal(sseDenied.status, 403);

    // Forged and tampered tokens.
    const [h, p, s] = alice.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = [
      `${h}.${Buffer.from(JSON.stringify({ ...claims, username: 'root' })).toString('base64url')}.${s}`,
      `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`,
      `${h}.${p}.${s.slice(0, -4)}AAAA`,
      'not-a-token',
    ];
    for (const f of forged) assert.equal((await withToken(a, '/v3/kv/range', { key: b64('app/x') }, f)).status, 401, `refused: ${f.slice(0, 40)}`);

    // A role change makes older tokens stale: the client authenticates again.
    assert.equal((await withToken(a, '/v3/auth/role/revoke', { role: 'app', key: b64('app/'), range_end: b64('app0') }, root)).status, 200);
    await sleep(200);
    const stale = await withToken(d, '/v3/kv/range', { key: b64('app/x') }, alice);
    assert.deepEqual([stale.status, stale.json.error], [400, 'etcdserver: revision of auth store is old']);
    const fresh = await token(d, 'alice', 'alicepw');
    assert.equal((await withToken(d, '/v3/kv/range', { key: b64('app/x') }, fresh)).status, 403, 'and is now refused: the role lost its permission');

    // A restarted member keeps users, roles, the auth revision and the key: a token issued before still works.
    const revBefore = (await withToken(b, '/v3/auth/status', {}, root)).json.authRevision;
    await c.restart(2);
    const d2 = c.members[2]!.url;
    let after: { status: number; json: any } = { status: 0, json: {} };
    for (let i = 0; i < 50 && after.status !== 200; i++) {
      after = await withToken(d2, '/v3/auth/user/get', { name: 'alice' }, root);
      if (after.status !== 200) await sleep(200);
    }
    assert.deepEqual(after.json.roles, ['app']);
    assert.equal((await withToken(d2, '/v3/auth/status', {}, root)).json.authRevision, revBefore);
  } finally {
    await c.stop();
  }
});
