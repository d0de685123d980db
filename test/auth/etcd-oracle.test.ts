/**
 * Replays what a real etcd 3.4.23 answered (fixtures/etcd-3.4.23-auth.json, recorded by
 * oracle/record.ts from oracle/scenario.ts) against edgecd's auth store, step by step: the same
 * errors (gRPC code, HTTP status, message), the same lists, the same permission decisions. The
 * fixture holds each request beside etcd's answer, so it is also the record of what etcd said.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdError } from '../../src/errors.ts';
import { AuthStore } from '../../src/auth/auth-store.ts';
import { verifyPassword } from '../../src/auth/authenticate.ts';
import { hashPassword } from '../../src/auth/password.ts';
import { applyAuthRequest, type AuthRequest, type AuthResult } from '../../src/auth/requests.ts';
import { checkDeleteRange, checkPut, checkRange, checkTxn, type RequestOpLike, type TxnLike } from '../../src/auth/request-perms.ts';
import { NO_AUTH, PERM_TYPE_NAMES, PermType, type AuthInfo, type Permission } from '../../src/auth/types.ts';
import type { Answer, Fixture, RecordedStep } from './oracle/record.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.join(HERE, 'fixtures/etcd-3.4.23-auth.json'), 'utf8')) as Fixture;

const COST = 4;
// etcd 3.4.23's gateway, as observed: FailedPrecondition is 412, not 400.
const HTTP: Record<number, number> = { 2: 500, 3: 400, 5: 404, 7: 403, 9: 412, 16: 401 };

const bytes = (b64: unknown): string => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('latin1') : '');
const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

function permType(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === undefined) return PermType.READ;
  const found = Object.entries(PERM_TYPE_NAMES).find(([, name]) => name === v);
  if (!found) throw new Error(`unknown permType ${String(v)}`);
  return Number(found[0]);
}

/** What the gateway will do: decode the JSON body into the store's request, hashing passwords. */
async function toAuthRequest(call: string, body: Record<string, any>): Promise<AuthRequest> {
  switch (call) {
    case 'auth/enable': return { authEnable: {} };
    case 'auth/disable': return { authDisable: {} };
    case 'auth/user/add': return { userAdd: { name: body.name ?? '', hashedPassword: await hashPassword(body.password ?? '', COST) } };
    case 'auth/user/delete': return { userDelete: { name: body.name ?? '' } };
    case 'auth/user/get': return { userGet: { name: body.name ?? '' } };
    case 'auth/user/list': return { userList: {} };
    case 'auth/user/changepw': return { userChangePassword: { name: body.name ?? '', hashedPassword: await hashPassword(body.password ?? '', COST) } };
    case 'auth/user/grant': return { userGrantRole: { user: body.user ?? '', role: body.role ?? '' } };
    case 'auth/user/revoke': return { userRevokeRole: { name: body.name ?? '', role: body.role ?? '' } };
    case 'auth/role/add': return { roleAdd: { name: body.name ?? '' } };
    case 'auth/role/delete': return { roleDelete: { role: body.role ?? '' } };
    case 'auth/role/get': return { roleGet: { role: body.role ?? '' } };
    case 'auth/role/list': return { roleList: {} };
    case 'auth/role/grant': {
      const perm: Permission | undefined = body.perm ? { permType: permType(body.perm.permType), key: bytes(body.perm.key), rangeEnd: bytes(body.perm.range_end) } : undefined;
      return { roleGrantPermission: { name: body.name ?? '', perm } };
    }
    case 'auth/role/revoke': return { roleRevokePermission: { role: body.role ?? '', key: bytes(body.key), rangeEnd: bytes(body.range_end) } };
    default: throw new Error(`no mapping for ${call}`);
  }
}

function toOp(op: Record<string, any>): RequestOpLike {
  if (op.request_range) return { requestRange: { key: bytes(op.request_range.key), rangeEnd: bytes(op.request_range.range_end) } };
  if (op.request_put) return { requestPut: { key: bytes(op.request_put.key), prevKv: !!op.request_put.prev_kv, lease: BigInt(op.request_put.lease ?? 0) } };
  if (op.request_delete_range) return { requestDeleteRange: { key: bytes(op.request_delete_range.key), rangeEnd: bytes(op.request_delete_range.range_end), prevKv: !!op.request_delete_range.prev_kv } };
  if (op.request_txn) return { requestTxn: toTxn(op.request_txn) };
  return {};
}

function toTxn(t: Record<string, any>): TxnLike {
  return {
    compare: (t.compare ?? []).map((c: any) => ({ key: bytes(c.key), rangeEnd: bytes(c.range_end) })),
    success: (t.success ?? []).map(toOp),
    failure: (t.failure ?? []).map(toOp),
  };
}

/** etcd's gateway JSON for a result: proto3 defaults left out. */
function render(r: AuthResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.authenticated) out.token = '<token>';
  if (r.roles?.length) out.roles = r.roles;
  if (r.users?.length) out.users = r.users;
  if (r.perm?.length) {
    out.perm = r.perm.map((p) => ({
      ...(p.permType !== 0 ? { permType: PERM_TYPE_NAMES[p.permType] ?? p.permType } : {}),
      ...(p.key ? { key: b64(p.key) } : {}),
      ...(p.rangeEnd ? { range_end: b64(p.rangeEnd) } : {}),
    }));
  }
  return out;
}

function errorAnswer(e: unknown): Answer {
  if (!(e instanceof EtcdError)) throw e;
  return { status: HTTP[e.code], body: { error: e.message, message: e.message, code: e.code } };
}

class Replayer {
  readonly store = new AuthStore();
  private readonly passwords = new Map<string, string>();

  /** A fresh simple token's view: the user at the store's current revision. */
  private async login(name: string): Promise<AuthInfo> {
    await verifyPassword(this.store, name, this.passwords.get(name) ?? '', COST);
    this.store.authenticate(name);
    return { username: name, revision: this.store.revision };
  }

  async step(s: RecordedStep): Promise<{ answer: Answer; authError?: Answer }> {
    let ai: AuthInfo = NO_AUTH;
    let authError: Answer | undefined;
    if (s.as !== undefined) {
      try {
        ai = await this.login(s.as);
      } catch (e) {
        authError = errorAnswer(e);
      }
    }
    return { answer: await this.call(s, ai), authError };
  }

  private async call(s: RecordedStep, ai: AuthInfo): Promise<Answer> {
    const body = s.body as Record<string, any>;
    try {
      if (s.call.startsWith('kv/')) {
        const noLeases = () => undefined;
        const err =
          s.call === 'kv/range' ? checkRange(this.store, ai, { key: bytes(body.key), rangeEnd: bytes(body.range_end) })
          : s.call === 'kv/put' ? checkPut(this.store, ai, { key: bytes(body.key), prevKv: !!body.prev_kv, lease: 0n }, noLeases)
          : s.call === 'kv/deleterange' ? checkDeleteRange(this.store, ai, { key: bytes(body.key), rangeEnd: bytes(body.range_end), prevKv: !!body.prev_kv })
          : checkTxn(this.store, ai, toTxn(body), noLeases);
        if (err) throw err;
        return { status: 200, body: {} };
      }
      if (s.call === 'auth/authenticate') {
        await verifyPassword(this.store, body.name ?? '', body.password ?? '', COST);
        return { status: 200, body: render(applyAuthRequest(this.store, { authenticate: { name: body.name ?? '', simpleToken: '' } }, ai)) };
      }
      const result = applyAuthRequest(this.store, await toAuthRequest(s.call, body), ai);
      if (s.call === 'auth/user/add' || s.call === 'auth/user/changepw') this.passwords.set(body.name, body.password);
      return { status: 200, body: render(result) };
    } catch (e) {
      return errorAnswer(e);
    }
  }
}

const PERMISSION_DENIED = errorAnswer(new EtcdError(7, 'etcdserver: permission denied'));

for (const [name, steps] of Object.entries(fixture.scenarios)) {
  test(`etcd ${fixture.etcd} oracle: scenario "${name}" (${steps.length} steps) answers as etcd did`, async () => {
    const r = new Replayer();
    for (const [i, s] of steps.entries()) {
      const where = `step ${i}: ${s.as ? `as ${s.as}: ` : ''}${s.call} ${JSON.stringify(s.body)}${s.note ? ` (${s.note})` : ''}`;
      const got = await r.step(s);
      assert.deepEqual(got.authError, s.authError, `${where}: authenticate`);
      // KV answers are compared on the permission decision only; the data is the KV store's business.
      const want = s.call.startsWith('kv/') && s.answer.status === 200 ? { status: 200, body: {} } : s.answer;
      if (s.divergence) {
        assert.equal(s.answer.status, 200, `${where}: etcd allowed it`);
        assert.deepEqual(got.answer, PERMISSION_DENIED, `${where}: edgecd refuses (${s.divergence})`);
      } else {
        assert.deepEqual(got.answer, want, where);
      }
    }
  });
}

test('the fixture was recorded from etcd 3.4 and holds every kind of auth error', () => {
  assert.match(fixture.etcd, /^3\.4\./);
  const messages = new Set(Object.values(fixture.scenarios).flat().map((s) => s.answer.body.message).filter(Boolean));
  for (const m of [
    'etcdserver: user name is empty',
    'etcdserver: user name already exists',
    'etcdserver: user name not found',
    'etcdserver: role name is empty',
    'etcdserver: role name already exists',
    'etcdserver: role name not found',
    'etcdserver: role is not granted to the user',
    'etcdserver: permission is not granted to the role',
    'etcdserver: root user does not exist',
    'etcdserver: root user does not have root role',
    'etcdserver: authentication is not enabled',
    'etcdserver: authentication failed, invalid user ID or password',
    'etcdserver: invalid auth management',
    'etcdserver: permission denied',
  ]) assert.ok(messages.has(m), m);
});
