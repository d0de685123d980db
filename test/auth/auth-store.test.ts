/**
 * The auth store beyond what the etcd oracle replays: the auth revision, snapshots and their
 * determinism (EDGECD_SEED replays the random part), the request checks around leases and nested
 * txns, names in etcd's order, and passwords.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import fc from 'fast-check';
import { AuthStore } from '../../src/auth/auth-store.ts';
import { verifyPassword } from '../../src/auth/authenticate.ts';
import { bcryptCostOrDefault, checkPassword, dummyHash, hashPassword } from '../../src/auth/password.ts';
import { applyAuthRequest, type AuthRequest } from '../../src/auth/requests.ts';
import { checkLeaseRevoke, checkPut, checkTxn } from '../../src/auth/request-perms.ts';
import { compareNames } from '../../src/auth/names.ts';
import { NO_AUTH, PermType, type AuthInfo } from '../../src/auth/types.ts';

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`auth store: seed ${seed} (replay with EDGECD_SEED=${seed})`);

function rootStore(): AuthStore {
  const s = new AuthStore();
  s.userAdd('root', 'h');
  s.userGrantRole('root', 'root');
  return s;
}

test('the auth revision moves as etcd 3.4.23 moved it (read from the revision claim of its JWTs)', () => {
  const s = new AuthStore();
  assert.equal(s.revision, 1, 'a new store is at 1');
  s.userAdd('root', 'h');
  s.userGrantRole('root', 'root');
  assert.equal(s.revision, 3, 'etcd: token revision 3 after user add and grant');
  s.authEnable();
  assert.equal(s.revision, 3, 'etcd: still 3 after auth enable');
  s.authDisable();
  assert.equal(s.revision, 4, 'etcd: 4 after auth disable');
  s.authEnable();
  s.userAdd('alice', 'h');
  assert.equal(s.revision, 5);
  assert.throws(() => s.userGrantRole('alice', 'nosuch'));
  s.userGrantRole('root', 'root');
  assert.equal(s.revision, 5, 'etcd: a failed grant and a grant already held leave it at 5');
  s.roleAdd('r');
  s.roleGrantPermission('r', { permType: PermType.READ, key: 'a', rangeEnd: '' });
  s.roleGrantPermission('r', { permType: PermType.READ, key: 'a', rangeEnd: '' });
  assert.equal(s.revision, 8, 'a permission grant always moves it, even an identical one');
  s.authDisable();
  s.authDisable();
  assert.equal(s.revision, 9, 'disabling a disabled store is a no-op');
});

test('auth off: every check passes, with or without a token', () => {
  const s = rootStore();
  s.userAdd('alice', 'h');
  for (const ai of [NO_AUTH, { username: 'alice', revision: 1 }, { username: 'ghost', revision: 99 }]) {
    assert.equal(s.isRangePermitted(ai, 'a', '\0'), undefined);
    assert.equal(s.isPutPermitted(ai, 'a'), undefined);
    assert.equal(s.isDeleteRangePermitted(ai, 'a', 'b'), undefined);
    assert.equal(s.isAdminPermitted(ai), undefined);
  }
});

test('auth on: the root role reaches every key, even "" which no permission can grant', () => {
  const s = rootStore();
  s.authEnable();
  const root = { username: 'root', revision: s.revision };
  assert.equal(s.isRangePermitted(root, '', '\0'), undefined);
  assert.equal(s.isPutPermitted(root, '\xff\xff'), undefined);
  assert.equal(s.isAdminPermitted(root), undefined);
  assert.equal(s.isRangePermitted({ username: 'ghost', revision: s.revision }, 'a', '')?.message, 'etcdserver: permission denied', 'a token for a user who is gone');
  assert.equal(s.isAdminPermitted({ username: 'ghost', revision: s.revision })?.message, 'etcdserver: user name not found', 'etcd 3.4.23 said so to a JWT of a user that never existed');
});

test('leases: a put with a lease, and a lease revoke, need write on every key the lease already holds', () => {
  const s = rootStore();
  s.userAdd('alice', 'h');
  s.roleAdd('mine');
  s.roleGrantPermission('mine', { permType: PermType.READWRITE, key: '/alice/', rangeEnd: '/alice0' });
  s.userGrantRole('alice', 'mine');
  s.authEnable();
  const ai = { username: 'alice', revision: s.revision };
  const leases = new Map<bigint, string[]>([[1n, ['/alice/a']], [2n, ['/alice/b', '/bob/x']]]);
  const leaseKeys = (id: bigint) => leases.get(id);
  assert.equal(checkPut(s, ai, { key: '/alice/c', prevKv: false, lease: 1n }, leaseKeys), undefined);
  assert.equal(checkPut(s, ai, { key: '/alice/c', prevKv: false, lease: 2n }, leaseKeys)?.message, 'etcdserver: permission denied');
  assert.equal(checkPut(s, ai, { key: '/alice/c', prevKv: false, lease: 3n }, leaseKeys), undefined, 'an unknown lease is the lessor\'s error, not auth\'s');
  assert.equal(checkLeaseRevoke(s, ai, 1n, leaseKeys), undefined);
  assert.equal(checkLeaseRevoke(s, ai, 2n, leaseKeys)?.message, 'etcdserver: permission denied');
  const txn = (lease: bigint) => ({ compare: [], success: [{ requestPut: { key: '/alice/c', prevKv: false, lease } }], failure: [] });
  assert.equal(checkTxn(s, ai, txn(1n), leaseKeys), undefined);
  assert.equal(checkTxn(s, ai, txn(2n), leaseKeys)?.message, 'etcdserver: permission denied', 'inside a txn too');
});

test('txns: compares need read, both branches are checked, and nested txns are checked all the way down', () => {
  const s = rootStore();
  s.userAdd('alice', 'h');
  s.roleAdd('a');
  s.roleGrantPermission('a', { permType: PermType.READWRITE, key: 'a', rangeEnd: '' });
  s.userGrantRole('alice', 'a');
  s.authEnable();
  const ai = { username: 'alice', revision: s.revision };
  const none = () => undefined;
  const put = (key: string) => ({ requestPut: { key, prevKv: false, lease: 0n } });
  const deny = 'etcdserver: permission denied';
  assert.equal(checkTxn(s, ai, { compare: [{ key: 'a', rangeEnd: '' }], success: [put('a')], failure: [{ requestRange: { key: 'a', rangeEnd: '' } }] }, none), undefined);
  assert.equal(checkTxn(s, ai, { compare: [{ key: 'b', rangeEnd: '' }], success: [], failure: [] }, none)?.message, deny);
  assert.equal(checkTxn(s, ai, { compare: [], success: [put('a')], failure: [put('b')] }, none)?.message, deny, 'the branch that will not run counts too');
  const nested = (depth: number, key: string): { compare: never[]; success: object[]; failure: never[] } => ({ compare: [], success: [depth === 0 ? put(key) : { requestTxn: nested(depth - 1, key) }], failure: [] });
  assert.equal(checkTxn(s, ai, nested(3, 'a'), none), undefined);
  assert.equal(checkTxn(s, ai, nested(3, 'secret'), none)?.message, deny, 'etcd 3.4.23 let this write through');
  assert.equal(checkTxn(s, ai, { compare: [], success: [{ requestDeleteRange: { key: 'a', rangeEnd: 'b', prevKv: true } }], failure: [] }, none)?.message, deny);
});

test('a grant without a permission is refused with etcd 3.5\'s error (etcd 3.4.23 crashed: nil pointer in RoleGrantPermission)', () => {
  const s = rootStore();
  s.roleAdd('r');
  assert.throws(() => applyAuthRequest(s, { roleGrantPermission: { name: 'r' } }, NO_AUTH), { code: 3, message: 'etcdserver: permission not given' });
  assert.throws(() => applyAuthRequest(s, { roleGrantPermission: { name: 'nope' } }, NO_AUTH), { message: 'etcdserver: permission not given' }, 'checked before the role, as etcd 3.5 does');
});

test('names come out in UTF-8 byte order, as bbolt and Go hand them out', () => {
  const names = ['b', 'a', '\u{1F600}', '\uFFFD', 'A', 'é', ''];
  const s = new AuthStore();
  for (const n of names.filter(Boolean)) s.userAdd(n, 'h');
  const utf8 = (x: string) => Buffer.from(x, 'utf8');
  const want = names.filter(Boolean).sort((x, y) => Buffer.compare(utf8(x), utf8(y)));
  assert.deepEqual(s.userList().users, want);
  assert.notDeepEqual([...want].sort(), want, 'JS\'s own sort would put the emoji before U+FFFD');
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (x, y) => Math.sign(compareNames(x, y)) === Math.sign(Buffer.compare(utf8(x), utf8(y)))), { seed, numRuns: 2000 });
});

// ---- snapshots ----

const KEYS = ['a', '\0', '\xff', 'a\0b', '/x/', ''];
const NAMES = ['root', 'u1', 'u2', 'r1', 'r2'];
const arbReq: fc.Arbitrary<AuthRequest> = fc.oneof(
  fc.constantFrom<AuthRequest>({ authEnable: {} }, { authDisable: {} }),
  fc.record({ userAdd: fc.record({ name: fc.constantFrom(...NAMES), hashedPassword: fc.constantFrom('h1', 'h2') }) }),
  fc.record({ userDelete: fc.record({ name: fc.constantFrom(...NAMES) }) }),
  fc.record({ userChangePassword: fc.record({ name: fc.constantFrom(...NAMES), hashedPassword: fc.constantFrom('h3') }) }),
  fc.record({ userGrantRole: fc.record({ user: fc.constantFrom(...NAMES), role: fc.constantFrom(...NAMES) }) }),
  fc.record({ userRevokeRole: fc.record({ name: fc.constantFrom(...NAMES), role: fc.constantFrom(...NAMES) }) }),
  fc.record({ roleAdd: fc.record({ name: fc.constantFrom(...NAMES) }) }),
  fc.record({ roleDelete: fc.record({ role: fc.constantFrom(...NAMES) }) }),
  fc.record({ roleGrantPermission: fc.record({ name: fc.constantFrom(...NAMES), perm: fc.record({ permType: fc.constantFrom(0, 1, 2), key: fc.constantFrom(...KEYS), rangeEnd: fc.constantFrom(...KEYS) }) }) }),
  fc.record({ roleRevokePermission: fc.record({ role: fc.constantFrom(...NAMES), key: fc.constantFrom(...KEYS), rangeEnd: fc.constantFrom(...KEYS) }) }),
);

/** Applies as the log would, as root when auth is on; returns each answer so two runs can be compared. */
function run(s: AuthStore, reqs: AuthRequest[]): string[] {
  return reqs.map((r) => {
    const ai: AuthInfo = { username: 'root', revision: s.revision };
    try {
      return JSON.stringify(applyAuthRequest(s, r, ai));
    } catch (e) {
      return (e as Error).message;
    }
  });
}

test('snapshots: plain JSON; restoring one and applying the same entries gives the same answers and the same snapshot', () => {
  fc.assert(
    fc.property(fc.array(arbReq, { maxLength: 30 }), fc.array(arbReq, { maxLength: 30 }), (before, after) => {
      const a = new AuthStore();
      run(a, before);
      const snap = a.snapshot();
      const json = JSON.stringify(snap);
      assert.doesNotMatch(json, /\\u0000/, 'no NUL in the JSON: Postgres text and jsonb refuse it');
      const b = new AuthStore(JSON.parse(json));
      const c = new AuthStore(JSON.parse(json));
      assert.deepEqual(b.snapshot(), snap, 'restore then snapshot is the identity');
      assert.deepEqual(run(b, after), run(c, after));
      assert.deepEqual(b.snapshot(), c.snapshot());
      assert.deepEqual(run(a, after), run(new AuthStore(JSON.parse(json)), after), 'the original and a restored copy answer alike');
      assert.deepEqual(a.snapshot(), b.snapshot());
    }),
    { seed, numRuns: 300 },
  );
});

test('snapshots keep keys byte for byte and permission checks survive a restore', () => {
  const s = rootStore();
  s.userAdd('alice', 'h');
  s.roleAdd('r');
  s.roleGrantPermission('r', { permType: PermType.READ, key: '\0\xff', rangeEnd: '\0' });
  s.roleGrantPermission('r', { permType: 7, key: 'z', rangeEnd: '' });
  s.userGrantRole('alice', 'r');
  s.authEnable();
  const copy = new AuthStore(JSON.parse(JSON.stringify(s.snapshot())));
  assert.deepEqual(copy.roleGet('r').perm, [
    { permType: PermType.READ, key: '\0\xff', rangeEnd: '\0' },
    { permType: 7, key: 'z', rangeEnd: '' },
  ]);
  const ai = { username: 'alice', revision: copy.revision };
  assert.equal(copy.isRangePermitted(ai, '\x01', '\0'), undefined);
  assert.equal(copy.isRangePermitted(ai, '\0', '\0')?.message, 'etcdserver: permission denied');
  assert.equal(copy.enabled, true);
  assert.equal(copy.revision, s.revision);
});

// ---- passwords ----

test('passwords: bcrypt at the given cost; etcd\'s cost bounds; only the first 72 bytes count (etcd 3.4.23 authenticated with 72 of 80 characters)', async () => {
  const h = await hashPassword('x'.repeat(72) + 'abcdefgh', 4);
  assert.equal(bcrypt.getRounds(h), 4);
  assert.equal(await checkPassword(h, 'x'.repeat(72)), true);
  assert.equal(await checkPassword(h, 'x'.repeat(71)), false);
  assert.equal(await checkPassword(await hashPassword('', 4), ''), true, 'etcd takes an empty password');
  assert.equal(await checkPassword('not a hash', 'x'), false);
  await assert.rejects(hashPassword('x', 3), RangeError);
  await assert.rejects(hashPassword('x', 32), RangeError);
  assert.deepEqual([undefined, 3, 4, 31, 32, 10.5].map(bcryptCostOrDefault), [10, 10, 4, 31, 10, 10]);
});

test('authentication: a missing user and a wrong password give the same error after the same bcrypt work', async () => {
  const s = rootStore();
  s.userAdd('alice', await hashPassword('pw', 8));
  await assert.rejects(verifyPassword(s, 'alice', 'pw', 8), { message: 'etcdserver: authentication is not enabled' });
  s.authEnable();
  assert.equal(await verifyPassword(s, 'alice', 'pw', 8), s.revision);
  assert.equal(bcrypt.getRounds(dummyHash(8)), 8, 'the dummy is a real bcrypt hash at the configured cost');
  assert.equal(await checkPassword(dummyHash(8), ''), false);
  const time = async (name: string) => {
    const t = performance.now();
    await assert.rejects(verifyPassword(s, name, 'wrong', 8), { code: 3, message: 'etcdserver: authentication failed, invalid user ID or password' });
    return performance.now() - t;
  };
  const wrong = Math.min(await time('alice'), await time('alice'));
  const missing = Math.min(await time('nobody'), await time('nobody'));
  // Cost 8 is ~20 ms of hashing; without the dummy a missing user answers in microseconds.
  assert.ok(missing > wrong / 3, `missing user ${missing.toFixed(1)} ms vs wrong password ${wrong.toFixed(1)} ms`);
});
