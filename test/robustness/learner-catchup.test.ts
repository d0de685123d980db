import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post, postReconfig, startCluster } from '../helpers/cluster.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';

/**
 * Found by the robustness harness (wipe-follower: a member re-added as a learner never caught up).
 * A new learner's log is empty, so it can only catch up by snapshot, and raft's restore() refuses a
 * snapshot whose conf state does not name it. The leader's snapshot used to be the bootstrap one
 * (index 1) or the last compaction's, both older than the add: on a quiet cluster the learner
 * waited forever. The leader now takes a snapshot once the conf change is in its tables.
 */
test('a learner added before the next log compaction catches up', { timeout: 120_000 }, async () => {
  const c = await startCluster({ size: 3 });
  const db = await createTestDatabase();
  let learner: Awaited<ReturnType<typeof startEdgecd>> | undefined;
  try {
    const url = c.members[0]!.url;
    for (let i = 0; i < 20; i++) assert.equal((await post(url, '/v3/kv/put', { key: b64(`k/${i}`), value: b64('v') })).status, 200);
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    // (Refused as 'unhealthy cluster' until the member has been connected to every voter for 5 s.)
    assert.equal((await postReconfig(url, '/v3/cluster/member/add', { peerURLs: [peerUrl], isLearner: true })).status, 200);
    learner = await startEdgecd({ name: 'm3', databaseUrl: db.url, peerPort, initialCluster: `${c.initialCluster},m3=${peerUrl}`, clusterState: 'existing' });
    let count = 0;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && count < 20; await new Promise((r) => setTimeout(r, 250))) {
      const r = await post(learner.url, '/v3/kv/range', { key: b64('k/'), range_end: b64('k0'), serializable: true, count_only: true });
      count = Number(r.json.count ?? 0);
    }
    assert.equal(count, 20, 'the learner caught up within 15 s');
  } finally {
    await learner?.kill();
    await c.stop();
    await db.drop();
  }
});
