import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post, startCluster } from '../helpers/cluster.ts';

/** Leases on a 3-member cluster: expiry everywhere, keep-alives through a follower, a leader change. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function leaderIndex(urls: string[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const [i, url] of urls.entries()) {
      const r = await post(url, '/v3/maintenance/status', {}, 2000).catch(() => undefined);
      if (r?.status === 200 && r.json.leader && r.json.leader === r.json.header.member_id) return i;
    }
    await sleep(200);
  }
  throw new Error('no leader');
}

async function exists(url: string, key: string): Promise<boolean> {
  const r = await post(url, '/v3/kv/range', { key: b64(key), serializable: true });
  return (r.json.kvs ?? []).length > 0;
}

/** Keep-alive requests on one stream; returns the TTLs answered. */
async function keepAlive(url: string, id: string, times: number): Promise<number[]> {
  const body = Array.from({ length: times }, () => JSON.stringify({ ID: id })).join('\n');
  const r = await fetch(`${url}/v3/lease/keepalive`, { method: 'POST', body });
  const text = await r.text();
  return text.trim().split('\n').map((l) => Number(JSON.parse(l).result.TTL ?? 0));
}

/** Reads a watch stream until a DELETE of `key` arrives; resolves with its revision. */
async function watchDelete(url: string, key: string, signal: AbortSignal): Promise<number> {
  const r = await fetch(`${url}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: { key: b64(key) } }), signal });
  const reader = r.body!.getReader();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error('watch ended');
    buf += Buffer.from(value).toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      for (const e of line.result?.events ?? []) if (e.type === 'DELETE') return Number(e.kv.mod_revision);
    }
  }
}

test('leases on a cluster: expiry on every member, keep-alive via a follower, no early expiry across a leader kill', { timeout: 240_000 }, async () => {
  const c = await startCluster({ size: 3 });
  const abort = new AbortController();
  try {
    const urls = c.members.map((m) => m!.url);
    const lead = await leaderIndex(urls);
    const follower = urls[(lead + 1) % 3];

    // 1. A 2 s lease on a key: gone on every member soon after, and a watcher sees the delete.
    const g = await post(follower, '/v3/lease/grant', { TTL: 2, ID: '101' });
    assert.equal(g.json.TTL, '2');
    await post(follower, '/v3/kv/put', { key: b64('svc/a'), value: b64('x'), lease: '101' });
    const watched = watchDelete(urls[(lead + 2) % 3], 'svc/a', abort.signal);
    const t0 = Date.now();
    const ttl = await post(follower, '/v3/lease/timetolive', { ID: '101', keys: true });
    assert.deepEqual(ttl.json.keys, [b64('svc/a')]);
    assert.ok(Number(ttl.json.TTL) <= 2 && Number(ttl.json.grantedTTL) === 2);
    const deleteRev = await watched;
    const gone = Date.now() - t0;
    for (const url of urls) assert.equal(await exists(url, 'svc/a'), false);
    console.log(`lease: 2 s lease expired and its key was deleted after ${gone} ms (revision ${deleteRev})`);
    assert.ok(gone >= 1500 && gone < 6000, `expired after ${gone} ms`);
    assert.equal((await post(follower, '/v3/lease/timetolive', { ID: '101' })).json.TTL, '-1');

    // 2. Keep-alives through a follower hold a 2 s lease for three times its TTL.
    await post(follower, '/v3/lease/grant', { TTL: 2, ID: '102' });
    await post(follower, '/v3/kv/put', { key: b64('svc/b'), value: b64('x'), lease: '102' });
    const started = Date.now();
    while (Date.now() - started < 6500) {
      assert.deepEqual(await keepAlive(follower, '102', 1), [2]);
      await sleep(500);
    }
    for (const url of urls) assert.equal(await exists(url, 'svc/b'), true, 'kept alive for 3x TTL');

    // 3. A 12 s lease survives the leader's death without expiring early, and still expires later.
    await post(follower, '/v3/lease/grant', { TTL: 12, ID: '103' });
    await post(follower, '/v3/kv/put', { key: b64('svc/c'), value: b64('x'), lease: '103' });
    const granted = Date.now();
    await sleep(2000);
    await c.members[lead]!.kill();
    const rest = urls.filter((_, i) => i !== lead);
    await leaderIndex(rest);
    while (Date.now() - granted < 11_000) {
      assert.equal(await exists(rest[0], 'svc/c'), true, `expired early, ${Date.now() - granted} ms after grant`);
      await sleep(500);
    }
    let expiredAt = 0;
    while (Date.now() - granted < 30_000) {
      if (!(await exists(rest[0], 'svc/c'))) {
        expiredAt = Date.now() - granted;
        break;
      }
      await sleep(300);
    }
    console.log(`lease: 12 s lease across a leader kill expired ${expiredAt} ms after grant`);
    assert.ok(expiredAt > 0, 'the lease never expired after the leader change');
  } finally {
    abort.abort();
    await c.stop();
  }
});
