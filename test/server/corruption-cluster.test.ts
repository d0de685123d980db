import { test } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { b64, post, startCluster } from '../helpers/cluster.ts';

/**
 * A member's rows changed behind its back (a disk that lies, a hand-edited table): the leader's
 * periodic hash comparison finds it and raises CORRUPT for that member, and the cluster refuses
 * writes until an operator clears it.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a member whose rows were changed is found by the leader and CORRUPT is raised for it', { timeout: 180_000 }, async () => {
  const c = await startCluster({ size: 3, args: ['--experimental-corrupt-check-time', '1s'] });
  try {
    const urls = c.members.map((m) => m!.url);
    for (let i = 0; i < 20; i++) assert.equal((await post(urls[0], '/v3/kv/put', { key: b64(`k${i % 5}`), value: b64(`v${i}`) })).status, 200);
    // Every member has applied and stored it all (hashkv waits for its own rows).
    let leader = -1;
    let leaderId = '';
    for (let tries = 0; tries < 50 && leader < 0; tries++) {
      for (const [i, u] of urls.entries()) {
        const st = await post(u, '/v3/maintenance/status', {});
        if (st.json.leader && st.json.leader === st.json.header.member_id) {
          leader = i;
          leaderId = st.json.leader;
        }
      }
      if (leader < 0) await sleep(200);
    }
    const victim = (leader + 1) % 3;
    const victimId = (await post(urls[victim], '/v3/maintenance/status', {})).json.header.member_id;
    assert.deepEqual((await post(urls[0], '/v3/maintenance/alarm', {})).json, {}, 'no alarm while the members agree');
    const sql = postgres(c.databaseUrl(victim)!, { max: 1, onnotice: () => {} });
    try {
      // The newest revision of a live key: every member's hash counts it.
      const n = await sql`UPDATE kv SET value = 'tampered'::bytea WHERE main = (SELECT max(main) FROM kv WHERE NOT tombstone)`;
      assert.equal(n.count, 1);
    } finally {
      await sql.end();
    }
    let alarms: { memberID: string; alarm: string }[] = [];
    for (let i = 0; i < 60 && alarms.length === 0; i++) {
      await sleep(500);
      alarms = (await post(urls[leader], '/v3/maintenance/alarm', {})).json.alarms ?? [];
    }
    assert.deepEqual(alarms, [{ memberID: victimId, alarm: 'CORRUPT' }], `the leader (${leaderId}) named the changed member`);
    const refused = await post(urls[leader], '/v3/kv/put', { key: b64('after'), value: b64('x') });
    assert.deepEqual([refused.status, refused.json.error], [500, 'etcdserver: corrupt cluster']);
    assert.equal((await fetch(`${urls[leader]}/health`)).status, 503);
  } finally {
    await c.stop();
  }
});
