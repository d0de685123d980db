import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post, startCluster } from '../helpers/cluster.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';

/**
 * Found by the robustness harness (wipe-follower: a member re-added as a learner never caught up).
 * A learner added to a cluster that has not compacted its log since the member was added cannot
 * catch up: the leader's only snapshot (the bootstrap one at index 1, or the last compaction's)
 * does not name the learner in its conf state, so raft's restore() on the learner refuses it, and
 * the leader has no log before that snapshot to send instead. It waits until the leader happens to
 * compact its log again (--snapshot-count more entries); on a quiet cluster, forever.
 * test/server/membership.test.ts passes only because its 300 puts with --snapshot-count 50 make a
 * compaction fall right after the add (with 320 puts it fails the same way).
 */
test('a learner added before the next log compaction catches up', { timeout: 120_000, todo: 'bug: the snapshot a new learner gets predates its addition and does not name it' }, async () => {
  const c = await startCluster({ size: 3 });
  const db = await createTestDatabase();
  let learner: Awaited<ReturnType<typeof startEdgecd>> | undefined;
  try {
    const url = c.members[0]!.url;
    for (let i = 0; i < 20; i++) assert.equal((await post(url, '/v3/kv/put', { key: b64(`k/${i}`), value: b64('v') })).status, 200);
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    assert.equal((await post(url, '/v3/cluster/member/add', { peerURLs: [peerUrl], isLearner: true })).status, 200);
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
