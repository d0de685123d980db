/**
 * --auth-token parsing, case by case as etcd 3.4.23 took each value at start-up (etcd started on
 * loopback with the value, "started" or the error it stopped with).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../../src/auth/go-duration.ts';
import { parseAuthTokenFlag } from '../../src/auth/token-flag.ts';

const K = '/keys/rsa.pem';

test('--auth-token values etcd 3.4.23 started with', () => {
  assert.deepEqual(parseAuthTokenFlag('simple'), { type: 'simple' });
  assert.deepEqual(parseAuthTokenFlag('simple,foo=bar'), { type: 'simple' }, 'simple ignores its options');
  assert.deepEqual(parseAuthTokenFlag(''), { type: 'none' });
  assert.deepEqual(parseAuthTokenFlag(`jwt,pub-key=/keys/rsa.pub,priv-key=${K},sign-method=RS256,ttl=5m`), { type: 'jwt', signMethod: 'RS256', pubKeyPath: '/keys/rsa.pub', privKeyPath: K, ttlMs: 300_000, unknownOptions: [] });
  assert.deepEqual(parseAuthTokenFlag(`jwt,sign-method=PS384,priv-key=${K}`), { type: 'jwt', signMethod: 'PS384', privKeyPath: K, ttlMs: 300_000, unknownOptions: [] }, 'ttl defaults to 5 minutes');
  assert.deepEqual(parseAuthTokenFlag(`jwt,sign-method=HS256,priv-key=/keys/hs.key`), { type: 'jwt', signMethod: 'HS256', privKeyPath: '/keys/hs.key', ttlMs: 300_000, unknownOptions: [] });
  assert.equal((parseAuthTokenFlag(`jwt,sign-method=RS256,priv-key=${K},ttl=0`) as { ttlMs: number }).ttlMs, 0);
  assert.equal((parseAuthTokenFlag(`jwt,sign-method=RS256,priv-key=${K},ttl=`) as { ttlMs: number }).ttlMs, 300_000, 'an empty ttl is the default');
  assert.deepEqual((parseAuthTokenFlag(`jwt,sign-method=RS256,priv-key=${K},foo=bar`) as { unknownOptions: string[] }).unknownOptions, ['foo'], 'etcd warns of unknown options and goes on');
  // Parsed, then refused when the keys load (etcd: "auth: missing key data" at start-up).
  assert.equal(parseAuthTokenFlag('jwt,sign-method=RS256').type, 'jwt');
  assert.equal(parseAuthTokenFlag('jwt,sign-method=HS256').type, 'jwt');
});

test('--auth-token values etcd 3.4.23 refused to start with, and its error', () => {
  const invalid = { message: 'auth: invalid auth options' };
  for (const v of [
    'foo',
    'JWT,sign-method=RS256',
    ' jwt,sign-method=RS256',
    'simple,foo',
    `jwt,sign-method=RS256,priv-key=${K},bad`,
    `jwt,sign-method=RS256,priv-key=${K},a=b=c`,
    `jwt,sign-method=RS256,priv-key=${K},`,
    `jwt,sign-method=RS256,priv-key=${K},sign-method=RS256`,
    `jwt,priv-key=${K}`,
    `jwt,sign-method=rs256,priv-key=${K}`,
    `jwt,sign-method=RS256,priv-key=${K},ttl=abc`,
  ]) assert.throws(() => parseAuthTokenFlag(v), invalid, JSON.stringify(v));
  assert.throws(() => parseAuthTokenFlag(`jwt,sign-method=EdDSA,priv-key=${K}`), { message: 'unsupported signing method: *jwt.SigningMethodEd25519' });
  assert.throws(() => parseAuthTokenFlag('jwt,sign-method=none'), { message: 'unsupported signing method: *jwt.signingMethodNone' });
});

test("Go's time.ParseDuration, as etcd reads ttl=", () => {
  const ok: [string, number][] = [['5m', 300_000], ['1h30m', 5_400_000], ['1.5s', 1500], ['.5s', 500], ['1.s', 1000], ['-2m', -120_000], ['+1s', 1000], ['0', 0], ['-0', 0], ['300ms', 300], ['1500us', 1.5], ['2µs', 0.002], ['1h1m1s1ms', 3_661_001]];
  for (const [s, ms] of ok) assert.equal(parseGoDuration(s), ms, s);
  for (const s of ['', '1', '5', 'abc', '1x', '.s', 's', '1m ', ' 1m', '1m-1s', '--1s']) assert.equal(parseGoDuration(s), undefined, JSON.stringify(s));
});
