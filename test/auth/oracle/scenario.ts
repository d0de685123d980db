/**
 * The requests recorded against a real etcd 3.4.23 (record.ts) and replayed against edgecd's auth
 * store (../etcd-oracle.test.ts). Each step is a gateway call, made with no token or with a fresh
 * token of the named user; the fixture keeps each step beside etcd's answer.
 */
import fc from 'fast-check';

export interface Step {
  call: string;
  body: Record<string, unknown>;
  /** Authenticate as this user (password from earlier user add / changepw steps) just before the call. */
  as?: string;
  note?: string;
  /**
   * Where edgecd answers differently from etcd 3.4.23 on purpose; the replay checks that the
   * difference is exactly this one.
   */
  divergence?: 'nested-txn-checked' | 'txn-put-prev-kv-checked';
}

export const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

const kr = (key: string, end?: string) => ({ key: b64(key), ...(end !== undefined && end !== '' ? { range_end: b64(end) } : {}) });

export const S = {
  userAdd: (name: string, password: string, as?: string): Step => ({ call: 'auth/user/add', body: { name, password }, as }),
  userDelete: (name: string, as?: string): Step => ({ call: 'auth/user/delete', body: { name }, as }),
  userGet: (name: string, as?: string): Step => ({ call: 'auth/user/get', body: { name }, as }),
  userList: (as?: string): Step => ({ call: 'auth/user/list', body: {}, as }),
  changePw: (name: string, password: string, as?: string): Step => ({ call: 'auth/user/changepw', body: { name, password }, as }),
  grantRole: (user: string, role: string, as?: string): Step => ({ call: 'auth/user/grant', body: { user, role }, as }),
  revokeRole: (name: string, role: string, as?: string): Step => ({ call: 'auth/user/revoke', body: { name, role }, as }),
  roleAdd: (name: string, as?: string): Step => ({ call: 'auth/role/add', body: { name }, as }),
  roleDelete: (role: string, as?: string): Step => ({ call: 'auth/role/delete', body: { role }, as }),
  roleGet: (role: string, as?: string): Step => ({ call: 'auth/role/get', body: { role }, as }),
  roleList: (as?: string): Step => ({ call: 'auth/role/list', body: {}, as }),
  grantPerm: (name: string, permType: string | number, key: string, end?: string, as?: string): Step => ({ call: 'auth/role/grant', body: { name, perm: { permType, ...kr(key, end) } }, as }),
  revokePerm: (role: string, key: string, end?: string, as?: string): Step => ({ call: 'auth/role/revoke', body: { role, ...kr(key, end) }, as }),
  enable: (as?: string): Step => ({ call: 'auth/enable', body: {}, as }),
  disable: (as?: string): Step => ({ call: 'auth/disable', body: {}, as }),
  authenticate: (name: string, password: string): Step => ({ call: 'auth/authenticate', body: { name, password } }),
  range: (as: string | undefined, key: string, end?: string): Step => ({ call: 'kv/range', body: kr(key, end), as }),
  put: (as: string | undefined, key: string, prevKv = false): Step => ({ call: 'kv/put', body: { key: b64(key), value: b64('v'), ...(prevKv ? { prev_kv: true } : {}) }, as }),
  del: (as: string | undefined, key: string, end?: string, prevKv = false): Step => ({ call: 'kv/deleterange', body: { ...kr(key, end), ...(prevKv ? { prev_kv: true } : {}) }, as }),
  txn: (as: string | undefined, body: Record<string, unknown>): Step => ({ call: 'kv/txn', body, as }),
};

const note = (text: string, s: Step): Step => ({ ...s, note: text });

/** Rules and error messages, one by one, in an order that walks etcd through its states. */
function rules(): Step[] {
  return [
    // Auth off: nobody needs a token, every admin rule but root protection applies.
    S.userAdd('', 'x'),
    S.userAdd('alice', 'alice-pw'),
    S.userAdd('alice', 'again'),
    S.roleAdd(''),
    S.roleAdd('reader'),
    S.roleAdd('reader'),
    S.userGet('nobody'),
    S.userGet(''),
    S.roleGet('nope'),
    S.roleGet(''),
    S.grantRole('alice', 'nope'),
    S.grantRole('nobody', 'reader'),
    S.grantRole('nobody', 'nope'),
    note('the root role need not exist to be granted', S.grantRole('alice', 'root')),
    S.grantRole('alice', 'reader'),
    note('granting a role twice succeeds', S.grantRole('alice', 'reader')),
    S.userGet('alice'),
    S.revokeRole('alice', 'nope'),
    S.revokeRole('nobody', 'reader'),
    S.revokeRole('alice', 'root'),
    S.revokePerm('reader', 'a'),
    S.revokePerm('nope', 'a'),
    S.grantPerm('nope', 'READ', 'a'),
    S.roleDelete('nope'),
    S.userDelete('nope'),
    S.changePw('nope', 'x'),
    S.enable(),
    S.authenticate('alice', 'alice-pw'),
    S.disable(),
    S.userAdd('root', 'root-pw'),
    S.enable(),
    S.roleAdd('root'),
    S.roleGet('root'),
    S.grantRole('root', 'root'),
    note('deleting a role takes it from its users', S.roleDelete('root')),
    S.userGet('root'),
    S.enable(),
    S.grantRole('root', 'root'),
    S.roleList(),
    S.enable(),
    // Auth on.
    note('already enabled, but the admin check comes first', S.enable()),
    S.enable('root'),
    S.userList(),
    S.range(undefined, 'a'),
    S.put(undefined, 'a'),
    S.authenticate('root', 'wrong'),
    S.authenticate('ghost', 'root-pw'),
    S.authenticate('', ''),
    S.userDelete('root', 'root'),
    S.revokeRole('root', 'root', 'root'),
    S.roleDelete('root', 'root'),
    S.userDelete('nobody', 'root'),
    S.userList('root'),
    S.roleList('root'),
    S.roleGet('root', 'root'),
    S.range('root', 'anything'),
    S.put('root', 'anything'),
    S.userAdd('bob', 'bob-pw', 'alice'),
    S.userGet('alice', 'alice'),
    S.userGet('root', 'alice'),
    S.userGet('nobody', 'alice'),
    S.roleGet('reader', 'alice'),
    S.roleGet('root', 'alice'),
    S.roleGet('nope', 'alice'),
    S.userList('alice'),
    S.roleList('alice'),
    S.enable('alice'),
    S.disable('alice'),
    S.range('alice', 'a'),
    S.put('alice', 'a'),
    // Permission grants: update in place, the duplicate quirk, unknown types, revokes.
    S.grantPerm('reader', 'READWRITE', 'a', '', 'root'),
    S.grantPerm('reader', 'WRITE', 'a', '', 'root'),
    S.grantPerm('reader', 'READ', 'a', 'b', 'root'),
    S.grantPerm('reader', 'WRITE', 'a', 'b', 'root'),
    note('equal to the second [a,b) but etcd looks only at the first permission with key a: appended again', S.grantPerm('reader', 'READ', 'a', 'b', 'root')),
    S.roleGet('reader', 'root'),
    S.range('alice', 'a'),
    S.put('alice', 'a'),
    S.range('alice', 'a', 'b'),
    S.del('alice', 'a', 'b'),
    note('revokes both [a,b) permissions whatever their type', S.revokePerm('reader', 'a', 'b', 'root')),
    S.roleGet('reader', 'root'),
    S.revokePerm('reader', 'a', 'b', 'root'),
    S.range('alice', 'a', 'b'),
    S.grantPerm('reader', 3, 'z', '', 'root'),
    S.roleGet('reader', 'root'),
    S.range('alice', 'z'),
    S.put('alice', 'z'),
    S.revokePerm('reader', 'z', '', 'root'),
    // Password change and deletion.
    S.changePw('alice', 'alice-pw2', 'root'),
    S.authenticate('alice', 'alice-pw'),
    S.authenticate('alice', 'alice-pw2'),
    S.range('alice', 'a'),
    S.roleDelete('reader', 'root'),
    S.userGet('alice', 'root'),
    S.range('alice', 'a'),
    S.userDelete('alice', 'root'),
    S.authenticate('alice', 'alice-pw2'),
    S.userGet('alice', 'root'),
    S.disable('root'),
    S.disable(),
    S.range(undefined, 'a'),
    S.revokeRole('root', 'root'),
    S.userDelete('root'),
    S.enable(),
  ];
}

/**
 * Several users whose roles overlap: touching intervals, prefixes, from-key, single keys, and the
 * degenerate permissions etcd accepts (key '', range end before key).
 */
function rbac(): Step[] {
  const steps: Step[] = [
    S.userAdd('root', 'r'),
    S.grantRole('root', 'root'),
    S.userAdd('ann', 'ann'),
    S.userAdd('ben', 'ben'),
    S.userAdd('cat', 'cat'),
    S.roleAdd('logs-read'),
    S.roleAdd('logs-write'),
    S.roleAdd('app'),
    S.roleAdd('tail'),
    S.roleAdd('odd'),
    S.grantPerm('logs-read', 'READ', '/logs/', '/logs0'),
    S.grantPerm('logs-write', 'WRITE', '/logs/a', '/logs/m'),
    S.grantPerm('logs-write', 'READWRITE', '/logs/m', '/logs/z'),
    S.grantPerm('app', 'READWRITE', '/app/config'),
    S.grantPerm('app', 'READ', '/app/', '/app0'),
    S.grantPerm('app', 'WRITE', '/app/data/', '/app/data0'),
    S.grantPerm('app', 'WRITE', '/drop/', '/drop0'),
    S.grantPerm('tail', 'READ', '~z', '\0'),
    S.grantPerm('tail', 'WRITE', '~zz', '\0'),
    S.grantPerm('odd', 'READWRITE', '', '\0'),
    S.grantPerm('odd', 'READWRITE', ''),
    S.grantPerm('odd', 'READ', 'q', 'p'),
    S.grantPerm('odd', 'READ', 'r', 'r'),
    S.grantPerm('odd', 'READ', '\0', 'b'),
    S.grantRole('ann', 'logs-read'),
    S.grantRole('ann', 'logs-write'),
    S.grantRole('ben', 'app'),
    S.grantRole('ben', 'logs-read'),
    S.grantRole('cat', 'tail'),
    S.grantRole('cat', 'odd'),
    S.enable(),
  ];
  const ann: Step[] = [
    S.range('ann', '/logs/x'),
    S.range('ann', '/logs/', '/logs0'),
    S.range('ann', '/logs/', '/logs1'),
    S.range('ann', '/logs', '/logs0'),
    S.range('ann', '/logs/', '\0'),
    S.put('ann', '/logs/a'),
    S.put('ann', '/logs/l'),
    S.put('ann', '/logs/m'),
    S.put('ann', '/logs/z'),
    S.put('ann', '/logs/'),
    note('[a,m) WRITE touches [m,z) READWRITE', S.del('ann', '/logs/a', '/logs/z')),
    S.del('ann', '/logs/a', '/logs/z0'),
    S.del('ann', '/logs/b', '/logs/c', true),
    S.del('ann', '/logs/m', '/logs/n', true),
    S.put('ann', '/logs/b', true),
    S.put('ann', '/logs/n', true),
    S.range('ann', '/app/config'),
  ];
  const ben: Step[] = [
    S.range('ben', '/app/config'),
    S.put('ben', '/app/config'),
    S.put('ben', '/app/other'),
    S.range('ben', '/app/', '/app0'),
    S.put('ben', '/app/data/1'),
    S.del('ben', '/app/data/', '/app/data0'),
    S.del('ben', '/app/data/', '/app/data1'),
    S.range('ben', '/app/', '/logs0'),
    S.range('ben', '/logs/', '/logs0'),
    S.txn('ben', { compare: [{ key: b64('/app/config'), target: 'VERSION', version: '0' }], success: [{ request_put: { key: b64('/app/config'), value: b64('v') } }], failure: [{ request_range: { key: b64('/app/'), range_end: b64('/app0') } }] }),
    S.txn('ben', { compare: [{ key: b64('/secret'), target: 'VERSION', version: '0' }], success: [] }),
    S.txn('ben', { success: [{ request_put: { key: b64('/app/config'), value: b64('v') } }], failure: [{ request_put: { key: b64('/app/x'), value: b64('v') } }] }),
    S.txn('ben', { success: [{ request_delete_range: { key: b64('/app/data/'), range_end: b64('/app/data0'), prev_kv: true } }] }),
    {
      ...S.txn('ben', { success: [{ request_txn: { success: [{ request_put: { key: b64('/secret'), value: b64('hacked') } }] } }] }),
      note: 'etcd 3.4 does not look inside a nested txn',
      divergence: 'nested-txn-checked',
    },
    S.put('ben', '/drop/x'),
    note('write-only: prev_kv needs read', S.put('ben', '/drop/x', true)),
    S.del('ben', '/drop/', '/drop0'),
    S.del('ben', '/drop/', '/drop0', true),
    {
      ...S.txn('ben', { success: [{ request_put: { key: b64('/drop/x'), value: b64('v'), prev_kv: true } }] }),
      note: 'etcd 3.4 checks prev_kv of a plain put but not of a put in a txn',
      divergence: 'txn-put-prev-kv-checked',
    },
  ];
  const cat: Step[] = [
    S.range('cat', '~z'),
    S.range('cat', '~z', '\0'),
    S.range('cat', '~y', '\0'),
    S.range('cat', '\xff\xff'),
    S.put('cat', '~zz'),
    S.put('cat', '~z'),
    S.del('cat', '~zz', '\0'),
    S.del('cat', '~zy', '\0'),
    note('key "" with range end "\\0" covers nothing', S.put('cat', 'a')),
    S.range('cat', 'a'),
    S.range('cat', 'q'),
    S.range('cat', 'p'),
    S.range('cat', 'r'),
    S.range('cat', '\0'),
    S.range('cat', '\0', 'b'),
    S.range('cat', '\0', '\x01'),
    S.range('cat', 'a', 'a'),
    S.range('cat', 'c', 'a'),
    S.range('cat', '~zz', '~z'),
  ];
  const changes: Step[] = [
    S.revokePerm('logs-write', '/logs/m', '/logs/z', 'root'),
    note("ann's token (taken fresh) sees the change at once", S.del('ann', '/logs/a', '/logs/z')),
    S.del('ann', '/logs/a', '/logs/m'),
    S.revokeRole('ben', 'app', 'root'),
    S.range('ben', '/app/config'),
    S.range('ben', '/logs/x'),
    S.roleDelete('logs-read', 'root'),
    S.range('ben', '/logs/x'),
    S.range('ann', '/logs/x'),
    S.userGet('ann', 'root'),
    S.userGet('ben', 'root'),
  ];
  return [...steps, ...ann, ...ben, ...cat, ...changes];
}

/** Random permissions and requests over a small key alphabet, so edges (shared ends, '' and '\0') collide often. */
export function randomSteps(seed: number, rounds: number, requestsPerRound: number): Step[] {
  const alphabet = ['', '\0', '\0\0', 'a', 'a\0', 'ab', 'abc', 'b', 'ba', 'c', 'd', '\xff', '\xff\xff'];
  const key = fc.constantFrom(...alphabet);
  const permType = fc.constantFrom('READ', 'WRITE', 'READWRITE');
  const perm = fc.record({ permType, key, end: fc.oneof(fc.constant(''), fc.constant('\0'), key) });
  const request = fc.record({ kind: fc.constantFrom('range', 'put', 'del'), key: key.filter((k) => k !== ''), end: fc.oneof(fc.constant(''), fc.constant('\0'), key) });
  const round = fc.record({ r1: fc.array(perm, { maxLength: 5 }), r2: fc.array(perm, { maxLength: 5 }), reqs: fc.array(request, { minLength: requestsPerRound, maxLength: requestsPerRound }) });
  const plan = fc.sample(round, { seed, numRuns: rounds });
  const steps: Step[] = [S.userAdd('root', 'r'), S.grantRole('root', 'root'), S.userAdd('u', 'u'), S.enable()];
  plan.forEach((r, i) => {
    const [a, b] = [`ra${i}`, `rb${i}`];
    steps.push(S.roleAdd(a, 'root'), S.roleAdd(b, 'root'));
    for (const p of r.r1) steps.push(S.grantPerm(a, p.permType, p.key, p.end, 'root'));
    for (const p of r.r2) steps.push(S.grantPerm(b, p.permType, p.key, p.end, 'root'));
    steps.push(S.grantRole('u', a, 'root'), S.grantRole('u', b, 'root'), S.roleGet(a, 'root'), S.roleGet(b, 'root'));
    for (const q of r.reqs) {
      if (q.kind === 'range') steps.push(S.range('u', q.key, q.end));
      else if (q.kind === 'put') steps.push(S.put('u', q.key));
      else steps.push(S.del('u', q.key, q.end));
    }
    steps.push(S.roleDelete(a, 'root'), S.roleDelete(b, 'root'));
  });
  return steps;
}

export const RANDOM_SEED = 20261203;

/** Each scenario runs on a fresh etcd. */
export function scenarios(): Record<string, Step[]> {
  return { rules: rules(), rbac: rbac(), random: randomSteps(RANDOM_SEED, 20, 40) };
}
