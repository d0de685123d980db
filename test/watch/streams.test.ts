import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';
import { httpStatusOf } from '../../src/api/grpc-status.ts';
import { SseClient } from './sse-client.ts';
import { sleep, until } from './model.ts';

/** Watch streams at scale and at their limits: many watchers, a client that never reads, progress, SSE details. */

let server: EdgecdProcess;
const b64 = (s: string) => Buffer.from(s).toString('base64');

before(async () => {
  server = await startEdgecd({
    args: ['--watch-stream-buffer-bytes', '16384', '--watch-slow-timeout', '1500ms', '--experimental-watch-progress-notify-interval', '300ms'],
  });
});
after(async () => {
  await server?.stop();
});

const put = async (key: string, value: string) => (await fetch(`${server.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }) })).json();

/** A POST /v3/watch stream collecting answer lines. */
function stream(body: string) {
  const lines: Record<string, any>[] = [];
  const u = new URL('/v3/watch', server.url);
  let ended = false;
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
    let pending = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      pending += d;
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(pending.slice(0, i)));
        pending = pending.slice(i + 1);
      }
    });
    res.on('end', () => (ended = true));
  });
  req.on('error', () => {});
  req.end(body);
  return { lines, close: () => req.destroy(), ended: () => ended };
}

test('with 10,000 watchers on one member, a put reaches all of them', async () => {
  const streams = Array.from({ length: 10 }, () => stream(Array.from({ length: 1000 }, () => JSON.stringify({ create_request: { key: b64('hot') } })).join('')));
  await until(() => streams.every((s) => s.lines.length === 1000), 30_000, '10,000 created answers');
  const t0 = Date.now();
  const r = await put('hot', 'news');
  await until(() => streams.every((s) => s.lines.length === 2000), 30_000, 'the put to reach every watcher');
  const ms = Date.now() - t0;
  const rev = r.header.revision;
  for (const s of streams) {
    const ids = new Set<string>();
    for (const l of s.lines.slice(1000)) {
      assert.equal(l.result.header.revision, rev);
      assert.equal(Buffer.from(l.result.events[0].kv.value, 'base64').toString(), 'news');
      ids.add(l.result.watch_id ?? '0');
    }
    assert.equal(ids.size, 1000, 'each watcher of the stream once');
  }
  console.log(`10,000 watchers: the put reached all in ${ms} ms`);
  for (const s of streams) s.close();
});

test('a client that never reads is cut off with a clear close; writes and other watchers go on', async () => {
  // A raw socket that sends the request and then never reads.
  const u = new URL(server.url);
  const body = JSON.stringify({ create_request: { key: b64('flood/'), range_end: b64('flood0') } });
  const sock = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(`POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  sock.pause();
  const healthy = stream(JSON.stringify({ create_request: { key: b64('flood/'), range_end: b64('flood0') } }));
  await until(() => healthy.lines.length === 1, 5000, 'created');
  const big = 'x'.repeat(60_000);
  const t0 = Date.now();
  let writes = 0;
  let worst = 0;
  // Far more than the socket buffers hold: the stalled stream falls behind, then is cut off.
  while (Date.now() - t0 < 4000) {
    const s = Date.now();
    await put(`flood/${writes % 10}`, big);
    worst = Math.max(worst, Date.now() - s);
    writes++;
  }
  await until(() => healthy.lines.length === 1 + writes, 10_000, 'the reading watcher to get every write');
  // What the stalled client finds when it finally reads: events, then the reason, then the end.
  sock.resume();
  let text = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (text += d));
  await new Promise<void>((r) => {
    sock.once('close', () => r());
    setTimeout(() => r(), 5000);
  });
  assert.match(text, /"error":\{"grpc_code":8,"http_code":429,"message":"edgecd: watch stream cut off: the client did not read for 2 s \(\d+ bytes waiting\)","http_status":"Too Many Requests"\}\}/);
  assert.ok(sock.destroyed || sock.readableEnded, 'the connection was closed');
  assert.ok(worst < 2000, `a write waited ${worst} ms`);
  const h = await fetch(`${server.url}/health`);
  assert.equal(h.status, 200);
  healthy.close();
});

test('progress_notify: an idle watcher is told the revision now and then', async () => {
  const s = stream(JSON.stringify({ create_request: { key: b64('idle'), progress_notify: true, watch_id: '7' } }));
  await sleep(1000);
  const progress = s.lines.filter((l) => !l.result.created && !l.result.events);
  assert.ok(progress.length >= 2, `progress answers: ${progress.length}`);
  for (const p of progress) {
    assert.equal(p.result.watch_id, '7');
    assert.deepEqual(Object.keys(p.result), ['header', 'watch_id']);
  }
  s.close();
});

test('SSE: created, heartbeats, errors before the stream, token refused while auth is off, preflight', async () => {
  const raw = await new Promise<string>((resolve) => {
    const u = new URL(`${server.url}/v3/watch/sse?prefix=sse/&encoding=text&heartbeat=100`);
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent: false }, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (t += d));
      setTimeout(() => {
        req.destroy();
        resolve(t);
      }, 400);
    });
  });
  assert.match(raw, /^event: created\nid: \d+\ndata: \{"header":\{[^}]*\},"created":true\}\n\n/);
  assert.ok((raw.match(/: heartbeat\n\n/g) ?? []).length >= 2, raw);

  const bad = await fetch(`${server.url}/v3/watch/sse?key=!!!`);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, 3);
  const none = await fetch(`${server.url}/v3/watch/sse`);
  assert.equal(none.status, 400);
  assert.equal((await none.json()).error, 'etcdserver: key is not provided');
  const tok = await fetch(`${server.url}/v3/watch/sse?key=YQ==&token=abc`);
  assert.equal(tok.status, 401);
  const pre = await fetch(`${server.url}/v3/watch/sse`, { method: 'OPTIONS' });
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /last-event-id/);
});

test('SSE: a resume point that was compacted answers a compacted event and ends', async () => {
  const a = await put('sse-c', '1');
  await put('sse-c', '2');
  const c = await put('sse-c', '3');
  await fetch(`${server.url}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: String(c.header.revision), physical: true }) });
  const client = new SseClient(`${server.url}/v3/watch/sse?key=${b64('sse-c')}&start_revision=${a.header.revision}`);
  client.start();
  await until(() => client.messages.some((m) => m.event === 'compacted'), 5000, 'the compacted event');
  const m = client.messages.find((x) => x.event === 'compacted')!;
  const data = JSON.parse(m.data);
  assert.equal(data.canceled, true);
  assert.equal(data.compact_revision, String(c.header.revision));
  client.close();
  // At exactly the compacted revision a resume is refused too (its deletions may be gone).
  const exact = new SseClient(`${server.url}/v3/watch/sse?key=${b64('sse-c')}&start_revision=${c.header.revision}`);
  exact.start();
  await until(() => exact.messages.some((m) => m.event === 'compacted'), 5000, 'the compacted event at the compacted revision');
  exact.close();
});

for (const route of ['/v3/watch', '/v3/lease/keepalive']) test(`a ${route} body whose first request is bad is read to its end before the error is answered and the connection closed`, async () => {
  // 1.2 MB of nesting: the error is known from the first bytes. Answering and closing then would
  // reset a client still sending, which may then never read the answer.
  const body = Buffer.from(`${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`);
  const u = new URL(server.url);
  const sock = net.connect(Number(u.port), u.hostname);
  let answer = '';
  let closedEarly = false;
  let sentAll = false;
  sock.on('data', (d) => (answer += d));
  sock.on('end', () => (closedEarly ||= !sentAll));
  sock.on('error', () => {});
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  sock.write(`POST ${route} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`);
  sock.write(body.subarray(0, 65536));
  await sleep(300);
  assert.equal(answer, '', 'no answer before the body is in');
  assert.equal(closedEarly, false, 'the connection stays open while the body arrives');
  sentAll = true;
  sock.end(body.subarray(65536));
  await closed;
  const head = answer.slice(0, answer.indexOf('\r\n'));
  const err = JSON.parse(answer.slice(answer.indexOf('{'), answer.lastIndexOf('}') + 1));
  assert.equal(err.error, 'exceeded max depth');
  assert.equal(err.message, err.error);
  assert.match(head, new RegExp(`^HTTP/1.1 ${httpStatusOf(err.code)} `));
});
