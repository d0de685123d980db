import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { b64, post, startCluster } from '../helpers/cluster.ts';
import { Rng, seedFromEnv, sleep } from './model.ts';

/**
 * Three members: a watch on every member (live from now, and replayed from revision 1) sees the
 * same events, in the same order, in the same answers, while random writes go through any member.
 */

const SEED = seedFromEnv('watch-follower');

function watchAll(url: string, body: string) {
  const lines: any[] = [];
  const u = new URL('/v3/watch', url);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
    let pending = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      pending += d;
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(pending.slice(0, i)).result);
        pending = pending.slice(i + 1);
      }
    });
  });
  req.on('error', () => {});
  req.end(body);
  return { lines, close: () => req.destroy() };
}

test('watches on followers see what the leader sees, in the same order', async () => {
  const rng = new Rng(SEED);
  const c = await startCluster({ size: 3 });
  try {
    const urls = c.members.map((m) => m!.url);
    // Wait for a leader: a write that succeeds.
    let bootRev = 0;
    for (let i = 0; ; i++) {
      const r = await post(urls[0], '/v3/kv/put', { key: b64('boot'), value: b64('1') }).catch(() => ({ status: 0, json: undefined }));
      if (r.status === 200) {
        bootRev = Number(r.json.header.revision);
        break;
      }
      if (i > 100) throw new Error('no leader');
      await sleep(100);
    }
    // "From now" differs by member while a follower has not applied the boot write yet: start all after it.
    const live = urls.map((u) => watchAll(u, JSON.stringify({ create_request: { key: 'AA==', range_end: 'AA==', prev_kv: true, start_revision: String(bootRev + 1) } })));
    await sleep(300);
    const keys = ['a', 'b', 'c', 'd/1', 'd/2'];
    let last = 0;
    for (let n = 0; n < 60; n++) {
      const u = rng.pick(urls);
      const k = rng.pick(keys);
      const r = rng.float();
      const res =
        r < 0.6
          ? await post(u, '/v3/kv/put', { key: b64(k), value: b64(`v${n}`) })
          : r < 0.8
            ? await post(u, '/v3/kv/deleterange', { key: b64('d/'), range_end: b64('d0') })
            : await post(u, '/v3/kv/txn', { success: [{ request_put: { key: b64('a'), value: b64(`t${n}`) } }, { request_delete_range: { key: b64(k === 'a' ? 'b' : k) } }] });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      last = Math.max(last, Number(res.json.header.revision));
    }
    const replay = urls.map((u) => watchAll(u, JSON.stringify({ create_request: { key: 'AA==', range_end: 'AA==', start_revision: '1' } })));
    const events = (s: { lines: any[] }) => s.lines.filter((l) => l.events).flatMap((l) => l.events);
    const answers = (s: { lines: any[] }) => s.lines.filter((l) => l.events).map((l) => JSON.stringify(l.events));
    const reached = (s: { lines: any[] }) => {
      const e = events(s);
      return e.length > 0 && Number(e[e.length - 1].kv.mod_revision) >= last;
    };
    const deadline = Date.now() + 20_000;
    while (![...live, ...replay].every(reached) && Date.now() < deadline) await sleep(50);
    // Live answers: one per revision, identical on every member (headers differ only in member_id).
    assert.ok(answers(live[0]).length > 0);
    assert.deepEqual(answers(live[1]), answers(live[0]), 'member 1 against member 0');
    assert.deepEqual(answers(live[2]), answers(live[0]), 'member 2 against member 0');
    // History replayed on each member holds the same events (catch-up may group revisions differently).
    const plain = (s: { lines: any[] }) => events(s).map((e) => JSON.stringify(e));
    assert.deepEqual(plain(replay[1]), plain(replay[0]));
    assert.deepEqual(plain(replay[2]), plain(replay[0]));
    for (const s of [...live, ...replay]) s.close();
  } catch (err) {
    console.log(`watch-follower: failing seed ${SEED} (replay with EDGECD_SEED=${SEED})`);
    throw err;
  } finally {
    await c.stop();
  }
});
