import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { httpStatusOf } from '../../src/api/grpc-status.ts';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';
import { Rng, seedFromEnv } from '../watch/model.ts';

/**
 * The gateway under abuse, while a writer keeps writing: random and malformed JSON, wrong types,
 * huge fields, deep nesting, invalid UTF-8 and base64, duplicated and unknown fields, bodies
 * dribbled a byte at a time (slowloris), and thousands of watch and keep-alive streams opened and
 * dropped at once. The member must answer every request with a normal answer or an error in
 * etcd's format (HTTP status matching the gRPC code), keep serving others meanwhile, log no
 * unexpected error, and lose none of the writer's acknowledged writes.
 */

const SEED = seedFromEnv('gateway fuzz');
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const STREAMS = new Set(['/v3/watch', '/v3/lease/keepalive']);

interface Answer {
  status: number;
  type: string;
  body: Buffer;
}

/** One request; for a streaming route that answers 200, the answer is its first line (the stream is then dropped). */
function send(base: string, route: string, body: Buffer | string, method = 'POST', timeoutMs = 20_000): Promise<Answer> {
  const u = new URL(route, base);
  const stream = STREAMS.has(route);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent: stream ? false : agent, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      const answer = () => ({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) });
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (stream && res.statusCode === 200 && c.includes(0x0a)) {
          const a = answer();
          a.body = a.body.subarray(0, a.body.indexOf(0x0a) + 1);
          resolve(a);
          req.destroy();
        }
      });
      res.on('end', () => resolve(answer()));
      res.on('error', reject);
    });
    // A stream that answers nothing (e.g. a request with no create_request, which etcd ignores) is
    // simply open; only a unary request must answer.
    const limit = stream ? 3000 : timeoutMs;
    req.setTimeout(limit, () => {
      if (stream) {
        resolve({ status: 0, type: 'open stream', body: Buffer.alloc(0) });
        req.destroy();
      } else req.destroy(new Error(`${route}: no answer in ${limit} ms`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Checks an answer is etcd's: JSON, and an error body {error, code, message} with the matching status. */
function checkAnswer(route: string, sent: Buffer | string, a: Answer, stream: boolean): string | undefined {
  if (stream && a.status === 0) return undefined;
  const what = () => `${route} <- ${Buffer.from(sent).toString('latin1').slice(0, 120)} -> ${a.status} ${a.body.toString().slice(0, 200)}`;
  if (a.status === 200) {
    if (!a.type.startsWith('application/json')) return `200 without JSON content type: ${what()}`;
    const lines = stream ? a.body.toString().split('\n').filter((l) => l !== '') : [a.body.toString()];
    for (const l of lines) {
      try {
        JSON.parse(l);
      } catch {
        return `200 with a body that is not JSON: ${what()}`;
      }
    }
    return undefined;
  }
  if (!a.type.startsWith('application/json')) return `error without JSON content type: ${what()}`;
  let j: any;
  try {
    j = JSON.parse(a.body.toString());
  } catch {
    return `error body is not JSON: ${what()}`;
  }
  if (typeof j.error !== 'string' || j.error !== j.message || !Number.isInteger(j.code)) return `error body not in etcd's format: ${what()}`;
  if (httpStatusOf(j.code) !== a.status) return `HTTP ${a.status} for gRPC code ${j.code} (want ${httpStatusOf(j.code)}): ${what()}`;
  if (j.code === 13 || (j.code === 2 && a.status === 500 && /TypeError|undefined|Cannot read/.test(j.error))) return `internal error: ${what()}`;
  return undefined;
}

// ---- request generators ----

const ROUTES: Record<string, (rng: Rng) => Record<string, unknown>> = {
  '/v3/kv/put': (rng) => ({ key: b64(`fuzz/${rng.int(50)}`), value: b64(`v${rng.int(1000)}`), prev_kv: rng.chance(0.5), lease: '0' }),
  '/v3/kv/range': (rng) => ({ key: b64('fuzz/'), range_end: b64('fuzz0'), limit: String(rng.int(10)), serializable: rng.chance(0.5), sort_order: 'ASCEND' }),
  '/v3/kv/deleterange': (rng) => ({ key: b64(`fuzz/${rng.int(50)}`), prev_kv: true }),
  '/v3/kv/txn': (rng) => ({
    compare: [{ key: b64(`fuzz/${rng.int(50)}`), target: 'VERSION', result: 'GREATER', version: '0' }],
    success: [{ request_put: { key: b64(`fuzz/${rng.int(50)}`), value: b64('t') } }],
    failure: [{ request_range: { key: b64('fuzz/') } }],
  }),
  '/v3/kv/compaction': () => ({ revision: '1', physical: false }),
  '/v3/lease/grant': (rng) => ({ TTL: String(5 + rng.int(10)), ID: String(1 + rng.int(1000)) }),
  '/v3/lease/revoke': (rng) => ({ ID: String(1 + rng.int(1000)) }),
  '/v3/lease/timetolive': (rng) => ({ ID: String(1 + rng.int(1000)), keys: true }),
  '/v3/lease/leases': () => ({}),
  '/v3/cluster/member/list': () => ({}),
  '/v3/maintenance/status': () => ({}),
  '/v3/watch': (rng) => ({ create_request: { key: b64(`fuzz/${rng.int(50)}`), start_revision: String(rng.int(5)) } }),
  '/v3/lease/keepalive': (rng) => ({ ID: String(1 + rng.int(1000)) }),
};

function weird(rng: Rng): unknown {
  switch (rng.int(16)) {
    case 0:
      return rng.int(2 ** 31) * (rng.chance(0.5) ? -1 : 1);
    case 1:
      return '99999999999999999999999999';
    case 2:
      return 1e308 * 10;
    case 3:
      return rng.float();
    case 4:
      return rng.chance(0.5);
    case 5:
      return null;
    case 6:
      return [1, 'a', null];
    case 7:
      return { nested: { deeper: [true] } };
    case 8:
      return '!!!not base64!!!';
    case 9:
      return 'Zm9v=';
    case 10:
      return 'x'.repeat(100_000 + rng.int(200_000));
    case 11:
      return b64(Buffer.alloc(200_000 + rng.int(1_000_000), 0x61));
    case 12:
      return '';
    case 13:
      return 'UFVU';
    case 14:
      return -1;
    default:
      return '\u0000\uffff\ud83d\ude00';
  }
}

function nest(depth: number, inner: string, rng: Rng): string {
  const open = rng.chance(0.5) ? '['.repeat(depth) : '{"a":'.repeat(depth);
  const close = open.startsWith('[') ? ']'.repeat(depth) : '}'.repeat(depth);
  return open + inner + close;
}

function mutate(rng: Rng, obj: Record<string, unknown>): Buffer {
  const o: Record<string, unknown> = structuredClone(obj);
  const keys = Object.keys(o);
  const r = rng.int(12);
  if (r <= 2 && keys.length) {
    const k = rng.pick(keys);
    o[k] = weird(rng);
  } else if (r === 3) o[`unknown_${rng.int(100)}`] = weird(rng);
  else if (r === 4 && keys.length) {
    // camelCase and snake_case of the same field, both given.
    const k = rng.pick(keys);
    o[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = weird(rng);
  }
  let text = JSON.stringify(o);
  if (r === 5) text = text.slice(0, rng.int(text.length));
  if (r === 6) text = nest(1 + rng.int(rng.chance(0.3) ? 200_000 : 500), text, rng);
  if (r === 7 && keys.length) {
    const k = rng.pick(keys);
    text = text.replace(/}$/, `,"${k}":${JSON.stringify(weird(rng))}}`);
  }
  if (r === 8) text = text.replace(/"([A-Za-z0-9+/=]{2,})"/, '"\\ud800$1"');
  const buf = Buffer.from(text);
  if (r === 9) {
    // Invalid UTF-8 inside a string.
    const at = buf.indexOf('"', 2);
    if (at > 0) return Buffer.concat([buf.subarray(0, at + 1), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), buf.subarray(at + 1)]);
  }
  if (r === 10) {
    const b = Buffer.from(buf);
    for (let i = 0; i < 1 + rng.int(4); i++) b[rng.int(b.length)] = rng.int(256);
    return b;
  }
  if (r === 11) return Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256)));
  return buf;
}

// ---- the writer whose writes must all survive ----

function writer(base: string) {
  const acked = new Map<string, number>();
  let stop = false;
  let n = 0;
  let failures = 0;
  const loop = (async () => {
    while (!stop) {
      const key = `fz/w/${n++}`;
      try {
        const a = await send(base, '/v3/kv/put', JSON.stringify({ key: b64(key), value: b64(`v${n}`) }));
        if (a.status === 200) acked.set(key, Number(JSON.parse(a.body.toString()).header.revision));
        else failures++;
      } catch {
        failures++;
      }
      await sleep(5);
    }
  })();
  return {
    acked,
    failures: () => failures,
    async finish() {
      stop = true;
      await loop;
    },
  };
}

async function assertNothingLost(base: string, acked: Map<string, number>): Promise<void> {
  const a = await send(base, '/v3/kv/range', JSON.stringify({ key: b64('fz/w/'), range_end: b64('fz/w0') }));
  assert.equal(a.status, 200);
  const found = new Map<string, number>((JSON.parse(a.body.toString()).kvs ?? []).map((kv: any) => [Buffer.from(kv.key, 'base64').toString(), Number(kv.mod_revision)]));
  const lost = [...acked].filter(([k, rev]) => found.get(k) !== rev);
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} of ${acked.size} acknowledged writes lost`);
}

/** A request whose body is dribbled a byte at a time; resolves with the answer (or undefined if cut). */
function slowloris(base: string, route: string, body: Buffer, byteEveryMs: number, until: () => boolean): Promise<Answer | undefined> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let out = Buffer.alloc(0);
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    sock.on('connect', () => {
      sock.write(`POST ${route} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-length: ${body.length}\r\n\r\n`);
      timer = setInterval(() => {
        if (i < body.length && (!until() || i < body.length)) sock.write(body.subarray(i, ++i));
        if (i >= body.length) clearInterval(timer);
      }, byteEveryMs);
    });
    sock.on('data', (d) => (out = Buffer.concat([out, d])));
    const done = () => {
      clearInterval(timer);
      const text = out.toString('latin1');
      const m = /^HTTP\/1\.1 (\d+)[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
      if (!m) return resolve(undefined);
      const type = /content-type: ([^\r\n]+)/i.exec(m[2])?.[1] ?? '';
      let payload = Buffer.from(m[3], 'latin1');
      if (/transfer-encoding: chunked/i.test(m[2])) {
        // De-chunk.
        const parts: Buffer[] = [];
        let rest = m[3];
        for (;;) {
          const nl = rest.indexOf('\r\n');
          const len = parseInt(rest.slice(0, nl), 16);
          if (!(len > 0)) break;
          parts.push(Buffer.from(rest.slice(nl + 2, nl + 2 + len), 'latin1'));
          rest = rest.slice(nl + 2 + len + 2);
        }
        payload = Buffer.concat(parts);
      }
      resolve({ status: Number(m[1]), type, body: payload });
    };
    sock.on('close', done);
    sock.on('error', () => undefined);
    // Close our side once the answer is complete (keep-alive would hold it open), or for a stream
    // once its first line arrived.
    sock.on('data', () => {
      const t = out.toString('latin1');
      const head = t.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(t.slice(0, head));
      if (head > 0 && len && out.length >= head + 4 + Number(len[1])) sock.end();
      else if (head > 0 && /transfer-encoding: chunked/i.test(t.slice(0, head)) && t.indexOf('\n', head + 4) > 0 && /\}\n/.test(t.slice(head))) sock.end();
    });
  });
}

test('gateway fuzz: malformed, huge, nested, mistyped, invalid UTF-8/base64, slowloris, thousands of streams; etcd-format answers, nothing lost', { timeout: 240_000 }, async () => {
  const rng = new Rng(SEED);
  const server: EdgecdProcess = await startEdgecd();
  const w = writer(server.url);
  const problems: string[] = [];
  const stats = { requests: 0, ok: 0, errors: new Map<string, number>() };
  let phase = Date.now();
  const lap = (what: string) => {
    console.log(`gateway fuzz: ${what} in ${((Date.now() - phase) / 1000).toFixed(1)} s`);
    phase = Date.now();
  };
  try {
    // 1. Random and mutated requests on every route, 8 at a time.
    const N = Number(process.env.EDGECD_FUZZ_REQUESTS ?? 4000);
    let next = 0;
    const routes = Object.keys(ROUTES);
    const worker = async (wr: Rng) => {
      while (next < N) {
        next++;
        const route = wr.pick(routes);
        const body = wr.chance(0.1) ? Buffer.from(JSON.stringify(ROUTES[route](wr))) : mutate(wr, ROUTES[route](wr));
        let a: Answer;
        try {
          a = await send(server.url, route, body);
        } catch (err) {
          problems.push(`${route}: ${(err as Error).message} <- ${body.toString('latin1').slice(0, 100)}`);
          continue;
        }
        stats.requests++;
        if (a.status === 200) stats.ok++;
        else {
          const k = `${a.status} ${(() => {
            try {
              return String(JSON.parse(a.body.toString()).error).replace(/\d+/g, 'N').slice(0, 70);
            } catch {
              return '(not JSON)';
            }
          })()}`;
          stats.errors.set(k, (stats.errors.get(k) ?? 0) + 1);
        }
        const p = checkAnswer(route, body, a, STREAMS.has(route));
        if (p) problems.push(p);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => worker(new Rng(SEED * 31 + i))));
    lap(`${stats.requests} fuzzed requests`);

    // 2. Huge bodies: just under and over the request limit, and a 9 MiB one.
    const under = await send(server.url, '/v3/kv/put', JSON.stringify({ key: b64('fuzz/big'), value: b64(Buffer.alloc(1_000_000, 0x62)) }));
    assert.equal(under.status, 200, under.body.toString().slice(0, 200));
    const over = await send(server.url, '/v3/kv/put', JSON.stringify({ key: b64('fuzz/big'), value: b64(Buffer.alloc(1_600_000, 0x62)) }));
    assert.equal(checkAnswer('/v3/kv/put', 'over', over, false), undefined);
    assert.notEqual(over.status, 200);
    const huge = await send(server.url, '/v3/kv/txn', Buffer.alloc(9 * 1024 * 1024, 0x5b));
    assert.equal(checkAnswer('/v3/kv/txn', 'huge', huge, false), undefined);
    lap('huge bodies');

    // 3. Slowloris: 150 bodies dribbled a byte every 20-120 ms; other clients must not wait on them.
    let dribbling = true;
    const slow = Array.from({ length: 150 }, (_, i) =>
      slowloris(server.url, i % 3 === 0 ? '/v3/watch' : '/v3/kv/put', Buffer.from(JSON.stringify(i % 3 === 0 ? { create_request: { key: b64(`s/${i}`) } } : { key: b64(`fuzz/slow/${i}`), value: b64('x') })), 20 + rng.int(100), () => dribbling),
    );
    const lat: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 5000) {
      const s = Date.now();
      const a = await send(server.url, '/v3/kv/range', JSON.stringify({ key: b64('fz/w/1') }));
      assert.equal(a.status, 200);
      lat.push(Date.now() - s);
      await sleep(20);
    }
    dribbling = false;
    // Half-sent requests that never finish: only their own connection suffers.
    const stuck = Array.from({ length: 50 }, () => {
      const u = new URL(server.url);
      const s = net.connect(Number(u.port), u.hostname, () => s.write(`POST /v3/kv/put HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{"key":`));
      s.on('error', () => undefined);
      return s;
    });
    lat.sort((a, b) => a - b);
    console.log(`gateway fuzz: reads during slowloris p50 ${lat[lat.length >> 1]} ms, max ${lat[lat.length - 1]} ms`);
    assert.ok(lat[Math.floor(lat.length * 0.95)] < 1000, `reads slowed by slowloris: p95 ${lat[Math.floor(lat.length * 0.95)]} ms`);
    const slowAnswers = await Promise.race([Promise.all(slow), sleep(60_000).then(() => undefined)]);
    assert.ok(slowAnswers, 'dribbled requests never finished');
    for (const a of slowAnswers) {
      if (!a) continue;
      const p = checkAnswer('slowloris', 'dribbled', a, true);
      if (p) problems.push(p);
    }
    for (const s of stuck) s.destroy();
    lap('slowloris');

    // 4. Thousands of streams: 3,000 watches and 300 keep-alive streams, a write every watcher of it
    // sees, then every connection dropped at once.
    const grant = await send(server.url, '/v3/lease/grant', JSON.stringify({ TTL: '30', ID: '4242' }));
    assert.equal(grant.status, 200);
    const got = new Map<number, number>();
    const reqs: http.ClientRequest[] = [];
    const WATCHES = 3000;
    const opened = { n: 0 };
    for (let i = 0; i < WATCHES + 300; i++) {
      const watch = i < WATCHES;
      const body = watch ? JSON.stringify({ create_request: { key: b64(`many/${i % 100}`) } }) : JSON.stringify({ ID: '4242' });
      const u = new URL(watch ? '/v3/watch' : '/v3/lease/keepalive', server.url);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false }, (res) => {
        opened.n++;
        res.on('data', (d: Buffer) => {
          if (watch && d.includes('"events"')) got.set(i, (got.get(i) ?? 0) + 1);
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      req.write(body);
      reqs.push(req);
      if (i % 200 === 0) await sleep(10);
    }
    const openBy = Date.now() + 30_000;
    while (opened.n < WATCHES + 300 && Date.now() < openBy) await sleep(100);
    assert.equal(opened.n, WATCHES + 300, 'every stream answered');
    await sleep(500);
    for (let k = 0; k < 100; k++) await send(server.url, '/v3/kv/put', JSON.stringify({ key: b64(`many/${k}`), value: b64('e') }));
    const seenBy = Date.now() + 20_000;
    while (got.size < WATCHES && Date.now() < seenBy) await sleep(100);
    assert.equal(got.size, WATCHES, `${WATCHES - got.size} watchers missed their event`);
    for (const r of reqs) r.destroy();
    await sleep(500);
    lap(`${WATCHES + 300} streams`);

    // 5. Still serving, nothing lost, nothing unexpected in the log.
    const health = await send(server.url, '/health', '', 'GET');
    assert.equal(health.status, 200);
    await w.finish();
    await assertNothingLost(server.url, w.acked);
    // A client that goes away mid-body is logged as "request aborted": noise, not a fault.
    const unexpected = server.output().split('\n').filter((l) => /unexpected error|TypeError|RangeError|uncaught/i.test(l) && !/request aborted/.test(l));
    console.log(
      `gateway fuzz: ${stats.requests} requests (${stats.ok} answered 200), ${w.acked.size} writes acknowledged (${w.failures()} failed) and kept; errors: ${[...stats.errors]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([k, n]) => `${n}× ${k}`)
        .join('; ')}`,
    );
    assert.deepEqual(unexpected.slice(0, 5), [], 'unexpected errors in the member log');
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} answers not in etcd's format`);
  } catch (err) {
    const log = server.output();
    const at = log.search(/storage failed|unexpected error/);
    console.log(`member log (${log.length} chars)${at >= 0 ? ` from the first error` : ''}:\n${log.slice(Math.max(0, at), Math.max(0, at) + 3000)}`);
    throw err;
  } finally {
    await w.finish();
    agent.destroy();
    await server.stop();
  }
});

test('a 3 KB key is stored, compacted and reloaded after a restart', async () => {
  // Postgres btrees refuse index rows over 2,704 bytes: such a key once stopped every member.
  let server: EdgecdProcess = await startEdgecd();
  try {
    // Hash output does not compress, so the index row cannot shrink under the limit.
    const key = b64(Buffer.concat(Array.from({ length: 94 }, (_, i) => createHash('sha256').update(String(i)).digest())));
    for (const v of ['v1', 'v2', 'v3']) {
      const put = await send(server.url, '/v3/kv/put', JSON.stringify({ key, value: b64(v) }));
      assert.equal(put.status, 200, put.body.toString());
    }
    const rev = Number(JSON.parse((await send(server.url, '/v3/kv/range', JSON.stringify({ key }))).body.toString()).header.revision);
    const compact = await send(server.url, '/v3/kv/compaction', JSON.stringify({ revision: rev, physical: true }));
    assert.equal(compact.status, 200, compact.body.toString());
    server = await server.restart();
    const got = JSON.parse((await send(server.url, '/v3/kv/range', JSON.stringify({ key }))).body.toString());
    assert.equal(got.kvs?.[0]?.value, b64('v3'));
    assert.equal(got.kvs[0].version, '3');
    const old = await send(server.url, '/v3/kv/range', JSON.stringify({ key, revision: rev - 1 }));
    assert.equal(old.status, 400, 'the compacted revision is gone');
  } finally {
    await server.stop();
  }
});
