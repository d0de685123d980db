import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BASE64, BytesFieldError, TEXT } from '../../src/api/json/bytes-encoding.ts';
import { parseGoJson, type Node } from '../../src/api/json/go-json.ts';
import { anyBytes, isUtf8 } from './arbitrary-bytes.ts';

/**
 * The text encoding (?encoding=text) loses nothing: any bytes come back as they went, written as a
 * plain string exactly when they are valid UTF-8, and as {"base64": ...} otherwise.
 */

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`bytes-encoding: seed ${seed} (replay with EDGECD_SEED=${seed})`);

const node = (json: string | Buffer) => parseGoJson(Buffer.from(json)) as Node;
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
test('any bytes round-trip through both encodings; text is a string exactly for valid UTF-8', () => {
  fc.assert(
    fc.property(anyBytes, (b) => {
      const s = latin1(b);
      for (const enc of [BASE64, TEXT]) assert.equal(enc.read(node(enc.json(s))), s, `${enc.name} ${Buffer.from(b).toString('hex')}`);
      const text = JSON.parse(TEXT.json(s));
      if (isUtf8(b)) assert.equal(Buffer.from(text, 'utf8').toString('hex'), Buffer.from(b).toString('hex'));
      else assert.deepEqual(text, { base64: Buffer.from(b).toString('base64') });
    }),
    { seed, numRuns: 2000 },
  );
});

test('a text string may spell its characters with any JSON escapes', () => {
  const codePoint = fc.integer({ min: 0, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff);
  fc.assert(
    fc.property(fc.array(fc.tuple(codePoint, fc.boolean()), { maxLength: 12 }), (chars) => {
      const str = chars.map(([cp]) => String.fromCodePoint(cp)).join('');
      // Each character as JSON.stringify writes it, or as \u escapes (a surrogate pair above U+FFFF).
      const escaped = chars
        .map(([cp, asEscape]) => {
          const ch = String.fromCodePoint(cp);
          if (!asEscape) return JSON.stringify(ch).slice(1, -1);
          return [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
        })
        .join('');
      assert.equal(TEXT.read(node(`"${escaped}"`)), Buffer.from(str, 'utf8').toString('latin1'));
    }),
    { seed, numRuns: 500 },
  );
});

test('raw bytes that are not UTF-8 inside a text string are kept, not replaced', () => {
  const body = Buffer.concat([Buffer.from('"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"')]);
  assert.equal(TEXT.read(node(body)), 'a\xff\xfeb');
});

test('what the text encoding refuses, and why', () => {
  const refused = (json: string) => assert.throws(() => TEXT.read(node(json)), BytesFieldError, json);
  refused('"\\ud800"');
  refused('"\\udc00x"');
  refused('5');
  refused('true');
  refused('{"base64":"Zm9v","extra":1}');
  refused('{"text":"foo"}');
  refused('{"base64":5}');
  assert.throws(() => TEXT.read(node('{"base64":"!!"}')), /illegal base64 data at input byte 0/);
  assert.equal(TEXT.read(node('null')), '');
  assert.equal(TEXT.read(node('[104,105]')), 'hi', 'a byte array, as Go reads one');
});
