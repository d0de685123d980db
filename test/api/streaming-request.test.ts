import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import type { ServerType } from '@hono/node-server';
import { gatewayRoute, type GatewayContext } from '../../src/api/gateway.ts';
import { RangeRequestDesc } from '../../src/api/json/kv-messages.ts';
import { authToken } from '../../src/api/middleware/auth-token/index.ts';
import { cors } from '../../src/api/middleware/cors/index.ts';
import { requestLimits } from '../../src/api/middleware/request-limits/index.ts';
import { watchRoutes } from '../../src/api/routes/watch.ts';
import { closeServers, serveNode } from '../../src/api/serve-node.ts';
import { OpenStreams } from '../../src/api/streams.ts';
import { WatchableStore } from '../../src/mvcc/watchable-store.ts';
import { MemoryKv, sleep, until } from '../watch/model.ts';

/**
 * Node's server cuts a request whose body is still arriving after requestTimeout (5 minutes by
 * default; 1 s here). A watch stream's body is open for as long as its client wants: it must
 * outlive that timeout while the client keeps adding watches, and an ordinary request dribbled
 * past it must still be cut.
 */

const REQUEST_TIMEOUT_MS = 1000;
const kv = new MemoryKv();
const store = new WatchableStore(kv.history());
const streams = new OpenStreams();
let servers: ServerType[] = [];
let port = 0;

before(async () => {
  const app = new Hono();
  app.use('*', cors());
  app.use('/v3/*', authToken());
  const g: GatewayContext = { headerInfo: () => ({ clusterId: '1', memberId: '2', raftTerm: 3 }), limits: requestLimits(1.5 * 1024 * 1024), maxTxnOps: 128 };
  watchRoutes(app, g, store, streams);
  gatewayRoute<object>(app, '/kv/range', g, { desc: RangeRequestDesc, raft: false, auth: false, handle: () => '{}' });
  servers = await serveNode(app, ['http://127.0.0.1:0'], {}, { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: 500, connectionsCheckingInterval: 100 });
  port = (servers[0].address() as AddressInfo).port;
});

after(async () => {
  streams.closeAll();
  await closeServers(servers);
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const put = (key: string, value: string) => {
  const w = kv.write((t) => t.put(key, value, 0n))!;
  store.notify(w.rev, w.changes);
};

test('a watch stream outlives the request timeout while its client keeps adding watches', async () => {
  const lines: { result: { watch_id?: string; created?: boolean; events?: { kv: { key: string } }[] } }[] = [];
  let ended = false;
  const req = http.request({ port, method: 'POST', path: '/v3/watch', headers: { 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
    assert.equal(res.statusCode, 200);
    let pending = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      pending += d;
      for (let i; (i = pending.indexOf('\n')) >= 0; pending = pending.slice(i + 1)) lines.push(JSON.parse(pending.slice(0, i)));
    });
    res.on('end', () => (ended = true));
    res.on('error', () => (ended = true));
  });
  req.on('error', () => (ended = true));
  const started = Date.now();
  const rounds = 8;
  for (let i = 0; i < rounds; i++) {
    req.write(JSON.stringify({ create_request: { key: b64(`long/${i}`), watch_id: String(i + 1) } }));
    await until(() => lines.some((l) => l.result.created && l.result.watch_id === String(i + 1)), 2000, `watch ${i + 1} created`);
    put(`long/${i}`, `v${i}`);
    await until(() => lines.some((l) => l.result.events?.some((e) => e.kv.key === b64(`long/${i}`))), 2000, `event on long/${i}`);
    await sleep(400);
  }
  const held = Date.now() - started;
  assert.ok(held > 3 * REQUEST_TIMEOUT_MS, `held ${held} ms`);
  assert.equal(ended, false, 'the stream is still open');
  assert.equal(lines.filter((l) => l.result.created).length, rounds);
  // A write now still reaches the first watcher, created seconds ago.
  put('long/0', 'late');
  await until(() => lines.filter((l) => l.result.watch_id === '1' && l.result.events).length === 2, 2000, 'the late event');
  req.destroy();
});

test('an ordinary request whose body is dribbled past the timeout is still cut', async () => {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write('POST /v3/kv/range HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"key":');
  let answer = '';
  sock.on('data', (d) => (answer += d));
  const closed = new Promise<number>((resolve) => sock.once('close', () => resolve(Date.now())));
  const t0 = Date.now();
  const timer = setInterval(() => sock.writable && sock.write(' '), 200);
  const at = await Promise.race([closed, sleep(5 * REQUEST_TIMEOUT_MS).then(() => -1)]);
  clearInterval(timer);
  assert.notEqual(at, -1, 'the dribbled request was never cut');
  assert.ok(at - t0 >= REQUEST_TIMEOUT_MS * 0.9, `cut after ${at - t0} ms`);
  assert.match(answer, /^HTTP\/1\.1 408|^$/, answer.slice(0, 40));
});

test('a connection that carried a stream is closed with it; requests on new connections are timed as usual', async () => {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const body = JSON.stringify({ create_request: { key: b64('again') } });
  sock.write(`POST /v3/watch HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  let seen = '';
  sock.on('data', (d) => (seen += d));
  await until(() => seen.includes('"created":true'), 2000, 'the watch created');
  // etcd keeps a watch stream open after its body ends; close it from the server's side.
  streams.closeAll('test: done');
  await new Promise((r) => sock.once('close', r));
  const again = net.connect(port, '127.0.0.1');
  await new Promise((r) => again.once('connect', r));
  again.write('POST /v3/kv/range HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{');
  again.resume();
  const t0 = Date.now();
  await Promise.race([new Promise((r) => again.once('close', r)), sleep(5 * REQUEST_TIMEOUT_MS)]);
  assert.ok(Date.now() - t0 < 4 * REQUEST_TIMEOUT_MS, 'cut by the request timeout');
  again.destroy();
});

test('shutdown ends open watch streams with their last words and closes their connections', async () => {
  const req = http.request({ port, method: 'POST', path: '/v3/watch', headers: { 'transfer-encoding': 'chunked' }, agent: false });
  let text = '';
  const done = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
  });
  req.write(JSON.stringify({ create_request: { key: b64('bye') } }));
  await until(() => text.includes('"created":true'), 2000, 'created');
  assert.equal(streams.size, 1);
  streams.closeAll('etcdserver: server stopped');
  const socket = req.socket!;
  const socketClosed = new Promise<boolean>((resolve) => (socket.destroyed ? resolve(true) : socket.once('close', () => resolve(true))));
  await Promise.race([done, sleep(3000)]);
  assert.match(text, /"error":\{"grpc_code":14,"http_code":503,"message":"etcdserver: server stopped","http_status":"Service Unavailable"\}\}\n$/);
  assert.equal(await Promise.race([socketClosed, sleep(1000).then(() => false)]), true, 'the server closed the connection');
  assert.equal(streams.size, 0);
});

test('shutdown ends an SSE watch with a comment, not a cancellation, so the browser reconnects and resumes', async () => {
  const ac = new AbortController();
  const r = await fetch(`http://127.0.0.1:${port}/v3/watch/sse?prefix=sse/&encoding=text`, { signal: ac.signal });
  const reader = r.body!.getReader();
  let text = '';
  const read = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += Buffer.from(value).toString();
    }
  })().catch(() => {});
  await until(() => text.includes('event: created'), 2000, 'created');
  streams.closeAll('etcdserver: server stopped');
  await Promise.race([read, sleep(2000)]);
  assert.match(text, /\n: etcdserver: server stopped\n\n$/);
  assert.doesNotMatch(text, /event: canceled/);
  ac.abort();
});
