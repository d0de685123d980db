import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post, startCluster } from '../helpers/cluster.ts';
import { startProxyProcess, metric } from './proxy-process.ts';
import { openSse, type SseClient } from './sse-client.ts';

/**
 * The proxy with auth on: a subscriber joins a shared watch only if the member would let it watch
 * that range itself, and is refused in the member's own words otherwise; two users on one upstream
 * watch see only that range; serializable reads with a token are answered as the member answers
 * that token, never from an answer read for someone else (or for nobody, before auth was enabled).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const startProxy = (endpoints: string[]) => startProxyProcess(endpoints, 'redis://127.0.0.1:6379/0');

const call = (url: string, route: string, body: unknown, token?: string) =>
  fetch(url + route, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));

/** A status and body without the header (member_id and revision may differ between the two routes). */
const bare = (a: { status: number; json: any }) => {
  const { header: _h, ...rest } = a.json ?? {};
  return { status: a.status, body: rest };
};

/** What GET /v3/watch/sse answers when it refuses: status and body; a 200 stream is closed at once. */
async function sseAnswer(url: string, q: string): Promise<{ status: number; body: string }> {
  const ac = new AbortController();
  const r = await fetch(url + q, { headers: { accept: 'text/event-stream' }, signal: ac.signal });
  if (r.status === 200) {
    ac.abort();
    return { status: 200, body: '' };
  }
  return { status: r.status, body: await r.text() };
}

async function got(clients: SseClient[], rev: number, ms = 20_000): Promise<void> {
  const t = Date.now();
  while (clients.some((c) => (c.lastId ?? 0) < rev)) {
    if (Date.now() - t > ms) throw new Error(`short of ${rev}: ${clients.map((c) => c.lastId).join(',')}`);
    await sleep(25);
  }
}

test('proxy with auth on: SSE watches checked per subscriber as the member checks them, shared watches leak nothing, serializable reads never from another user\'s answer', { timeout: 180_000 }, async () => {
  const cluster = await startCluster({ size: 1, args: ['--bcrypt-cost', '4'] });
  const m = cluster.members[0]!.url;
  const proxy = await startProxy([m]);
  const open: SseClient[] = [];
  try {
    // Before auth: a subscriber without a token on a/ makes a/ a cached range on the proxy.
    assert.equal((await call(m, '/v3/kv/put', { key: b64('a/0'), value: b64('before') })).status, 200);
    const early = await openSse(`${proxy.url}/v3/watch/sse?prefix=a/&encoding=text`);
    open.push(early);
    await sleep(300);
    const aRange = { key: b64('a/'), range_end: b64('a0'), serializable: true };
    assert.equal((await call(proxy.url, '/v3/kv/range', aRange)).status, 200);
    assert.equal((await call(proxy.url, '/v3/kv/range', aRange)).status, 200);
    assert.ok((await metric(proxy.url, 'edgecd_proxy_read_cache_hits_total')) >= 1, 'the no-token read was cached before auth');

    for (const [route, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/role/add', { name: 'reada' }],
      ['/v3/auth/role/grant', { name: 'reada', perm: { permType: 'READ', key: b64('a/'), range_end: b64('a0') } }],
      ['/v3/auth/role/add', { name: 'readab' }],
      ['/v3/auth/role/grant', { name: 'readab', perm: { permType: 'READ', key: b64('a/'), range_end: b64('a0') } }],
      ['/v3/auth/role/grant', { name: 'readab', perm: { permType: 'READ', key: b64('b/'), range_end: b64('b0') } }],
      ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'reada' }],
      ['/v3/auth/user/add', { name: 'bob', password: 'bobpw' }],
      ['/v3/auth/user/grant', { user: 'bob', role: 'readab' }],
      ['/v3/auth/user/add', { name: 'carol', password: 'carolpw' }],
      ['/v3/auth/enable', {}],
    ] as const) {
      const r = await post(m, route, body);
      assert.equal(r.status, 200, `${route}: ${JSON.stringify(r.json)}`);
    }
    // Right after auth is enabled (no write since the cached read): a read without a token is refused as the member refuses it.
    assert.equal(early.ended, false, 'the pre-auth subscriber is still there');
    assert.deepEqual(bare(await call(proxy.url, '/v3/kv/range', aRange)), bare(await call(m, '/v3/kv/range', aRange)), 'no answer cached before auth is served after it');
    const tok = async (name: string, password: string) => {
      const r = await call(proxy.url, '/v3/auth/authenticate', { name, password });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json.token as string;
    };
    const [root, alice, bob, carol] = [await tok('root', 'rootpw'), await tok('alice', 'alicepw'), await tok('bob', 'bobpw'), await tok('carol', 'carolpw')];
    const q = (prefix: string, token?: string) => `/v3/watch/sse?prefix=${prefix}&encoding=text${token ? `&token=${encodeURIComponent(token)}` : ''}`;

    // Refusals: the proxy answers what the member answers, status and body.
    for (const [what, query] of [
      ["alice on b/ (not hers)", q('b/', alice)],
      ['carol on a/ (no role)', q('a/', carol)],
      ['no token on a/', q('a/')],
      ['a forged token on a/', q('a/', 'not.a.token')],
    ] as const) {
      const direct = await sseAnswer(m, query);
      const via = await sseAnswer(proxy.url, query);
      assert.notEqual(direct.status, 200, `${what}: the member refuses`);
      assert.deepEqual(via, direct, `${what}: the proxy refuses as the member does`);
    }
    // The Authorization header is honoured as the query parameter is.
    const hdr = await fetch(proxy.url + q('b/'), { headers: { accept: 'text/event-stream', authorization: alice } });
    const hdrDirect = await fetch(m + q('b/'), { headers: { accept: 'text/event-stream', authorization: alice } });
    assert.deepEqual([hdr.status, await hdr.text()], [hdrDirect.status, await hdrDirect.text()]);

    // Alice and Bob on a/ share one upstream watch (with the pre-auth subscriber); Bob also watches b/.
    const aliceA = await openSse(proxy.url + q('a/', alice));
    const bobA = await openSse(proxy.url + q('a/', bob));
    const bobB = await openSse(proxy.url + q('b/', bob));
    open.push(aliceA, bobA, bobB);
    assert.deepEqual([aliceA.status, bobA.status, bobB.status], [200, 200, 200]);
    await sleep(300);
    assert.equal(await metric(proxy.url, 'edgecd_proxy_feeds'), 2, 'a/ and b/');
    assert.equal(await metric(proxy.url, 'edgecd_proxy_upstream_watches'), 2, 'one upstream watch per range, whoever follows it');
    const aRevs: number[] = [];
    const bRevs: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const k = i % 2 ? `a/${i}` : `b/${i}`;
      const r = await call(proxy.url, '/v3/kv/put', { key: b64(k), value: b64(`v${i}`) }, root);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      (i % 2 ? aRevs : bRevs).push(Number(r.json.header.revision));
    }
    await got([aliceA, bobA, bobB], Math.max(...aRevs, ...bRevs) - 1);
    await got([aliceA, bobA], aRevs.at(-1)!);
    await got([bobB], bRevs.at(-1)!);
    await sleep(300);
    assert.deepEqual(aliceA.ids, aRevs, "alice sees a/'s puts, nothing of b/");
    assert.deepEqual(bobA.ids, aRevs);
    assert.deepEqual(bobB.ids, bRevs);

    // Serializable reads with a token: as the member answers that token, whoever read the range before.
    const bRange = { key: b64('b/'), range_end: b64('b0'), serializable: true };
    for (const [who, t] of [['root', root], ['bob', bob], ['alice', alice], ['carol', carol], ['nobody', undefined], ['alice again', alice], ['bob again', bob]] as const) {
      for (const r of [aRange, bRange, { ...aRange, count_only: true }]) {
        const via = bare(await call(proxy.url, '/v3/kv/range', r, t));
        const direct = bare(await call(m, '/v3/kv/range', r, t));
        assert.deepEqual(via, direct, `${who} reads ${JSON.stringify(r)}: proxy ${JSON.stringify(via)} vs member ${JSON.stringify(direct)}`);
      }
    }
  } finally {
    for (const c of open) c.close();
    proxy.proc.kill('SIGKILL');
    await cluster.stop();
  }
});
