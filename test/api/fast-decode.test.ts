import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as auth from '../../src/api/json/auth-messages.ts';
import { BASE64, TEXT } from '../../src/api/json/bytes-encoding.ts';
import * as cluster from '../../src/api/json/cluster-messages.ts';
import * as concurrency from '../../src/api/json/concurrency-messages.ts';
import { fastDecode } from '../../src/api/json/fast-decode.ts';
import * as kv from '../../src/api/json/kv-messages.ts';
import * as lease from '../../src/api/json/lease-messages.ts';
import { decodeBody, exactDecodeBody, type MessageDesc } from '../../src/api/json/proto-decode.ts';
import * as watch from '../../src/api/json/watch-messages.ts';

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fast-decode: seed ${seed} (replay with EDGECD_SEED=${seed})`);

// Every request message the gateway decodes.
const descs = [auth, cluster, concurrency, kv, lease, watch].flatMap((m) =>
  Object.entries(m)
    .filter(([name]) => name.endsWith('Desc'))
    .map(([, d]) => d as MessageDesc)
    .filter((d) => Array.isArray(d?.fields)),
);

// JSON values of every sort a client might send a field, the awkward ones on purpose.
const values = [
  '"YQ=="', '"Zm9vYmFy"', '""', '"YWI="', '"YW=="', '"Y"', '"YQ"', '"Y Q=="', '"YQ==YQ=="', '"=YQ="', '"/+/+"', '"YQ-_"', '"Y!Q="', '"YQ=a"', '"Y==="', '"Y=Q="', '"YR=="', '"YWI!"', '"YQ==\\n"', '"Y\\/Q="',
  '"abc"', '"caf\u00e9"', '"\\u0041QID"', '"a\\nb"', '"\\ud800"', '"\u2603"',
  '0', '1', '-1', '1.0', '1e3', '007', '"0"', '"1"', '"12"', '"-3"', '"007"', '"1.5"', '"1e3"', '" 1"', '"9223372036854775807"',
  '"9223372036854775808"', '"18446744073709551616"', '"2147483648"', '"999999999999999"', '9007199254740993',
  'true', 'false', '"true"', 'null', '[]', '[1,2]', '[true]', '{}', '{"key":"YQ=="}', '"RANGE"', '"PUT"', '"ASCEND"', '"NONE"',
];
const json = fc.constantFrom(...values);
const ws = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');

/** A body naming a desc's fields (lowerCamelCase, proto name, or both), unknown ones, duplicates. */
function body(desc: MessageDesc) {
  const names = desc.fields.flatMap((f) => [f.name, f.name.replace(/_([a-z0-9])/g, (_m, x: string) => x.toUpperCase())]);
  const member = fc.tuple(fc.constantFrom(...names, ...names, 'unknown', 'Key', '__proto__', 'constructor'), ws, json, ws);
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(member, { maxLength: 6 }).map((ms) => `{${ms.map(([k, a, v, b]) => `${a}"${k}":${b}${v}`).join(',')}}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '"x"', '{', '{"key":}', '{"key":"YQ=="} x', '{"key":"YQ==",}', '\ufeff{}', `${'['.repeat(1001)}${']'.repeat(1001)}`) },
  );
}

const outcome = (f: () => unknown) => {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
};

test('the shortcut decodes every body exactly as Go-rule decoding does, or leaves it to it', () => {
  let shortcut = 0;
  let runs = 0;
  fc.assert(
    fc.property(fc.constantFrom(...descs).chain((d) => fc.tuple(fc.constant(d), body(d), fc.constantFrom(BASE64, TEXT))), ([desc, text, enc]) => {
      const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
      runs++;
      if (fastDecode(bytes, desc, enc) !== undefined) shortcut++;
      assert.deepEqual(outcome(() => decodeBody(bytes, desc, enc)), outcome(() => exactDecodeBody(bytes, desc, enc)), `${desc.goName} ${enc.name} ${text}`);
    }),
    { seed, numRuns: 20_000 },
  );
  // The comparison means something only if the shortcut answered a good share of them.
  assert.ok(shortcut > runs / 20, `the shortcut answered ${shortcut} of ${runs}`);
});

test("the shortcut takes a client's usual put, range and txn-free bodies", () => {
  const put = new TextEncoder().encode(' {"key": "Zm9v", "value":"YmFy", "lease":"7", "prev_kv": true}\n');
  assert.deepEqual(fastDecode(put, kv.PutRequestDesc, BASE64), { key: 'foo', value: 'bar', lease: 7n, prevKv: true, ignoreValue: false, ignoreLease: false });
  const range = new TextEncoder().encode('{"key":"YQ==","range_end":"Yg==","serializable":true,"limit":"10"}');
  assert.deepEqual(fastDecode(range, kv.RangeRequestDesc, BASE64), exactDecodeBody(range, kv.RangeRequestDesc));
  assert.notEqual(fastDecode(range, kv.RangeRequestDesc, BASE64), undefined);
});
