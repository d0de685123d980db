import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage } from '../../src/api/json/proto-decode.ts';
import { LeaseKeepAliveRequestDesc } from '../../src/api/json/lease-messages.ts';
import { JsonValueStream, type StreamItem } from '../../src/api/json/value-stream.ts';

const keepAlive = () => new JsonValueStream((node) => decodeMessage(node, LeaseKeepAliveRequestDesc) as { ID: bigint }, 1 << 16);
const run = (chunks: Buffer[]): StreamItem<{ ID: bigint }>[] => {
  const s = keepAlive();
  return [...chunks.flatMap((c) => s.push(c)), ...s.end()];
};

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`value-stream: seed ${seed} (replay with EDGECD_SEED=${seed})`);

test('a body cut anywhere into chunks yields the same requests and the same first error', () => {
  const value = fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 62n }).map((id) => `{"ID":"${id}"}`),
    fc.bigInt({ min: 0n, max: 2n ** 40n }).map((id) => `{"ID":${id}}`),
    fc.constantFrom('{}', '{"ID":"x"}', '{"ID":', '[1]', 'nul', '{"ID":1}}'),
  );
  const body = fc.array(fc.tuple(value, fc.constantFrom('', ' ', '\n', '\r\n\t')), { maxLength: 8 }).map((vs) => Buffer.from(vs.map(([v, sp]) => v + sp).join('')));
  fc.assert(
    fc.property(body, fc.array(fc.nat(), { maxLength: 6 }), (b, cuts) => {
      const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
      const chunks = [...at, b.length].map((end, i) => b.subarray(i === 0 ? 0 : at[i - 1], end));
      assert.deepEqual(run(chunks), run([b]));
    }),
    { seed, numRuns: 500 },
  );
});

test('requests stop at the first bad value, with its error', () => {
  const items = run([Buffer.from('{"ID":"7"} {"ID":8}\n{"ID":"x"} {"ID":"9"}')]);
  assert.deepEqual(items.slice(0, 2), [{ req: { ID: 7n } }, { req: { ID: 8n } }]);
  assert.equal(items.length, 3, 'nothing after the error');
  assert.ok('error' in items[2] && items[2].code === 2, JSON.stringify(items[2]));
});

test('a value that never ends is refused once it passes the limit', () => {
  const s = keepAlive();
  assert.deepEqual(s.push(Buffer.from('{"ID":"1"}{"ID":"')), [{ req: { ID: 1n } }]);
  const items = s.push(Buffer.alloc(1 << 16, '1'));
  assert.equal(items.length, 1);
  assert.ok('error' in items[0] && items[0].code === 8 && /larger than max/.test(items[0].error), JSON.stringify(items));
  assert.deepEqual(s.push(Buffer.from('"}')), [], 'nothing after the error');
});
