/**
 * Permission checks against a naive model, with random users, roles, permissions and requests.
 * EDGECD_SEED=<n> replays a run exactly.
 *
 * The model knows nothing of merging or trees: a key is permitted if some permission interval
 * holds it; a range [b, e) is permitted if b and every interval end strictly inside it are held
 * (an uncovered stretch inside [b, e) would have to start at b or at some interval's end).
 * Requests for an empty range (range end at or before key) are not modelled: etcd's answer to
 * those depends on its tree's shape; the recorded etcd answers (etcd-oracle.test.ts) check them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AuthStore } from '../../src/auth/auth-store.ts';
import { EtcdIntervalTree } from '../../src/auth/etcd-interval-tree.ts';
import { permInterval } from '../../src/auth/key-range.ts';
import { IntervalSet, isEmptyRange } from '../../src/auth/range-perm-cache.ts';
import { PermType, type Permission } from '../../src/auth/types.ts';

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`auth range-perm: seed ${seed} (replay with EDGECD_SEED=${seed})`);
const runs = (n: number) => ({ seed, numRuns: n });

// Few distinct keys, so that ends meet, intervals touch and prefixes nest often.
const KEYS = ['', '\0', '\0\0', '/', '/a', '/a/', '/a/b', '/a0', '/b', 'a', 'a\0', 'ab', 'abc', 'b', '\x7f', '\xff', '\xff\xff'];
const key = fc.constantFrom(...KEYS);
const rangeEnd = fc.oneof({ weight: 2, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.constant('\0') }, { weight: 4, arbitrary: key });
const perm: fc.Arbitrary<Permission> = fc.record({ permType: fc.constantFrom(PermType.READ, PermType.WRITE, PermType.READWRITE, 3), key, rangeEnd });
const request = fc.record({ key, rangeEnd });

// ---- the model: '' as +infinity, written without the code under test ----
const lt = (a: string, b: string) => a !== '' && (b === '' || a < b);
const le = (a: string, b: string) => a === b || lt(a, b);
interface Ivl { b: string; e: string }
function modelIvl(p: { key: string; rangeEnd: string }): Ivl {
  return p.rangeEnd === '' ? { b: p.key, e: p.key + '\0' } : { b: p.key, e: p.rangeEnd === '\0' ? '' : p.rangeEnd };
}
const holds = (ivs: Ivl[], k: string) => ivs.some((iv) => le(iv.b, k) && lt(k, iv.e));
function modelPermits(ivs: Ivl[], key: string, rangeEnd: string): boolean {
  if (rangeEnd === '') return holds(ivs, key);
  const e = rangeEnd === '\0' ? '' : rangeEnd;
  return holds(ivs, key) && ivs.every((iv) => !(lt(key, iv.e) && lt(iv.e, e)) || holds(ivs, iv.e));
}
const readable = (p: Permission) => p.permType === PermType.READ || p.permType === PermType.READWRITE;
const writable = (p: Permission) => p.permType === PermType.WRITE || p.permType === PermType.READWRITE;

test('merged interval sets and the etcd tree port agree with the model on every request for a non-empty range', () => {
  fc.assert(
    fc.property(fc.array(perm, { maxLength: 12 }), fc.array(request, { minLength: 1, maxLength: 30 }), (perms, reqs) => {
      const ivs = perms.map((p) => permInterval(p.key, p.rangeEnd));
      const set = IntervalSet.of(ivs);
      const tree = new EtcdIntervalTree(ivs);
      const model = perms.map(modelIvl);
      for (const r of reqs) {
        if (isEmptyRange(r.key, r.rangeEnd)) continue;
        const want = modelPermits(model, r.key, r.rangeEnd);
        assert.equal(set.permits(r.key, r.rangeEnd), want, `set ${JSON.stringify(r)} over ${JSON.stringify(perms)}`);
        assert.equal(tree.permits(r.key, r.rangeEnd), want, `tree ${JSON.stringify(r)} over ${JSON.stringify(perms)}`);
      }
    }),
    runs(3000),
  );
});

test('merged sets are sorted, disjoint and do not touch, whatever goes in', () => {
  fc.assert(
    fc.property(fc.array(perm, { maxLength: 20 }), (perms) => {
      const out = IntervalSet.of(perms.map((p) => permInterval(p.key, p.rangeEnd))).intervals();
      for (let i = 0; i < out.length; i++) {
        assert.ok(lt(out[i].begin, out[i].end), 'no empty interval survives');
        if (i > 0) assert.ok(lt(out[i - 1].end, out[i].begin), 'a gap between neighbours');
      }
    }),
    runs(2000),
  );
});

// ---- the store: random auth changes, checked after each one against a model of users and roles ----

type Op =
  | { op: 'roleAdd'; role: string }
  | { op: 'roleDelete'; role: string }
  | { op: 'grant'; role: string; perm: Permission }
  | { op: 'revoke'; role: string; key: string; rangeEnd: string }
  | { op: 'grantRole'; user: string; role: string }
  | { op: 'revokeRole'; user: string; role: string }
  | { op: 'userDelete'; user: string }
  | { op: 'userAdd'; user: string };

const USERS = ['u1', 'u2', 'u3'];
const ROLES = ['r1', 'r2', 'r3', 'r4', 'root'];
const user = fc.constantFrom(...USERS);
const role = fc.constantFrom(...ROLES);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('roleAdd' as const), role }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('roleDelete' as const), role }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('grant' as const), role, perm }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('revoke' as const), role, key, rangeEnd }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('grantRole' as const), user, role }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revokeRole' as const), user, role }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('userDelete' as const), user }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('userAdd' as const), user }) },
);

class Model {
  users = new Map<string, Set<string>>(USERS.map((u) => [u, new Set<string>()]));
  roles = new Map<string, Permission[]>();

  apply(o: Op): void {
    switch (o.op) {
      case 'roleAdd':
        if (!this.roles.has(o.role)) this.roles.set(o.role, []);
        break;
      case 'roleDelete':
        if (o.role === 'root') break; // auth is on: the root role cannot be deleted
        if (this.roles.delete(o.role)) for (const rs of this.users.values()) rs.delete(o.role);
        break;
      case 'grant': {
        const perms = this.roles.get(o.role);
        if (!perms) break;
        // etcd looks at the first permission with a key >= the new one only.
        const first = perms.find((p) => p.key >= o.perm.key);
        if (first && first.key === o.perm.key && first.rangeEnd === o.perm.rangeEnd) first.permType = o.perm.permType;
        else perms.push({ ...o.perm });
        break;
      }
      case 'revoke': {
        const perms = this.roles.get(o.role);
        if (perms) this.roles.set(o.role, perms.filter((p) => p.key !== o.key || p.rangeEnd !== o.rangeEnd));
        break;
      }
      case 'grantRole':
        if (this.users.has(o.user) && (o.role === 'root' || this.roles.has(o.role))) this.users.get(o.user)!.add(o.role);
        break;
      case 'revokeRole':
        this.users.get(o.user)?.delete(o.role);
        break;
      case 'userDelete':
        this.users.delete(o.user);
        break;
      case 'userAdd':
        if (!this.users.has(o.user)) this.users.set(o.user, new Set());
        break;
    }
  }

  permits(u: string, write: boolean, key: string, rangeEnd: string): boolean {
    const roles = this.users.get(u);
    if (!roles) return false;
    if (roles.has('root')) return true;
    const ivs: Ivl[] = [];
    for (const r of roles) for (const p of this.roles.get(r) ?? []) if (write ? writable(p) : readable(p)) ivs.push(modelIvl(p));
    return modelPermits(ivs, key, rangeEnd);
  }
}

function applyToStore(s: AuthStore, o: Op): void {
  try {
    if (o.op === 'roleAdd') s.roleAdd(o.role);
    else if (o.op === 'roleDelete') s.roleDelete(o.role);
    else if (o.op === 'grant') s.roleGrantPermission(o.role, o.perm);
    else if (o.op === 'revoke') s.roleRevokePermission(o.role, o.key, o.rangeEnd);
    else if (o.op === 'grantRole') s.userGrantRole(o.user, o.role);
    else if (o.op === 'revokeRole') s.userRevokeRole(o.user, o.role);
    else if (o.op === 'userDelete') s.userDelete(o.user);
    else s.userAdd(o.user, 'hash');
  } catch {
    // Refused changes (not found, root protection, ...) leave the state as it was; the model skips them too.
  }
}

test('the store answers as the model after every random auth change (the cache never serves a stale answer)', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.array(fc.record({ user, key, rangeEnd, write: fc.boolean() }), { minLength: 8, maxLength: 8 }), (ops, checks) => {
      const store = new AuthStore();
      for (const u of USERS) store.userAdd(u, 'hash');
      store.userAdd('root', 'hash');
      store.userGrantRole('root', 'root');
      store.authEnable();
      const model = new Model();
      for (const o of ops) {
        // root's own protections are checked elsewhere; the model's users are u1..u3.
        applyToStore(store, o);
        model.apply(o);
        for (const c of checks) {
          if (isEmptyRange(c.key, c.rangeEnd)) continue;
          const ai = { username: c.user, revision: store.revision };
          const err = c.write ? store.isDeleteRangePermitted(ai, c.key, c.rangeEnd) : store.isRangePermitted(ai, c.key, c.rangeEnd);
          assert.equal(err === undefined, model.permits(c.user, c.write, c.key, c.rangeEnd), `${c.write ? 'write' : 'read'} ${JSON.stringify(c)} after ${JSON.stringify(o)}`);
          if (err) assert.equal(err.message, 'etcdserver: permission denied');
        }
      }
    }),
    runs(400),
  );
});

test('a put is a write of one key: the same answer as a delete of that single key', () => {
  fc.assert(
    fc.property(fc.array(perm, { maxLength: 8 }), key, (perms, k) => {
      const store = new AuthStore();
      store.userAdd('root', 'h');
      store.userGrantRole('root', 'root');
      store.userAdd('u', 'h');
      store.roleAdd('r');
      for (const p of perms) store.roleGrantPermission('r', p);
      store.userGrantRole('u', 'r');
      store.authEnable();
      const ai = { username: 'u', revision: store.revision };
      assert.equal(store.isPutPermitted(ai, k)?.message, store.isDeleteRangePermitted(ai, k, '')?.message);
    }),
    runs(500),
  );
});

test('hand-picked cases: touching intervals join, gaps do not, from-key runs to the end, key "" grants nothing', () => {
  const set = IntervalSet.of([permInterval('a', 'c'), permInterval('c', 'e'), permInterval('g', 'h'), permInterval('x', '\0'), permInterval('', '\0'), permInterval('', '')]);
  assert.deepEqual(set.intervals(), [{ begin: 'a', end: 'e' }, { begin: 'g', end: 'h' }, { begin: 'x', end: '' }]);
  assert.equal(set.permits('a', 'e'), true);
  assert.equal(set.permits('a', 'f'), false);
  assert.equal(set.permits('d', 'h'), false);
  assert.equal(set.permits('e', ''), false);
  assert.equal(set.permits('x', '\0'), true);
  assert.equal(set.permits('\xff\xff\xff', ''), true);
  assert.equal(set.permits('w', '\0'), false);
  assert.equal(set.permits('0', ''), false);
});
