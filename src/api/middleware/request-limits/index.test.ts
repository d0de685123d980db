import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { EtcdError } from '../../etcd-errors.ts';
import { PutRequestDesc } from '../../json/kv-messages.ts';
import { checkGrpcSize, checkRaftSize, limitRequestBody, protoSize, requestLimits } from './index.ts';

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
