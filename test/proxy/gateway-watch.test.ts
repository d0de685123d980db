import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, startCluster } from '../helpers/cluster.ts';
import { startEdgecd } from '../helpers/server.ts';
import { byWatch } from '../watch/golden-run.ts';
import { masked, openGateway, type GatewayClient } from './gateway-client.ts';
import { metric, startProxyProcess } from './proxy-process.ts';
import { openSse } from './sse-client.ts';

/**
 * POST /v3/watch through the proxy, served from its shared feeds: many streams on one range share
 * one upstream watch (with SSE subscribers too); a stream answers what the member's own stream
 * answers for the same requests (history from the feed's ring, a compacted start the ring still
 * holds, cancel, progress requests and notifications); auth refusals in the member's words, never
 * joining a feed; and a member killed under the streams changes nothing they see.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const create = (o: Record<string, unknown>) => ({ create_request: o });
const prefix = (p: string) => ({ key: b64(p), range_end: b64(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1)) });

async function call(url: string, route: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url + route, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      const json = await r.json();
      if (r.status === 200 || i >= 60 || (r.status < 500 && r.status !== 429)) return { status: r.status, json };
    } catch (e) {
      if (i >= 60) throw e;
    }
    await sleep(250);
  }
}

async function put(url: string, key: string, value = 'v', token?: string): Promise<number> {
  const r = await call(url, '/v3/kv/put', { key: b64(key), value: b64(value) }, token);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return Number(r.json.header.revision);
}

/** Each watch id's answers in order, identities masked; progress notifications (timing) left out. */
const answers = (c: GatewayClient, skip: (r: any) => boolean = () => false) =>
  byWatch(c.lines.filter((l) => !skip(JSON.parse(l).result)).map(masked));

test('gateway streams through the proxy: many streams and SSE subscribers on one prefix share one upstream watch, each sees every put once, in order', { timeout: 120_000 }, async () => {
  const member = await startEdgecd();
  const proxy = await startProxyProcess([member.url], '');
  const N = 200;
  try {
    const streams: GatewayClient[] = [];
    for (let i = 0; i < N; i += 50) {
      // Half of them pick their own watch id; the rest get 0, the member's first.
      streams.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => openGateway(proxy.url, [create({ ...prefix('n/'), ...((i + j) % 2 ? { watch_id: String(i + j) } : {}) })])))));
    }
    const sse = await Promise.all(Array.from({ length: 20 }, () => openSse(`${proxy.url}/v3/watch/sse?prefix=n/&encoding=text`)));
    await Promise.all(streams.map((s) => s.until(() => s.lines.length >= 1, 20_000, 'created')));
    for (const s of streams) assert.match(s.lines[0], /"created":true/);
    await sleep(300);
    assert.equal(await metric(proxy.url, 'edgecd_proxy_upstream_watches'), 1, 'one upstream watch for every stream and SSE subscriber');
    assert.equal(await metric(proxy.url, 'edgecd_proxy_feeds'), 1);
    assert.equal(await metric(proxy.url, 'edgecd_proxy_gateway_streams'), N);
    assert.equal(await metric(proxy.url, 'edgecd_proxy_gateway_watchers'), N);
    const revs: number[] = [];
    for (let i = 0; i < 30; i++) revs.push(await put(proxy.url, `n/${i % 7}`, `v${i}`));
    await put(proxy.url, 'm/outside');
    const idOf = (i: number) => (i % 2 ? String(i) : '0');
    await Promise.all(streams.map((s, i) => s.until(() => s.revs(idOf(i)).length >= revs.length, 30_000, 'every put')));
    await sleep(200);
    streams.forEach((s, i) => assert.deepEqual(s.revs(idOf(i)), revs, `stream ${i}`));
    for (const c of sse) assert.equal(c.ids.at(-1), revs.at(-1));
    // Live events are the member's responses: one per put, the header at the put's revision.
    const first = JSON.parse(streams[1].lines[1]).result;
    assert.equal(first.watch_id, '1');
    assert.equal(first.header.revision, String(revs[0]));
    assert.equal(await metric(proxy.url, 'edgecd_proxy_upstream_watches'), 1);
    for (const s of streams) s.close();
    for (const c of sse) c.close();
  } finally {
    proxy.proc.kill('SIGKILL');
    await member.stop();
  }
});

test("a stream through the proxy answers as the member's own stream: history from the ring, a compacted start the ring still holds, cancel, progress", { timeout: 120_000 }, async () => {
  const interval = ['--experimental-watch-progress-notify-interval', '700ms'];
  const member = await startEdgecd({ args: interval });
  const proxy = await startProxyProcess([member.url], '', interval);
  try {
    for (let i = 0; i < 5; i++) await put(member.url, `k/${i}`); // 2..6
    // A stream that keeps the k/ feed live: what follows is in its ring.
    const keeper = await openGateway(proxy.url, [create(prefix('k/'))]);
    await keeper.until(() => keeper.lines.length >= 1);
    const later: number[] = [];
    for (let i = 5; i < 10; i++) later.push(await put(member.url, `k/${i}`)); // 7..11
    await keeper.until(() => keeper.revs().length === 5);
    const compacted = await call(member.url, '/v3/kv/compaction', { revision: '8', physical: true });
    assert.equal(compacted.status, 200);
    const catchUps = await metric(proxy.url, 'edgecd_proxy_catch_ups_total');

    const requests = [
      create({ ...prefix('k/'), start_revision: '9' }), // 0: history 9..11, from the ring
      create({ ...prefix('k/'), start_revision: '7', watch_id: '7' }), // compacted (the ring still has 7)
      create({ ...prefix('k/'), start_revision: '8' }), // 1: at the compacted revision: allowed
      create({ key: b64('k/3'), prev_kv: true }), // 2: one key, with prev_kv
      create({ ...prefix('k/'), filters: ['NODELETE'] }), // 3
      create({ key: b64('quiet'), progress_notify: true }), // 4: progress notifications
      { progress_request: {} },
    ];
    const direct = await openGateway(member.url, requests);
    const via = await openGateway(proxy.url, requests);
    const created = (c: GatewayClient) => c.lines.filter((l) => l.includes('"created":true')).length;
    const progress = (c: GatewayClient) => c.lines.filter((l) => /"watch_id":"-1"\}\}$/.test(l)).length;
    for (const c of [direct, via]) await c.until(() => created(c) === 6 && progress(c) === 1, 10_000, 'created and progress');
    await sleep(300);
    // Writes outside every range, then a progress request: answered at the member's revision.
    await put(member.url, 'z/outside');
    for (const c of [direct, via]) c.send({ progress_request: {} });
    for (const c of [direct, via]) await c.until(() => progress(c) === 2, 10_000, 'second progress answer');
    const live: number[] = [];
    live.push(await put(member.url, 'k/3', 'new'));
    live.push(await put(member.url, 'k/x'));
    const del = await call(member.url, '/v3/kv/deleterange', { key: b64('k/x') });
    live.push(Number(del.json.header.revision));
    for (const c of [direct, via]) await c.until(() => c.revs('0').length === 3 + 3, 10_000, 'live events');
    for (const c of [direct, via]) c.send({ cancel_request: { watch_id: '1' } });
    for (const c of [direct, via]) await c.until(() => c.lines.some((l) => l.includes('"watch_id":"1","canceled":true')), 10_000, 'canceled');
    live.push(await put(member.url, 'k/after-cancel'));
    for (const c of [direct, via]) await c.until(() => c.revs('0').length === 7, 10_000, 'after cancel');
    // Progress notifications for the quiet watcher (700 ms here), on both, after the last write: at the member's revision.
    const mark = new Map([direct, via].map((c) => [c, c.lines.length]));
    const notes = (c: GatewayClient) => c.lines.slice(mark.get(c)).filter((l) => /"watch_id":"4"\}\}$/.test(l));
    for (const c of [direct, via]) await c.until(() => notes(c).length >= 1, 10_000, 'a progress notification');
    await sleep(300);

    const isNote = (r: any) => r?.watch_id === '4' && !r.created && !r.events;
    assert.deepEqual(answers(via, isNote), answers(direct, isNote), `proxy:\n${via.lines.join('\n')}\nmember:\n${direct.lines.join('\n')}`);
    assert.equal(masked(notes(via)[0]), masked(notes(direct)[0]), 'a progress notification as the member writes it');
    assert.equal(JSON.parse(notes(via)[0]).result.header.revision, String(live.at(-1)));
    // What the comparison covered, spelled out.
    const r0 = via.lines.map((l) => JSON.parse(l).result).filter((r) => (r.watch_id ?? '0') === '0');
    assert.deepEqual(r0[1].events.map((e: any) => Number(e.kv.mod_revision)), [9, 10, 11], 'history in one answer');
    assert.equal(r0[1].header.revision, '11');
    assert.ok(via.lines.some((l) => l.includes('"watch_id":"7","canceled":true,"compact_revision":"8"')));
    assert.equal(await metric(proxy.url, 'edgecd_proxy_catch_ups_total'), catchUps, 'history came from the ring, not the cluster');
    assert.equal(await metric(proxy.url, 'edgecd_proxy_gateway_watchers'), 1 + 4, 'the keeper, and four of the five (7 compacted, 1 canceled, quiet counts)');
    for (const c of [keeper, direct, via]) c.close();
  } finally {
    proxy.proc.kill('SIGKILL');
    await member.stop();
  }
});

test('auth on: a stream whose token may not read the range gets the member\'s refusal and joins no feed; a permitted one shares the feed', { timeout: 120_000 }, async () => {
  const member = await startEdgecd({ args: ['--bcrypt-cost', '4'] });
  const proxy = await startProxyProcess([member.url], '');
  try {
    for (const [route, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/role/add', { name: 'reada' }],
      ['/v3/auth/role/grant', { name: 'reada', perm: { permType: 'READ', key: b64('a/'), range_end: b64('a0') } }],
      ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'reada' }],
      ['/v3/auth/user/add', { name: 'carol', password: 'carolpw' }],
      ['/v3/auth/enable', {}],
    ] as const) {
      const r = await call(member.url, route, body);
      assert.equal(r.status, 200, `${route}: ${JSON.stringify(r.json)}`);
    }
    const tok = async (name: string, password: string) => (await call(member.url, '/v3/auth/authenticate', { name, password })).json.token as string;
    const [root, alice, carol] = [await tok('root', 'rootpw'), await tok('alice', 'alicepw'), await tok('carol', 'carolpw')];
    await put(member.url, 'a/0', 'x', root);

    for (const [what, token, reqs] of [
      ['alice on b/ (not hers)', alice, [create(prefix('b/'))]],
      ['carol on a/ (no role)', carol, [create(prefix('a/'))]],
      ['no token on a/', undefined, [create(prefix('a/'))]],
      ['a forged token on a/', 'not.a.token', [create(prefix('a/'))]],
      ['alice: b/ refused, then a/ from a past revision', alice, [create(prefix('b/')), create({ ...prefix('a/'), start_revision: '2' })]],
    ] as const) {
      const direct = await openGateway(member.url, [...reqs], { token });
      const via = await openGateway(proxy.url, [...reqs], { token });
      for (const c of [direct, via]) await c.until(() => c.lines.length >= reqs.length, 10_000, what);
      await sleep(200);
      assert.equal(via.status, direct.status, what);
      assert.deepEqual(via.lines.map(masked), direct.lines.map(masked), `${what}: the proxy answers as the member does`);
      assert.match(via.lines[0], /"canceled":true,"cancel_reason":"rpc error: code = /, what);
      if (reqs.length === 1) {
        assert.equal(await metric(proxy.url, 'edgecd_proxy_feeds'), 0, `${what}: no feed was started`);
        assert.equal(await metric(proxy.url, 'edgecd_proxy_upstream_watches'), 0, `${what}: nothing watched upstream`);
      }
      direct.close();
      via.close();
    }
    // Alice and root on a/ share one feed; alice sees a/'s puts.
    const a1 = await openGateway(proxy.url, [create(prefix('a/'))], { token: alice });
    const a2 = await openGateway(proxy.url, [create(prefix('a/'))], { token: root });
    for (const c of [a1, a2]) await c.until(() => c.lines.length >= 1);
    const r1 = await put(proxy.url, 'a/1', 'y', root);
    for (const c of [a1, a2]) await c.until(() => c.revs().includes(r1));
    assert.equal(await metric(proxy.url, 'edgecd_proxy_feeds'), 1);
    assert.equal(await metric(proxy.url, 'edgecd_proxy_upstream_watches'), 1);
    a1.close();
    a2.close();
  } finally {
    proxy.proc.kill('SIGKILL');
    await member.stop();
  }
});

test('the member the proxy watches is killed: every gateway stream goes on from the last delivered revision, nothing lost or repeated', { timeout: 240_000 }, async () => {
  const cluster = await startCluster({ size: 3 });
  const endpoints = cluster.members.map((m) => m!.url);
  const proxy = await startProxyProcess(endpoints, '');
  try {
    const streams = await Promise.all(Array.from({ length: 20 }, () => openGateway(proxy.url, [create({ ...prefix('d/'), prev_kv: true })])));
    await Promise.all(streams.map((s) => s.until(() => s.lines.length >= 1)));
    const revs: number[] = [];
    for (let i = 0; i < 10; i++) revs.push(await put(proxy.url, `d/${i}`));
    await Promise.all(streams.map((s) => s.until(() => s.revs().length === revs.length)));
    // The proxy watches its first endpoint: kill that member.
    await cluster.members[0]!.kill();
    for (let i = 10; i < 20; i++) revs.push(await put(proxy.url, `d/${i % 12}`));
    await Promise.all(streams.map((s) => s.until(() => s.revs().length >= revs.length, 60_000, 'every put after the kill')));
    await sleep(500);
    for (const s of streams) {
      assert.deepEqual(s.revs(), revs, 'nothing lost, nothing twice');
      assert.equal(s.ended, false, 'the stream stays open');
      assert.ok(!s.lines.some((l) => l.includes('"error"')), 'no error line');
    }
    assert.equal(await metric(proxy.url, 'edgecd_proxy_upstream_watches'), 1);
    for (const s of streams) s.close();
  } finally {
    proxy.proc.kill('SIGKILL');
    await cluster.stop();
  }
});
