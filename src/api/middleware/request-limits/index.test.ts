import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono, type Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { closeServers, serveNode } from '../../serve-node.ts';
import { nodeEnv } from '../../node-env.ts';
import { EtcdError } from '../../etcd-errors.ts';
import { PutRequestDesc } from '../../json/kv-messages.ts';
import { checkGrpcSize, checkRaftSize, limitRequestBody, protoSize, requestLimits, streamingBody } from './index.ts';

const L = requestLimits(1.5 * 1024 * 1024);

test("etcd's defaults: gRPC refuses past 2 MiB, a body may be four times that", () => {
  assert.equal(L.grpcMax, 2 * 1024 * 1024);
  assert.equal(L.bodyCap, 4 * L.grpcMax);
});

test('a declared length past the body cap is refused unread, with gRPC\'s message', async () => {
  const a = new Hono();
  a.post('/put', limitRequestBody(L), (c) => c.text('read'));
  const over = await a.request('/put', { method: 'POST', headers: { 'content-length': String(L.bodyCap + 1) }, body: 'x' });
  assert.equal(over.status, 429);
  assert.deepEqual(await over.json(), {
    error: `grpc: received message larger than max (${L.bodyCap + 1} vs. 2097152)`,
    message: `grpc: received message larger than max (${L.bodyCap + 1} vs. 2097152)`,
    code: 8,
  });
  const ok = await a.request('/put', { method: 'POST', body: '{}' });
  assert.equal(await ok.text(), 'read');
});

test('the limits apply to the protobuf form: request too large, then gRPC\'s cap', () => {
  const put = (valueBytes: number) => ({ key: 'big', value: 'x'.repeat(valueBytes), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
  const attempt = (bytes: number, raft = true) => {
    try {
      const size = protoSize(put(bytes), PutRequestDesc, bytes * 2, L);
      checkGrpcSize(size, L);
      if (raft) checkRaftSize(size, L);
      return 'ok';
    } catch (err) {
      return `${(err as EtcdError).code} ${(err as EtcdError).message}`;
    }
  };
  assert.equal(protoSize(put(10), PutRequestDesc, 20, L), undefined, 'small bodies are not sized');
  assert.equal(attempt(1_000_000), 'ok');
  assert.equal(attempt(1_600_000), '3 etcdserver: request is too large');
  assert.equal(attempt(1_600_000, false), 'ok', 'a read is not a raft entry');
  // key: tag, length, 3 bytes; value: tag, 3-byte length, the bytes (etcd's golden case).
  assert.equal(attempt(2_200_000), '8 grpc: received message larger than max (2200010 vs. 2097152)');
});

test("a streaming body outlives Node's request timeout; the same route without the middleware is cut", async () => {
  const echo = (c: Context) => {
    const { incoming, outgoing } = nodeEnv(c)!;
    outgoing!.writeHead(200);
    incoming!.on('data', (d: Buffer) => outgoing!.write(d));
    incoming!.on('end', () => outgoing!.end());
    return RESPONSE_ALREADY_SENT;
  };
  const a = new Hono();
  a.post('/stream', streamingBody(), echo);
  a.post('/plain', echo);
  const servers = await serveNode(a, ['http://127.0.0.1:0'], {}, { requestTimeout: 400, headersTimeout: 200, connectionsCheckingInterval: 50 });
  const port = (servers[0].address() as AddressInfo).port;
  const hold = (path: string) =>
    new Promise<string>((resolve) => {
      let got = '';
      const req = http.request({ port, path, method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => (got += d));
        res.on('end', () => resolve(got));
        res.on('error', () => resolve(got + '|cut'));
      });
      req.on('error', () => resolve(got + '|cut'));
      let n = 0;
      const t = setInterval(() => {
        if (req.destroyed) return clearInterval(t);
        req.write(String(n));
        if (++n === 6) {
          clearInterval(t);
          req.end();
        }
      }, 200);
    });
  try {
    assert.equal(await hold('/stream'), '012345', 'held 1.2 s, three request timeouts');
    // Cut: the socket errors, or (when the cut lands before the echo reached the client) the answer
    // ends short; either way the plain route never echoes the whole body.
    const plain = await hold('/plain');
    assert.ok(plain.endsWith('|cut') || plain.length < '012345'.length, `the plain route was not cut: ${JSON.stringify(plain)}`);
  } finally {
    await closeServers(servers);
  }
});
