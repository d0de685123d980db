import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { b64, startCluster } from '../helpers/cluster.ts';
import { startProxyProcess, metric } from './proxy-process.ts';
import { freePort } from '../helpers/server.ts';
import { openSse, type SseClient } from './sse-client.ts';

const SUBS = Number(process.env.PROXY_TEST_SUBS ?? 5_000);
const say = (m: string) => process.env.PROXY_TEST_DEBUG && console.error(`${new Date().toISOString()} ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP relay to the machine's Redis that the test can cut (the real one is shared). */
async function redisRelay(): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void> }> {
  const port = await freePort();
  const socks = new Set<net.Socket>();
  let server: net.Server;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((c) => {
        const r = net.connect(6379, '127.0.0.1');
        socks.add(c).add(r);
        c.pipe(r).pipe(c);
        const drop = () => (c.destroy(), r.destroy());
        c.on('error', drop).on('close', drop);
        r.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', () => resolve());
    });
  await listen();
  return {
    port,
    async cut() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of socks) s.destroy();
      socks.clear();
      await closed;
    },
    restore: listen,
  };
}

const startProxy = (endpoints: string[], redisPort: number) => startProxyProcess(endpoints, `redis://127.0.0.1:${redisPort}/0`, ['--event-log-size', '1000']);

async function post(url: string, route: string, body: unknown): Promise<any> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url + route, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      if (r.status === 200) return r.json();
      if (i > 50) throw new Error(`${route}: ${r.status} ${await r.text()}`);
    } catch (e) {
      if (i > 50) throw e;
    }
    await sleep(200);
  }
}

async function allGot(clients: SseClient[], rev: number, ms = 60_000): Promise<void> {
  const t = Date.now();
  while (clients.some((c) => (c.lastId ?? 0) < rev)) {
    if (Date.now() - t > ms) throw new Error(`${clients.filter((c) => (c.lastId ?? 0) < rev).length} subscribers short of ${rev}`);
    await sleep(50);
  }
}

test(`two proxies, ${SUBS} SSE subscribers on one prefix: every put reaches all, a killed proxy's subscribers resume through the other, Redis and a member lost mid-run`, { timeout: 600_000 }, async () => {
  const cluster = await startCluster({ size: 3 });
  say('cluster up');
  const relay = await redisRelay();
  const endpoints = cluster.members.map((m) => m!.url);
  const a = await startProxy(endpoints, relay.port);
  const b = await startProxy(endpoints, relay.port);
  try {
    const q = '/v3/watch/sse?prefix=p/&encoding=text';
    const subsA: SseClient[] = [];
    const subsB: SseClient[] = [];
    for (let i = 0; i < SUBS / 2; i += 250) {
      subsA.push(...(await Promise.all(Array.from({ length: 250 }, () => openSse(a.url + q)))));
      subsB.push(...(await Promise.all(Array.from({ length: 250 }, () => openSse(b.url + q)))));
    }
    say('subscribed');
    await sleep(500);
    assert.equal(await metric(a.url, 'edgecd_proxy_upstream_watches'), 1);
    assert.equal(await metric(b.url, 'edgecd_proxy_upstream_watches'), 1);
    const revs: number[] = [];
    let n = 0;
    const putSome = async (via: string, k: number) => {
      for (let i = 0; i < k; i++) revs.push(Number((await post(via, '/v3/kv/put', { key: b64(`p/${n++}`), value: b64('v') })).header.revision));
    };
    // Phase 1: puts through both proxies.
    await putSome(a.url, 10);
    await putSome(b.url, 10);
    const all = [...subsA, ...subsB];
    await allGot(all, revs.at(-1)!);
    // A cached serializable read is never older than what the proxy delivered.
    const count = async (via: string) => Number((await post(via, '/v3/kv/range', { key: b64('p/'), range_end: b64('p0'), serializable: true, count_only: true })).count ?? 0);
    assert.equal(await count(b.url), n);
    assert.equal(await count(b.url), n);
    assert.ok((await metric(b.url, 'edgecd_proxy_read_cache_hits_total')) >= 1);

    say('phase 1 done');
    // Phase 2: proxy A is killed; writes go on; its subscribers reconnect to B with their Last-Event-ID.
    a.proc.kill('SIGKILL');
    await putSome(b.url, 10);
    await Promise.all(subsA.map((c) => c.done));
    const resumed: SseClient[] = [];
    const before = new Map<SseClient, number[]>();
    for (let i = 0; i < subsA.length; i += 250) {
      resumed.push(
        ...(await Promise.all(
          subsA.slice(i, i + 250).map(async (old) => {
            const c = await openSse(b.url + q, { lastEventId: old.lastId });
            before.set(c, old.ids);
            return c;
          }),
        )),
      );
    }
    await putSome(b.url, 5);
    await allGot([...subsB, ...resumed], revs.at(-1)!);
    for (const c of resumed) assert.deepEqual([...before.get(c)!, ...c.ids], revs, 'a resumed subscriber misses nothing and sees nothing twice');
    for (const c of subsB) assert.deepEqual(c.ids, revs);
    assert.equal(await metric(b.url, 'edgecd_proxy_upstream_watches'), 1, 'the resumed subscribers joined the one watch');

    say('phase 2 done');
    // Phase 3: Redis goes away: passthrough, still every event, reads still fresh.
    await relay.cut();
    await putSome(b.url, 10);
    await allGot([...subsB, ...resumed], revs.at(-1)!);
    assert.equal(await count(b.url), n);
    const late = await openSse(b.url + q, { lastEventId: revs[5] });
    await allGot([late], revs.at(-1)!);
    assert.ok(late.ids.every((r, i) => r > revs[5] && (i === 0 || r > late.ids[i - 1])), 'from the cluster, in order, nothing twice');
    assert.deepEqual(late.ids.at(-1), revs.at(-1));
    await relay.restore();

    say('phase 3 done');
    // Phase 4: the member the proxy watches is killed: the proxy watches another from the last revision it delivered.
    await cluster.members[0]!.kill();
    await putSome(b.url, 10);
    await allGot([...subsB, ...resumed], revs.at(-1)!, 120_000);
    for (const c of subsB) assert.deepEqual(c.ids, revs);
    assert.equal(await count(b.url), n);
    say('phase 4 done');
    for (const c of [...subsB, ...resumed, late]) c.close();
  } finally {
    a.proc.kill('SIGKILL');
    b.proc.kill('SIGKILL');
    await relay.cut().catch(() => {});
    await cluster.stop();
  }
});
