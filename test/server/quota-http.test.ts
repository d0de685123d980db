import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { b64, post } from '../helpers/cluster.ts';
import { startEdgecd } from '../helpers/server.ts';

/**
 * The quota on a member on Postgres, over the gateway: writes past --quota-backend-bytes are refused
 * with etcd's error and raise NOSPACE; reads and deletes go on; after compaction, defragment and
 * disarming, writes are taken again; nothing acknowledged was lost on the way.
 */

test('quota: NOSPACE refuses growing writes, and compaction, defragment and disarming recover', { timeout: 180_000 }, async () => {
  // A fresh Postgres database takes about 7.5 MB: 4 MB of room above that.
  const base = 7_600_000;
  const quota = base + 4_000_000;
  const m = await startEdgecd({ args: ['--quota-backend-bytes', String(quota)] });
  try {
    const status = (await post(m.url, '/v3/maintenance/status', {})).json;
    assert.ok(Number(status.dbSize) < base + 500_000, `a fresh database takes ${status.dbSize} bytes`);
    const acked: string[] = [];
    let refused: { status: number; json: any } | undefined;
    for (let i = 0; i < 400 && !refused; i++) {
      const key = `big/${i}`;
      const r = await post(m.url, '/v3/kv/put', { key: b64(key), value: randomBytes(60_000).toString('base64') });
      if (r.status === 200) acked.push(key);
      else refused = r;
      if (i % 20 === 19) await new Promise((res) => setTimeout(res, 1100)); // the size is measured once a second
    }
    assert.ok(refused, 'the quota was reached');
    assert.deepEqual([refused.status, refused.json.error, refused.json.code], [429, 'etcdserver: mvcc: database space exceeded', 8]);
    const alarms = (await post(m.url, '/v3/maintenance/alarm', {})).json.alarms;
    assert.deepEqual(alarms.map((a: { alarm: string }) => a.alarm), ['NOSPACE']);
    assert.equal((await post(m.url, '/v3/kv/put', { key: b64('small'), value: b64('x') })).status, 429, 'every growing write is refused now');
    assert.equal((await post(m.url, '/v3/lease/grant', { TTL: '60' })).status, 429);
    const count = (await post(m.url, '/v3/kv/range', { key: b64('big/'), range_end: b64('big0'), count_only: true })).json.count;
    assert.equal(Number(count), acked.length, 'reads go on, and every acknowledged write is there');

    const del = await post(m.url, '/v3/kv/deleterange', { key: b64('big/'), range_end: b64('big0') });
    assert.equal(del.status, 200, 'deletes go on');
    assert.equal((await post(m.url, '/v3/kv/compaction', { revision: del.json.header.revision, physical: true })).status, 200, 'and compaction');
    assert.equal((await post(m.url, '/v3/maintenance/defragment', {})).status, 200);
    const after = Number((await post(m.url, '/v3/maintenance/status', {})).json.dbSize);
    assert.ok(after < quota - 2_000_000, `defragment gave the space back: ${after} bytes`);
    await post(m.url, '/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: alarms[0].memberID, alarm: 'NOSPACE' });
    assert.deepEqual((await post(m.url, '/v3/maintenance/alarm', {})).json, {});
    assert.equal((await post(m.url, '/v3/kv/put', { key: b64('small'), value: b64('x') })).status, 200, 'writes are taken again');
  } finally {
    await m.stop();
  }
});
