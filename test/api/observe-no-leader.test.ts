import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import type { ServerType } from '@hono/node-server';
import type { GatewayContext } from '../../src/api/gateway.ts';
import { authToken } from '../../src/api/middleware/auth-token/index.ts';
import { cors } from '../../src/api/middleware/cors/index.ts';
import { requestLimits } from '../../src/api/middleware/request-limits/index.ts';
import { observeRoutes } from '../../src/api/routes/election-observe.ts';
import { closeServers, serveNode } from '../../src/api/serve-node.ts';
import { OpenStreams } from '../../src/api/streams.ts';
import type { ElectionService, ObserveSink } from '../../src/server/member.ts';
import { sleep, until } from '../watch/model.ts';

/**
 * etcd's gateway sends a stream's headers with its first message, so observing a name without a
 * leader answers nothing until one is elected (golden case observe-no-leader). The observer must
 * still end when its client goes away before anything was written.
 */

const streams = new OpenStreams();
const observers: { sink: ObserveSink; closed: boolean }[] = [];
const elections = {
  async observe(_name: string, _ai: unknown, sink: ObserveSink) {
    const o = { sink, closed: false };
    observers.push(o);
    return { close: () => void (o.closed = true), kick() {} };
  },
} as unknown as ElectionService;
let servers: ServerType[] = [];
let port = 0;

before(async () => {
  const app = new Hono();
  app.use('*', cors());
  app.use('/v3/*', authToken());
  const g: GatewayContext = { headerInfo: () => ({ clusterId: '1', memberId: '2', raftTerm: 3 }), limits: requestLimits(1.5 * 1024 * 1024), maxTxnOps: 128 };
  observeRoutes(app, g, elections, streams);
  servers = await serveNode(app, ['http://127.0.0.1:0']);
  port = (servers[0].address() as AddressInfo).port;
});

after(async () => {
  streams.closeAll();
  await closeServers(servers);
});

function observe(): { req: http.ClientRequest; res: Promise<http.IncomingMessage> } {
  const body = JSON.stringify({ name: Buffer.from('e').toString('base64') });
  let req!: http.ClientRequest;
  const res = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.request({ port, method: 'POST', path: '/v3/election/observe', headers: { 'content-length': String(body.length) }, agent: false }, resolve);
    req.on('error', reject);
    req.end(body);
  });
  return { req, res };
}

test('without a leader nothing is answered, not even the headers; the first leader starts the response', async () => {
  const before = observers.length;
  const { req, res } = observe();
  let answered = false;
  void res.then(() => (answered = true), () => {});
  await until(() => observers.length === before + 1, 5_000, 'the observer started');
  await sleep(200);
  assert.equal(answered, false, 'no headers before a leader');
  const kv = { key: 'e/1', createRevision: 7, modRevision: 7, version: 1, value: 'v', lease: 0n };
  observers[before].sink.leader(kv, 7);
  const r = await res;
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  const line = await new Promise<string>((resolve) => r.once('data', (c: Buffer) => resolve(c.toString())));
  assert.match(line, /^\{"result":\{"header":\{[^}]*"revision":"7"[^}]*\},"kv":\{"key":"ZS8x"/);
  req.destroy();
  await until(() => observers[before].closed, 5_000, 'the observer closed');
});

test('a client gone before anything was written ends its observer', async () => {
  const before = observers.length;
  const { req, res } = observe();
  res.catch(() => {});
  await until(() => observers.length === before + 1, 5_000, 'the observer started');
  assert.equal(streams.size, 1);
  req.destroy();
  await until(() => observers[before].closed, 5_000, 'the observer closed');
  assert.equal(streams.size, 0, 'no longer tracked for shutdown');
});
