import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post, startCluster } from '../helpers/cluster.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';

/**
 * Auth state travels in raft snapshots: a learner that joins after the log was compacted has only
 * the leader's snapshot to learn users, roles, the auth revision and the signing key from. Tokens
 * the leader issued must verify on it, its permission checks must match, and a token made stale by
 * a role change before the snapshot must be stale there too.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const call = (url: string, path: string, body: unknown, token?: string) =>
  fetch(`${url}${path}`, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));

async function token(url: string, name: string, password: string): Promise<string> {
  const r = await post(url, '/v3/auth/authenticate', { name, password });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.token;
}

test('a learner that catches up by snapshot has the users, roles, auth revision and signing key', { timeout: 240_000 }, async () => {
  const c = await startCluster({ size: 3, args: ['--bcrypt-cost', '4', '--snapshot-count', '50'] });
  const extraDb = await createTestDatabase();
  let learner: Awaited<ReturnType<typeof startEdgecd>> | undefined;
  try {
    const url = c.members[0]!.url;
    for (const [path, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
      ['/v3/auth/role/add', { name: 'app' }],
      ['/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64('app/'), range_end: b64('app0') } }],
      ['/v3/auth/role/grant', { name: 'app', perm: { permType: 'READ', key: b64('shared') } }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'app' }],
      ['/v3/auth/enable', {}],
    ] as const) {
      const r = await post(url, path, body);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
    }
    const root = await token(url, 'root', 'rootpw');
    const staleAlice = await token(url, 'alice', 'alicepw');
    // A role change after staleAlice was issued: the auth revision moves past it.
    assert.equal((await call(url, '/v3/auth/role/revoke', { role: 'app', key: b64('shared') }, root)).status, 200);
    const alice = await token(url, 'alice', 'alicepw');
    const rootNow = await token(url, 'root', 'rootpw');
    const authRevision = (await call(url, '/v3/auth/status', {}, rootNow)).json.authRevision;

    // Enough entries that the log the learner would need is compacted away behind a snapshot.
    for (let i = 0; i < 150; i++) assert.equal((await call(url, '/v3/kv/put', { key: b64(`app/${i}`), value: b64(`v${i}`) }, alice)).status, 200);
    assert.equal((await call(url, '/v3/kv/put', { key: b64('shared'), value: b64('s') }, rootNow)).status, 200);

    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    // Refused as 'unhealthy cluster' until the member has been connected to every voter for 5 s: retried.
    let add = await call(url, '/v3/cluster/member/add', { peerURLs: [peerUrl], isLearner: true }, rootNow);
    for (let i = 0; i < 80 && add.status === 503 && add.json.error === 'etcdserver: unhealthy cluster'; i++) {
      await sleep(250);
      add = await call(url, '/v3/cluster/member/add', { peerURLs: [peerUrl], isLearner: true }, rootNow);
    }
    assert.equal(add.status, 200, JSON.stringify(add.json));
    learner = await startEdgecd({
      name: 'm3',
      databaseUrl: extraDb.url,
      peerPort,
      initialCluster: `${c.initialCluster},m3=${peerUrl}`,
      clusterState: 'existing',
      args: ['--bcrypt-cost', '4', '--snapshot-count', '50'],
    });
    const count = async () => Number((await call(learner!.url, '/v3/kv/range', { key: b64('app/'), range_end: b64('app0'), serializable: true, count_only: true }, alice)).json.count ?? 0);
    const deadline = Date.now() + 30_000;
    while ((await count()) < 150 && Date.now() < deadline) await sleep(200);
    assert.equal(await count(), 150, "the leader's token verifies on the learner and its role reaches app/");

    const l = learner.url;
    const status = await call(l, '/v3/maintenance/status', {}, rootNow);
    assert.equal(status.json.isLearner, true);
    assert.ok(Number(status.json.raftAppliedIndex) > 0);
    const denied = await call(l, '/v3/kv/range', { key: b64('shared'), serializable: true }, alice);
    assert.equal(denied.status, 403, 'the revoke that came before the snapshot holds on the learner');
    const stale = await call(l, '/v3/kv/range', { key: b64('app/1'), serializable: true }, staleAlice);
    assert.deepEqual([stale.status, stale.json.error], [400, 'etcdserver: revision of auth store is old']);
    const forged = `${alice.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`;
    assert.equal((await call(l, '/v3/kv/range', { key: b64('app/1'), serializable: true }, forged)).status, 401);
    const rootRead = await call(l, '/v3/kv/range', { key: b64('shared'), serializable: true }, rootNow);
    assert.equal(rootRead.json.kvs?.[0]?.value, b64('s'));
    // Auth status is answered from the member's own store, so this is the learner's auth revision.
    const st = await call(l, '/v3/auth/status', {}, rootNow);
    assert.deepEqual([st.json.enabled, st.json.authRevision], [true, authRevision]);
  } finally {
    await learner?.kill();
    await c.stop();
    await extraDb.drop();
  }
});
