import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { b64, post, unb64 } from '../helpers/cluster.ts';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';

// /v3/lock against one real member (Postgres): contention, fencing, a waiter that goes away, a
// holder that dies. The robustness harness runs the same under faults on a cluster.

let m: EdgecdProcess;
before(async () => {
  m = await startEdgecd();
});
after(async () => {
  await m?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function grant(ttl: number): Promise<string> {
  const r = await post(m.url, '/v3/lease/grant', { TTL: ttl });
  assert.equal(r.status, 200);
  return r.json.ID as string;
}

async function lock(name: string, lease: string, signal?: AbortSignal): Promise<{ key: string; rev: number }> {
  const r = await fetch(m.url + '/v3/lock/lock', { method: 'POST', body: JSON.stringify({ name: b64(name), lease }), signal: signal ?? AbortSignal.timeout(60_000) });
  const json = (await r.json()) as { key: string; header: { revision: string } };
  assert.equal(r.status, 200, JSON.stringify(json));
  return { key: json.key, rev: Number(json.header.revision) };
}

async function keysUnder(prefix: string): Promise<{ key: string; create_revision: string }[]> {
  const end = Buffer.from(prefix);
  end[end.length - 1]++;
  const r = await post(m.url, '/v3/kv/range', { key: b64(prefix), range_end: end.toString('base64') });
  return r.json.kvs ?? [];
}

async function createRev(key64: string): Promise<number> {
  const r = await post(m.url, '/v3/kv/range', { key: key64 });
  return Number(r.json.kvs?.[0]?.create_revision ?? 0);
}

/** A write that lands only while the lock key still has the create revision of this holding (the fencing token). */
async function fencedPut(lockKey64: string, token: number, key: string, value: string): Promise<{ ok: boolean; rev: number }> {
  const r = await post(m.url, '/v3/kv/txn', {
    compare: [{ key: lockKey64, target: 'CREATE', result: 'EQUAL', create_revision: String(token) }],
    success: [{ request_put: { key: b64(key), value: b64(value) } }],
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return { ok: r.json.succeeded === true, rev: Number(r.json.header.revision) };
}

test('many clients on one lock: holdings never overlap, every fenced write lands, waiters are served in create-revision order', async () => {
  const clients = 6;
  const rounds = 4;
  const holdings: { client: number; token: number; from: number; to: number }[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const lease = await grant(30);
      for (let i = 0; i < rounds; i++) {
        const { key, rev } = await lock('contended', lease);
        const token = await createRev(key);
        assert.ok(token > 0 && token <= rev, 'the lock key exists, made before the answer');
        // Read, then write back one more: a lost update shows as a short count at the end.
        const cur = await post(m.url, '/v3/kv/range', { key: b64('counter') });
        const n = Number(unb64(cur.json.kvs?.[0]?.value ?? b64('0')));
        const w = await fencedPut(key, token, 'counter', String(n + 1));
        assert.ok(w.ok, `client ${c}'s fenced write while holding the lock`);
        const u = await post(m.url, '/v3/lock/unlock', { key });
        assert.equal(u.status, 200);
        holdings.push({ client: c, token, from: rev, to: Number(u.json.header.revision) });
      }
    }),
  );
  const final = await post(m.url, '/v3/kv/range', { key: b64('counter') });
  assert.equal(unb64(final.json.kvs[0].value), String(clients * rounds), 'every read-modify-write under the lock counted');
  holdings.sort((a, b) => a.from - b.from);
  for (let i = 1; i < holdings.length; i++) {
    assert.ok(holdings[i].from >= holdings[i - 1].to, `holding ${i} began at ${holdings[i].from}, before the previous ended at ${holdings[i - 1].to}`);
    assert.ok(holdings[i].token > holdings[i - 1].token, 'served in create-revision order');
  }
  assert.deepEqual(await keysUnder('contended/'), [], 'nothing left under the name');
});

test('a holder whose lease ended cannot write with its fencing token once another holds the lock', async () => {
  const a = await grant(30);
  const b = await grant(30);
  const held = await lock('fence', a);
  const token = await createRev(held.key);
  const waiting = lock('fence', b);
  await sleep(200);
  // The lease ends as a dead holder's would (expiry revokes it the same way).
  assert.equal((await post(m.url, '/v3/lease/revoke', { ID: a })).status, 200);
  const next = await waiting;
  assert.notEqual(next.key, held.key);
  const stale = await fencedPut(held.key, token, 'fenced', 'from the old holder');
  assert.equal(stale.ok, false, 'the old holder is fenced off');
  const fresh = await fencedPut(next.key, await createRev(next.key), 'fenced', 'from the new holder');
  assert.ok(fresh.ok);
  await post(m.url, '/v3/lock/unlock', { key: next.key });
});

test('a waiter that goes away leaves no key behind, and the next waiter is not held up by it', async () => {
  const a = await grant(30);
  const held = await lock('gone', a);
  const ac = new AbortController();
  const abandoned = lock('gone', await grant(30), ac.signal).catch((err: Error) => err);
  for (let i = 0; i < 50 && (await keysUnder('gone/')).length < 2; i++) await sleep(50);
  assert.equal((await keysUnder('gone/')).length, 2, 'the waiter queued its key');
  ac.abort();
  assert.ok((await abandoned) instanceof Error);
  let left = await keysUnder('gone/');
  for (let i = 0; i < 50 && left.length > 1; i++) {
    await sleep(50);
    left = await keysUnder('gone/');
  }
  assert.deepEqual(left.map((k) => k.key), [held.key], "only the holder's key is left");
  await post(m.url, '/v3/lock/unlock', { key: held.key });
  const t0 = Date.now();
  const next = await lock('gone', await grant(30));
  assert.ok(Date.now() - t0 < 2000, 'served at once');
  await post(m.url, '/v3/lock/unlock', { key: next.key });
});

test("a waiter whose lease ends while it waits is told its session expired, not that it holds the lock (etcd 3.5's check)", async () => {
  const a = await grant(30);
  const held = await lock('expiring', a);
  const b = await grant(30);
  const waiting = fetch(m.url + '/v3/lock/lock', { method: 'POST', body: JSON.stringify({ name: b64('expiring'), lease: b }) });
  for (let i = 0; i < 50 && (await keysUnder('expiring/')).length < 2; i++) await sleep(50);
  assert.equal((await post(m.url, '/v3/lease/revoke', { ID: b })).status, 200);
  await post(m.url, '/v3/lock/unlock', { key: held.key });
  const r = await waiting;
  assert.deepEqual([r.status, ((await r.json()) as { error: string }).error], [500, 'mutex: session is expired']);
  assert.deepEqual(await keysUnder('expiring/'), []);
});

/** A client in its own process: grants a lease, takes the lock, keeps the lease alive until killed. */
const HOLDER = `
const url = process.argv[1];
const post = async (route, body) => (await fetch(url + route, { method: 'POST', body: JSON.stringify(body) })).json();
const { ID } = await post('/v3/lease/grant', { TTL: 2 });
const r = await post('/v3/lock/lock', { name: Buffer.from('killed').toString('base64'), lease: ID });
console.log('held ' + r.key);
setInterval(() => void post('/v3/lease/keepalive', { ID }), 400);
`;

test('a holder SIGKILLed: the next waiter is served once its lease expires, not before', async () => {
  const holder = spawn(process.execPath, ['--input-type=module', '-e', HOLDER, m.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const heldKey = await new Promise<string>((resolve, reject) => {
    holder.stdout.on('data', (d: Buffer) => {
      const line = /held (\S+)/.exec(d.toString());
      if (line) resolve(line[1]);
    });
    holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  let servedAt = 0;
  const waiter = lock('killed', await grant(30)).then((r) => ((servedAt = Date.now()), r));
  // Its keep-alives hold the lock well past the 2 s TTL.
  await sleep(3000);
  assert.equal(servedAt, 0, 'not served while the holder lives');
  const killedAt = Date.now();
  holder.kill('SIGKILL');
  const got = await waiter;
  const waited = servedAt - killedAt;
  assert.ok(waited >= 500 && waited < 8000, `served ${waited} ms after the kill (TTL 2 s)`);
  assert.ok(!(await keysUnder('killed/')).some((k) => k.key === heldKey), "the dead holder's key is gone");
  await post(m.url, '/v3/lock/unlock', { key: got.key });
});

test('?encoding=text: names, keys and values as plain strings on lock, campaign, leader and observe', async () => {
  const text = async (route: string, body: unknown) => {
    const r = await fetch(`${m.url}${route}?encoding=text`, { method: 'POST', body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as any };
  };
  const lease = await grant(30);
  const hex = BigInt(lease).toString(16);
  const l = await text('/v3/lock/lock', { name: 'jobs ✓', lease });
  assert.deepEqual([l.status, l.json.key], [200, `jobs ✓/${hex}`]);
  assert.equal((await text('/v3/lock/unlock', { key: l.json.key })).status, 200);
  const c = await text('/v3/election/campaign', { name: 'db', lease, value: '{"addr":"10.0.0.1"}' });
  assert.deepEqual([c.json.leader.name, c.json.leader.key], ['db', `db/${hex}`]);
  const leader = await text('/v3/election/leader', { name: 'db' });
  assert.equal(leader.json.kv.value, '{"addr":"10.0.0.1"}');
  const obs = await fetch(`${m.url}/v3/election/observe?encoding=text`, { method: 'POST', body: JSON.stringify({ name: 'db' }), signal: AbortSignal.timeout(5000) });
  const reader = obs.body!.getReader();
  const first = await reader.read();
  assert.equal(JSON.parse(Buffer.from(first.value as Uint8Array).toString()).result.kv.key, `db/${hex}`);
  await reader.cancel();
  assert.equal((await text('/v3/election/resign', { leader: c.json.leader })).status, 200);
});

// Last: it turns auth on for this member.
test('with auth on, locks, campaigns and observers act as the caller: allowed on its prefix, refused elsewhere with etcd code 2', async () => {
  const call = async (route: string, body: unknown, token?: string) => {
    const r = await fetch(m.url + route, { method: 'POST', body: JSON.stringify(body), headers: token ? { authorization: token } : {}, signal: AbortSignal.timeout(15_000) });
    return { status: r.status, json: (await r.json()) as any };
  };
  for (const [route, body] of [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/user/add', { name: 'alice', password: 'alicepw' }],
    ['/v3/auth/role/add', { name: 'jobs' }],
    ['/v3/auth/role/grant', { name: 'jobs', perm: { permType: 'READWRITE', key: b64('mine/'), range_end: b64('mine0') } }],
    ['/v3/auth/user/grant', { user: 'alice', role: 'jobs' }],
    ['/v3/auth/enable', {}],
  ] as const) {
    const r = await call(route, body);
    assert.equal(r.status, 200, `${route}: ${JSON.stringify(r.json)}`);
  }
  const alice = (await call('/v3/auth/authenticate', { name: 'alice', password: 'alicepw' })).json.token as string;
  const lease = (await call('/v3/lease/grant', { TTL: 30 }, alice)).json.ID;
  const held = await call('/v3/lock/lock', { name: b64('mine'), lease }, alice);
  assert.equal(held.status, 200, JSON.stringify(held.json));
  const denied = await call('/v3/lock/lock', { name: b64('theirs'), lease }, alice);
  assert.deepEqual([denied.status, denied.json.code, denied.json.error], [500, 2, 'etcdserver: permission denied']);
  const anonymous = await call('/v3/lock/lock', { name: b64('mine'), lease });
  assert.deepEqual([anonymous.status, anonymous.json.error], [500, 'etcdserver: user name is empty']);
  assert.equal((await call('/v3/lock/unlock', { key: held.json.key }, alice)).status, 200);
  const camp = await call('/v3/election/campaign', { name: b64('mine'), lease, value: b64('a') }, alice);
  assert.equal(camp.status, 200, JSON.stringify(camp.json));
  assert.equal((await call('/v3/election/leader', { name: b64('theirs') }, alice)).json.error, 'etcdserver: permission denied');
  const sse = await fetch(`${m.url}/v3/election/observe/sse?name=mine&encoding=text&token=${encodeURIComponent(alice)}`, { signal: AbortSignal.timeout(3000) });
  assert.equal(sse.status, 200);
  const first = await (sse.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().next();
  assert.match(Buffer.from(first.value as Uint8Array).toString(), /event: created/);
  const refused = await fetch(`${m.url}/v3/election/observe/sse?name=theirs&encoding=text&token=${encodeURIComponent(alice)}`);
  assert.equal(refused.status, 500);
  assert.equal(((await refused.json()) as { error: string }).error, 'etcdserver: permission denied');
  // The gateway stream as etcd 3.4.23 answers it: ended at once, nothing in it.
  const raw = await fetch(m.url + '/v3/election/observe', { method: 'POST', body: JSON.stringify({ name: b64('theirs') }), headers: { authorization: alice } });
  assert.deepEqual([raw.status, await raw.text()], [200, '']);
});
