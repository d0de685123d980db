import { test } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { b64, post, postReconfig, startCluster } from '../helpers/cluster.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';

/**
 * Membership on real processes: a learner added to a cluster whose log was compacted catches up
 * by snapshot and is promoted; a member restarted on an emptied database is refused.
 */

async function countOn(url: string, serializable = true): Promise<number> {
  const r = await post(url, '/v3/kv/range', { key: b64('k/'), range_end: b64('k0'), serializable, count_only: true });
  return Number(r.json.count ?? 0);
}

test('a learner joins by snapshot, catches up and is promoted; an emptied member is refused', { timeout: 240_000 }, async () => {
  const c = await startCluster({ size: 3, args: ['--snapshot-count', '50'] });
  const extraDb = await createTestDatabase();
  let learner: Awaited<ReturnType<typeof startEdgecd>> | undefined;
  try {
    const url = c.members[0]!.url;
    for (let i = 0; i < 300; i++) {
      const r = await post(url, '/v3/kv/put', { key: b64(`k/${i}`), value: b64(`v${i}`) });
      assert.equal(r.status, 200);
    }

    // Add a learner; it can only catch up from a snapshot, as the log before it was compacted.
    // (Refused as 'unhealthy cluster' until the member has been connected to every voter for 5 s.)
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const add = await postReconfig(url, '/v3/cluster/member/add', { peerURLs: [peerUrl], isLearner: true });
    assert.equal(add.status, 200, JSON.stringify(add.json));
    assert.equal(add.json.member.isLearner, true);
    assert.equal(add.json.members.length, 4);
    // Within the same second as the first add the new id collides first, as in etcd (the id hashes the second).
    const tooEarly = await post(url, '/v3/cluster/member/add', { peerURLs: [peerUrl], isLearner: true });
    assert.match(tooEarly.json.error, /^etcdserver: (Peer URLs already exists|member ID already exist)$/);

    learner = await startEdgecd({
      name: 'm3',
      databaseUrl: extraDb.url,
      peerPort,
      initialCluster: `${c.initialCluster},m3=${peerUrl}`,
      clusterState: 'existing',
      args: ['--snapshot-count', '50'],
    });
    const deadline = Date.now() + 30_000;
    while ((await countOn(learner.url)) < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await countOn(learner.url), 300, 'learner caught up');
    const status = await post(learner.url, '/v3/maintenance/status', {});
    assert.equal(status.json.isLearner, true);

    // The leader judges "in sync" from its own view of the learner's log, which can trail what the
    // learner has applied for a moment: a client retries, as etcdctl users do.
    let promote = await post(learner.url, '/v3/cluster/member/promote', { ID: add.json.member.ID });
    for (let i = 0; i < 50 && promote.json.error === 'etcdserver: can only promote a learner member which is in sync with leader'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      promote = await post(learner.url, '/v3/cluster/member/promote', { ID: add.json.member.ID });
    }
    assert.equal(promote.status, 200, JSON.stringify(promote.json));
    const again = await post(url, '/v3/cluster/member/promote', { ID: add.json.member.ID });
    assert.equal(again.json.error, 'etcdserver: can only promote a learner member');
    const list = await post(url, '/v3/cluster/member/list', {});
    assert.ok(list.json.members.every((m: any) => !m.isLearner));

    // Writes after promotion reach the new voter.
    const put = await post(learner.url, '/v3/kv/put', { key: b64('k/new'), value: b64('x') });
    assert.equal(put.status, 200);
    // A linearizable read: a serializable one may come before member 1 applied the write.
    assert.equal(await countOn(c.members[1]!.url, false), 301);

    // A member whose database was emptied must not come back as if new.
    await c.members[2]!.kill();
    const sql = postgres(c.databaseUrl(2)!, { max: 1, onnotice: () => {} });
    await sql`TRUNCATE kv, raft_log, raft_state, raft_snapshot, meta, leases, members`;
    await sql.end();
    await assert.rejects(c.restart(2), /has already been bootstrapped/);
  } finally {
    await learner?.kill();
    await c.stop();
    await extraDb.drop();
  }
});
