/**
 * Tokens: simple tokens (registered on every member, renewed on use, expired by time handed in)
 * and JWTs (signed, verified, cached), and every way a token must be refused. What etcd 3.4.23
 * did with the same tokens is noted beside each case (driven with curl on its gateway, etcd
 * started with --auth-token jwt,pub-key=...,priv-key=...,sign-method=RS256).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { AuthStore } from '../../src/auth/auth-store.ts';
import { loadJwtKeys, type JwtSignMethod } from '../../src/auth/jwt-keys.ts';
import { JwtTokens } from '../../src/auth/jwt-tokens.ts';
import { generateSharedJwtKey, SharedKeyTokens, sharedJwtKeys, sharedJwtPublicJwk } from '../../src/auth/shared-jwt-key.ts';
import { SimpleTokens, SIMPLE_TOKEN_TTL_DEFAULT_MS } from '../../src/auth/simple-tokens.ts';
import { checkRevisionAfterRead, checkTokenRevision, type TokenGrant, type TokenProvider } from '../../src/auth/tokens.ts';
import { PermType } from '../../src/auth/types.ts';
import { VerifiedTokenCache } from '../../src/auth/verified-token-cache.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const grant = (username: string, revision: number, index = 7, simpleToken = ''): TokenGrant => ({ username, revision, index, simpleToken });

/** A deterministic byte source, as the member's crypto.getRandomValues is replaced in tests. */
function seeded(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

// ---- simple tokens ----

test('simple token: 16 letters from the randomness handed in, a dot, the raft index', () => {
  const prefix = SimpleTokens.genTokenPrefix(seeded(1));
  assert.match(prefix, /^[a-zA-Z]{16}$/);
  assert.equal(SimpleTokens.genTokenPrefix(seeded(1)), prefix, 'same randomness, same prefix');
  assert.notEqual(SimpleTokens.genTokenPrefix(seeded(2)), prefix);
  const t = new SimpleTokens();
  assert.equal(t.assign(grant('alice', 3, 42, prefix), T0), `${prefix}.42`);
  assert.equal(SimpleTokens.indexOf(`${prefix}.42`), 42);
  for (const bad of ['bogus', 'a.b.c', 'abc.', 'abc.x1', '.', 'abc.1.2']) assert.equal(SimpleTokens.indexOf(bad), undefined, bad);
});

test('simple token: registered by every member when the authenticate entry applies, so it works through any of them', () => {
  const members = [new SimpleTokens(), new SimpleTokens(), new SimpleTokens()];
  const entry = grant('alice', 5, 19, SimpleTokens.genTokenPrefix(seeded(9)));
  const tokens = members.map((m, i) => m.assign(entry, T0 + i * 3)); // each member applies on its own clock
  assert.equal(new Set(tokens).size, 1);
  for (const m of members) assert.deepEqual(m.info(tokens[0], T0 + 1000, 8), { username: 'alice', revision: 8 }, 'reports the store revision of now: a simple token is never old');
  assert.equal(new SimpleTokens().info(tokens[0], T0, 8), undefined, 'a member that never applied the entry does not know it');
  assert.throws(() => members[0].assign(entry, T0), /already assigned/);
});

test('simple token: lives ttl after its last use, renewed on each use (etcd 3.4.23, --auth-token-ttl 2: alive through uses 1.5 s apart, gone after 3.5 s idle)', () => {
  const t = new SimpleTokens(2000);
  const tok = t.assign(grant('alice', 1, 1, 'a'.repeat(16)), T0);
  assert.ok(t.info(tok, T0 + 1500, 1));
  assert.ok(t.info(tok, T0 + 3000, 1));
  assert.ok(t.info(tok, T0 + 4500, 1));
  assert.ok(t.info(tok, T0 + 6500, 1), 'exactly ttl after the last use is still alive (etcd: expired when now is after the end)');
  assert.equal(t.info(tok, T0 + 8501, 1), undefined);
  assert.equal(t.size, 0, 'an expired token is forgotten');
  const d = new SimpleTokens(-5);
  const tok2 = d.assign(grant('b', 1, 2, 'b'.repeat(16)), T0);
  assert.ok(d.info(tok2, T0 + SIMPLE_TOKEN_TTL_DEFAULT_MS, 1), 'ttl <= 0 means the default 300 s, as in etcd');
  assert.equal(d.info(tok2, T0 + 2 * SIMPLE_TOKEN_TTL_DEFAULT_MS + 1, 1), undefined);
});

test('simple token: sweep drops the expired ones only', () => {
  const t = new SimpleTokens(1000);
  t.assign(grant('a', 1, 1, 'x'.repeat(16)), T0);
  const keep = t.assign(grant('b', 1, 2, 'x'.repeat(16)), T0 + 900);
  assert.equal(t.sweep(T0 + 1500), 1);
  assert.equal(t.size, 1);
  assert.ok(t.info(keep, T0 + 1500, 1));
});

test('simple token: a password change or deletion drops the user\'s tokens, disabling auth drops all (etcd 3.4.23: "invalid auth token" after each)', () => {
  const store = new AuthStore();
  const tokens = new SimpleTokens();
  store.setTokenLifecycle(tokens);
  for (const u of ['root', 'alice', 'bob']) store.userAdd(u, 'h');
  store.userGrantRole('root', 'root');
  store.authEnable();
  const issue = (u: string, i: number) => tokens.assign(grant(u, store.revision, i, 'p'.repeat(16)), T0);
  const [a, b, r] = [issue('alice', 1), issue('bob', 2), issue('root', 3)];
  store.userChangePassword('alice', 'h2');
  assert.equal(tokens.info(a, T0, store.revision), undefined);
  assert.ok(tokens.info(b, T0, store.revision));
  store.userDelete('bob');
  assert.equal(tokens.info(b, T0, store.revision), undefined);
  assert.ok(tokens.info(r, T0, store.revision));
  store.authDisable();
  assert.equal(tokens.info(r, T0, store.revision), undefined);
});

// ---- JWT ----

function rsaPair(): { priv: KeyObject; pub: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { priv: privateKey, pub: publicKey };
}
const pem = (k: KeyObject, type: 'pkcs1' | 'pkcs8' | 'spki' | 'sec1') => k.export({ format: 'pem', type } as never) as string;
const RSA = rsaPair();
const OTHER_RSA = rsaPair();

async function rs256(files: { privateKey?: string; publicKey?: string } = { privateKey: pem(RSA.priv, 'pkcs8'), publicKey: pem(RSA.pub, 'spki') }, ttlMs = 300_000) {
  return new JwtTokens(await loadJwtKeys('RS256', files), ttlMs);
}

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('jwt: a token carries username, revision and exp (now + ttl, whole seconds), in etcd\'s header form', async () => {
  const t = await rs256(undefined, 300_000);
  const tok = await t.assign(grant('alice', 12), T0 + 999);
  assert.deepEqual(decodeProtectedHeader(tok), { alg: 'RS256', typ: 'JWT' });
  assert.deepEqual(decodeJwt(tok), { username: 'alice', revision: 12, exp: Math.floor((T0 + 999 + 300_000) / 1000) });
  assert.deepEqual(await t.info(tok, T0), { username: 'alice', revision: 12 });
});

test('jwt: forged, tampered, expired, wrong-key, wrong-algorithm, alg none and claim-less tokens are refused', async () => {
  const t = await rs256();
  const good = await t.assign(grant('root', 5), T0);
  const exp = Math.floor(T0 / 1000) + 300;
  const sign = (claims: Record<string, unknown>, alg = 'RS256', key: KeyObject | Uint8Array = RSA.priv) => new SignJWT(claims).setProtectedHeader({ alg }).sign(key);
  const [h, , s] = good.split('.');
  const cases: Record<string, string> = {
    // etcd 3.4.23: "invalid auth token" for each of these
    'signed by another key (forged)': await sign({ username: 'root', revision: 5, exp }, 'RS256', OTHER_RSA.priv),
    'payload changed, signature kept (tampered)': `${h}.${b64url({ username: 'root', revision: 6, exp })}.${s}`,
    'signature dropped': `${h}.${good.split('.')[1]}.`,
    'expired': await sign({ username: 'root', revision: 5, exp: Math.floor(T0 / 1000) - 10 }),
    'not yet valid (nbf)': await sign({ username: 'root', revision: 5, exp, nbf: Math.floor(T0 / 1000) + 100 }),
    'PS256 with the right RSA key (wrong algorithm)': await sign({ username: 'root', revision: 5, exp }, 'PS256'),
    'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ username: 'root', revision: 5, exp })}.`,
    'HS256 keyed with the public key PEM (algorithm confusion)': await sign({ username: 'root', revision: 5, exp }, 'HS256', new TextEncoder().encode(pem(RSA.pub, 'spki'))),
    // etcd 3.4.23 accepts these three, or crashes on them; edgecd refuses
    'no username (etcd 3.4.23 panics)': await sign({ revision: 5, exp }),
    'username not a string (etcd 3.4.23 panics)': await sign({ username: 5, revision: 5, exp }),
    'empty username (etcd: "user name is empty" / "permission denied")': await sign({ username: '', revision: 5, exp }),
    'no revision (etcd 3.4.23 panics)': await sign({ username: 'root', exp }),
    'revision as a string (etcd 3.4.23 panics)': await sign({ username: 'root', revision: '5', exp }),
    'negative revision': await sign({ username: 'root', revision: -1, exp }),
    'no exp (etcd 3.4.23 accepts it, forever)': await sign({ username: 'root', revision: 5 }),
    'not a JWT': 'bogus',
    'empty': '',
  };
  for (const [what, tok] of Object.entries(cases)) assert.equal(await t.info(tok, T0), undefined, what);
  assert.deepEqual(await t.info(good, T0), { username: 'root', revision: 5 }, 'and the good one passes');
  assert.deepEqual(await t.info(await sign({ username: 'root', revision: 99, exp }), T0), { username: 'root', revision: 99 }, 'a revision ahead of the store is not refused here (etcd neither)');
});

test('jwt: verified tokens are cached (the second answer is a plain value), never served past exp, and the cache is bounded', async () => {
  const t = await rs256(undefined, 60_000);
  const tok = await t.assign(grant('alice', 3), T0);
  const first = t.info(tok, T0);
  assert.ok(first instanceof Promise);
  assert.deepEqual(await first, { username: 'alice', revision: 3 });
  const second = t.info(tok, T0 + 1000);
  assert.ok(!(second instanceof Promise), 'a repeated token costs a Map lookup');
  assert.deepEqual(second, { username: 'alice', revision: 3 });
  const expiry = Math.floor((T0 + 60_000) / 1000) * 1000;
  assert.equal(await t.info(tok, expiry), undefined, 'at exp the cached entry is dropped and verification refuses it');
  const c = new VerifiedTokenCache(2);
  c.set('a', { username: 'a', revision: 1 }, 2e9);
  c.set('b', { username: 'b', revision: 1 }, 2e9);
  c.get('a', T0);
  c.set('c', { username: 'c', revision: 1 }, 2e9);
  assert.equal(c.size, 2);
  assert.equal(c.get('b', T0), undefined, 'the least recently used went');
  assert.ok(c.get('a', T0) && c.get('c', T0));
});

test('jwt: concurrent checks of a new token verify it once', async () => {
  const t = await rs256();
  const tok = await t.assign(grant('alice', 3), T0);
  const [a, b] = [t.info(tok, T0), t.info(tok, T0)];
  assert.equal(a, b, 'the same promise');
  await a;
});

test('jwt: with only a public key a member verifies but refuses to sign, with etcd\'s answer (code 2, HTTP 500 on etcd 3.4.23)', async () => {
  const signer = await rs256();
  const verifier = await rs256({ publicKey: pem(RSA.pub, 'spki') });
  assert.equal(verifier.verifyOnly, true);
  const tok = await signer.assign(grant('alice', 3), T0);
  assert.deepEqual(await verifier.info(tok, T0), { username: 'alice', revision: 3 });
  await assert.rejects(verifier.assign(grant('alice', 3), T0), { code: 2, message: 'auth: token signing attempted with verify-only key' });
});

test('jwt: every sign method etcd 3.4 accepts, with the key file formats it reads', async () => {
  const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
  const e256 = ec('prime256v1');
  const e384 = ec('secp384r1');
  const e521 = ec('secp521r1');
  const cases: [JwtSignMethod, { privateKey?: string | Uint8Array; publicKey?: string }][] = [
    ['RS256', { privateKey: pem(RSA.priv, 'pkcs1') }],
    ['RS384', { privateKey: pem(RSA.priv, 'pkcs8'), publicKey: pem(RSA.pub, 'spki') }],
    ['RS512', { privateKey: pem(RSA.priv, 'pkcs1'), publicKey: pem(RSA.pub, 'spki') }],
    ['PS256', { privateKey: pem(RSA.priv, 'pkcs8') }],
    ['PS384', { privateKey: pem(RSA.priv, 'pkcs1') }],
    ['PS512', { privateKey: pem(RSA.priv, 'pkcs8') }],
    ['ES256', { privateKey: pem(e256.privateKey, 'sec1'), publicKey: pem(e256.publicKey, 'spki') }],
    ['ES384', { privateKey: pem(e384.privateKey, 'pkcs8') }],
    ['ES512', { privateKey: pem(e521.privateKey, 'sec1') }],
    ['HS256', { privateKey: new Uint8Array(32).fill(1) }],
    ['HS384', { privateKey: 'a secret file\n' }],
    ['HS512', { privateKey: new Uint8Array(64).fill(2), publicKey: 'ignored' }],
    ['RS256', { privateKey: readFileSync(path.join(HERE, 'fixtures/keys/cert-key.pem'), 'utf8'), publicKey: readFileSync(path.join(HERE, 'fixtures/keys/cert.pem'), 'utf8') }],
  ];
  for (const [method, files] of cases) {
    const t = new JwtTokens(await loadJwtKeys(method, files), 60_000);
    const tok = await t.assign(grant('u', 4), T0);
    assert.equal(decodeProtectedHeader(tok).alg, method);
    assert.deepEqual(await t.info(tok, T0), { username: 'u', revision: 4 }, method);
  }
  const certOnly = new JwtTokens(await loadJwtKeys('RS256', { publicKey: readFileSync(path.join(HERE, 'fixtures/keys/cert.pem'), 'utf8') }), 60_000);
  const certSigner = new JwtTokens(await loadJwtKeys('RS256', { privateKey: readFileSync(path.join(HERE, 'fixtures/keys/cert-key.pem'), 'utf8') }), 60_000);
  assert.deepEqual(await certOnly.info(await certSigner.assign(grant('u', 4), T0), T0), { username: 'u', revision: 4 }, 'a certificate as the public key verifies');
});

test('jwt: bad key settings stop the member at start-up', async () => {
  const e384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  await assert.rejects(loadJwtKeys('RS256', {}), { message: 'auth: missing key data' });
  await assert.rejects(loadJwtKeys('HS256', { publicKey: 'x' }), { message: 'auth: missing key data' }, 'HS reads only priv-key (etcd 3.4.23 refused to start)');
  await assert.rejects(loadJwtKeys('RS256', { privateKey: pem(RSA.priv, 'pkcs8'), publicKey: pem(OTHER_RSA.pub, 'spki') }), { message: "auth: public and private keys don't match" });
  await assert.rejects(loadJwtKeys('RS256', { privateKey: pem(e384.privateKey, 'pkcs8') }), /Key is not a valid RSA private key/, 'etcd 3.4.23 refused to start too');
  await assert.rejects(loadJwtKeys('ES256', { privateKey: pem(RSA.priv, 'pkcs8') }), /Key is not a valid ECDSA private key/);
  await assert.rejects(loadJwtKeys('ES256', { privateKey: pem(e384.privateKey, 'sec1') }), /Key is not a valid ECDSA private key/, 'a P-384 key for ES256: etcd starts, then fails every authenticate');
  await assert.rejects(loadJwtKeys('RS256', { privateKey: pem(RSA.priv, 'pkcs8'), publicKey: pem(e384.publicKey, 'spki') }), { message: 'key is not a valid RSA public key' }, "etcd 3.4.23's start-up error word for word");
  await assert.rejects(loadJwtKeys('RS256', { privateKey: 'not a pem' }), /must be PEM encoded/);
});

test('jwt: a token issued before a role change is refused as old; the client re-authenticates (etcd 3.4.23: "revision of auth store is old", code 3)', async () => {
  const store = new AuthStore();
  store.userAdd('root', 'h');
  store.userGrantRole('root', 'root');
  store.userAdd('alice', 'h');
  store.roleAdd('app');
  store.roleGrantPermission('app', { permType: PermType.READWRITE, key: '/app/', rangeEnd: '/app0' });
  store.userGrantRole('alice', 'app');
  store.authEnable();
  const t = await rs256();
  const issued = store.authenticate('alice');
  const ai = await t.info(await t.assign(grant(issued.username, issued.revision), T0), T0);
  assert.ok(ai);
  assert.equal(store.isPutPermitted(ai, '/app/x'), undefined);
  store.roleGrantPermission('app', { permType: PermType.READ, key: '/other', rangeEnd: '' });
  const err = store.isPutPermitted(ai, '/app/x');
  assert.deepEqual([err?.code, err?.message], [3, 'etcdserver: revision of auth store is old']);
  assert.equal(checkTokenRevision(ai, store.revision)?.message, 'etcdserver: revision of auth store is old');
  assert.equal(store.isAdminPermitted({ username: 'root', revision: 1 }), undefined, 'admin work does not check the revision (etcd 3.4.23 added a user with an old root token)');
  const fresh = await t.info(await t.assign(grant('alice', store.authenticate('alice').revision), T0 + 1000), T0 + 1000);
  assert.ok(fresh);
  assert.equal(store.isPutPermitted(fresh, '/app/x'), undefined, 'a new token works');
  assert.equal(checkTokenRevision({ username: '', revision: 0 }, 9), undefined, 'no token, no revision to compare');
  assert.equal(checkRevisionAfterRead({ username: 'a', revision: 10 }, 9)?.message, 'etcdserver: revision of auth store is old', 'after a serializable read etcd compares with !=');
  assert.equal(checkRevisionAfterRead({ username: 'a', revision: 9 }, 9), undefined);
});

// ---- the shared key (default without --auth-token) ----

test('shared key: drawn from the randomness handed in, carried by the auth enable, the same on every member, rotated by a new enable', async () => {
  const key = generateSharedJwtKey(seeded(5));
  assert.deepEqual(generateSharedJwtKey(seeded(5)), key, 'deterministic given the randomness');
  assert.equal(key.alg, 'EdDSA');
  assert.equal(Buffer.from(key.seed, 'base64url').length, 32);

  const members = [new AuthStore(), new AuthStore()];
  for (const s of members) {
    s.userAdd('root', 'h');
    s.userGrantRole('root', 'root');
    s.authEnable({ tokenKey: key });
    s.authEnable({ tokenKey: generateSharedJwtKey(seeded(6)) }); // already on: ignored
  }
  assert.deepEqual(members[0].tokenKey, key);
  assert.deepEqual(members[0].snapshot(), members[1].snapshot());
  const restored = new AuthStore(JSON.parse(JSON.stringify(members[0].snapshot())));
  const [p0, p1, p2] = [...members, restored].map((s) => new SharedKeyTokens(() => s.tokenKey, 60_000));
  const tok = await p0.assign(grant('root', members[0].revision), T0);
  assert.equal(decodeProtectedHeader(tok).kid, key.kid);
  assert.deepEqual(await p1.info(tok, T0), { username: 'root', revision: members[0].revision }, 'another member verifies it');
  assert.deepEqual(await p2.info(tok, T0), { username: 'root', revision: members[0].revision }, 'so does a member restored from a snapshot');
  assert.ok(!(p1.info(tok, T0 + 1) instanceof Promise), 'and then answers from its cache');

  members[0].authDisable();
  members[0].authEnable({ tokenKey: generateSharedJwtKey(seeded(7)) });
  assert.equal(await p0.info(tok, T0), undefined, 'after a rotation the old key\'s tokens are refused');
  const jwk = await sharedJwtPublicJwk(members[0].tokenKey!);
  assert.deepEqual([jwk.kty, jwk.crv, 'd' in jwk], ['OKP', 'Ed25519', false], 'the public half holds no secret');
});

test('shared key: no key, no tokens', async () => {
  const p = new SharedKeyTokens(() => undefined, 60_000);
  assert.equal(await p.info('x.y.z', T0), undefined);
  await assert.rejects(p.assign(grant('root', 1), T0), /no shared JWT key/);
  const keys = await sharedJwtKeys(generateSharedJwtKey(seeded(3)));
  assert.ok(keys.signKey && keys.verifyKey);
});

test('every provider speaks the same interface', () => {
  const providers: TokenProvider[] = [new SimpleTokens(), new SharedKeyTokens(() => undefined, 1)];
  assert.deepEqual(providers.map((p) => [p.type, p.assignOnEveryMember]), [['simple', true], ['jwt', false]]);
});

test('createTokenProvider: the flag picks the provider, and the store tells it of deletions', async () => {
  const { createTokenProvider } = await import('../../src/auth/token-provider.ts');
  const { parseAuthTokenFlag } = await import('../../src/auth/token-flag.ts');
  const store = new AuthStore();
  store.userAdd('root', 'h');
  store.userGrantRole('root', 'root');
  store.userAdd('alice', 'h');
  store.authEnable({ tokenKey: generateSharedJwtKey(seeded(11)) });
  const shared = await createTokenProvider({ store });
  assert.ok(shared instanceof SharedKeyTokens);
  assert.ok(await shared.info(await shared.assign(grant('alice', store.revision), T0), T0));
  const simple = await createTokenProvider({ store, flag: parseAuthTokenFlag('simple'), simpleTtlMs: 1000 });
  assert.ok(simple instanceof SimpleTokens);
  const tok = await simple.assign(grant('alice', store.revision, 3, 'q'.repeat(16)), T0);
  store.userDelete('alice');
  assert.equal(await simple.info(tok, T0, store.revision), undefined, 'the store reached the provider it was wired to');
  const jwt = await createTokenProvider({ store, flag: parseAuthTokenFlag('jwt,sign-method=RS256,priv-key=k,ttl=1m'), keyFiles: { privateKey: new TextEncoder().encode(pem(RSA.priv, 'pkcs1')) } });
  assert.ok(jwt instanceof JwtTokens);
  const claims = decodeJwt(await jwt.assign(grant('root', 1), T0));
  assert.equal(claims.exp, Math.floor((T0 + 60_000) / 1000), 'ttl=1m from the flag');
});
