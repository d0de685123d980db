import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRaftRequest, encodeRaftRequest, type RaftRequest } from '../../src/server/raft-request.ts';

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`raft-request: seed ${seed} (replay with EDGECD_SEED=${seed})`);

// Keys and values are latin1 byte strings; ids are int64 (bigint in memory, decimal strings in the entry).
const bytes = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 });
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const put = fc.record({ key: bytes, value: bytes, lease: int64, prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean() });
const op = fc.letrec<{ op: object; txn: object }>((tie) => ({
  op: fc.oneof({ depthSize: 'small' }, put.map((p) => ({ requestPut: p })), fc.record({ requestTxn: tie('txn') })),
  txn: fc.record({ compare: fc.constant([]), success: fc.array(tie('op'), { maxLength: 3 }), failure: fc.array(tie('op'), { maxLength: 3 }) }),
}));
const request = fc.oneof(
  fc.record({ id: fc.string(), put, header: fc.record({ username: fc.string(), authRevision: fc.nat() }), internal: fc.constant(true as const) }, { requiredKeys: ['id', 'put'] }),
  fc.record({ id: fc.string(), txn: op.txn }),
  fc.record({ id: fc.string(), leaseGrant: fc.record({ ID: int64, TTL: fc.nat() }) }),
  fc.record({ id: fc.string(), leaseCheckpoint: fc.record({ checkpoints: fc.array(fc.record({ ID: int64, remaining: fc.nat() }), { maxLength: 4 }) }) }),
  fc.record({ id: fc.string(), alarm: fc.record({ action: fc.nat(2), memberID: int64, alarm: fc.nat(3) }), header: fc.record({ username: fc.string(), authRevision: fc.nat() }) }),
);

/** A form that keeps a bigint apart from a string of its digits, whatever the objects' prototypes. */
const canon = (v: unknown): unknown =>
  typeof v === 'bigint' ? `bigint ${v}` : typeof v === 'string' ? `string ${v}` : Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canon(x)])) : v;

test('a raft request decodes to what was encoded: bytes, nested txns and every int64 id at any depth', () => {
  fc.assert(
    fc.property(request, (r) => {
      assert.deepEqual(canon(decodeRaftRequest(encodeRaftRequest(r as RaftRequest))), canon(r));
    }),
    { seed, numRuns: 2000 },
  );
});

test("a plain put (the encoder's shortcut) is written as the same bytes as the general JSON", () => {
  const general = (r: object) => Buffer.from(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)), 'utf8');
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), put, fc.option(fc.record({ username: fc.string({ unit: 'binary' }), authRevision: fc.nat() }), { nil: undefined }), (id, p, header) => {
      // As the member builds it: { id, ...{ put, header } }, header often undefined.
      const r = { id, put: { key: p.key, value: p.value, lease: p.lease, prevKv: p.prevKv, ignoreValue: p.ignoreValue, ignoreLease: p.ignoreLease }, header };
      assert.deepEqual(Buffer.from(encodeRaftRequest(r as RaftRequest)), general(r));
    }),
    { seed, numRuns: 2000 },
  );
});
