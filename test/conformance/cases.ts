// Conformance cases for etcd 3.4's JSON gateway. Run IN ORDER against ONE fresh, empty, single
// member: revisions build up (a fresh etcd is at revision 1) and later cases depend on earlier ones.
// Recorded from real etcd by scripts/record-golden.ts into test/conformance/golden/, replayed against
// edgecd by test/conformance/gateway.test.ts. Never reorder or insert cases without re-recording.
//
// Revision bookkeeping is written in comments as "-> rN" (the store revision after the request).

export interface CaseRequest {
  method: string;
  path: string;
  /** In the cluster suite (cluster-cases.ts): the member the request goes to (default: the leader). */
  to?: 'leader' | 'follower';
  /** Raw body text, so malformed bodies are possible. Omitted: no body at all. */
  body?: string;
  headers?: Record<string, string>;
  /**
   * For an answer that does not end by itself (observe's stream, a lock or campaign that waits):
   * read it for this long, then hang up, and record what arrived (status 0: not even the headers).
   */
  streamMs?: number;
}

export interface Case {
  /** Unique, [a-z0-9-]+ (it names the golden file). */
  name: string;
  note?: string;
  /**
   * Request bodies may name values only known at run time: $SELF (the member's id), $ADDED (the id
   * the last member/add answered), $PEER_URL (the member's peer URL); $LEASE, $KEY and $REV (what
   * the last lock or campaign answered: the lease, decimal; the key, base64; the campaign's rev).
   */
  requests: CaseRequest[];
  /** JSON fields whose values differ from run to run (a TTL counting down, sizes, raft indexes): compared by presence and place. */
  mask?: string[];
  /** The answers name members: ids and the member's own URLs are compared by role, member lists as sets. */
  members?: boolean;
  /** Every member id and loopback port is masked (a cluster's answers; member lists as sets). */
  anyMember?: boolean;
  /** Sent right after a wall-clock second begins, so that all its requests fall within one second. */
  sameSecond?: boolean;
  /** Waits this long before the first request. */
  waitMs?: number;
  /**
   * Cluster suite only: one follower is stopped (killed) before the case, and stays down for the
   * cases after it (so such cases come last); waitMs then gives the others time to notice.
   */
  stopFollower?: boolean;
}

/** base64 of a string's UTF-8 bytes, or of raw bytes. */
export const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');

const body = (b: unknown): string => (typeof b === 'string' ? b : JSON.stringify(b));
const post = (path: string, b: unknown, headers?: Record<string, string>): CaseRequest =>
  headers ? { method: 'POST', path, body: body(b), headers } : { method: 'POST', path, body: body(b) };
const range = (b: unknown): CaseRequest => post('/v3/kv/range', b);
const put = (b: unknown): CaseRequest => post('/v3/kv/put', b);
const del = (b: unknown): CaseRequest => post('/v3/kv/deleterange', b);
const txn = (b: unknown): CaseRequest => post('/v3/kv/txn', b);
const compact = (b: unknown): CaseRequest => post('/v3/kv/compaction', b);
const kv = (key: string, value: string, extra: Record<string, unknown> = {}) => ({ key: b64(key), value: b64(value), ...extra });

const cases: Case[] = [];
const add = (name: string, ...requests: CaseRequest[]): void => {
  cases.push({ name, requests });
};
const addN = (name: string, note: string, ...requests: CaseRequest[]): void => {
  cases.push({ name, note, requests });
};
/** A case with options (masks, member normalisation, timing). */
const addC = (c: Case): void => {
  cases.push(c);
};

const K = (s: string) => b64(s);
const PREFIX_K = { key: K('k/'), range_end: K('k0') }; // '/' + 1 == '0'
const NUL = b64('\0');

// ---------------------------------------------------------------- HTTP surface, empty store (r1)
add('version-get', { method: 'GET', path: '/version' });
add('version-post-405', { method: 'POST', path: '/version', body: '{}' });
add('health-get', { method: 'GET', path: '/health' });
add('range-empty-store', range({ key: K('foo') }));
add('range-empty-body', range(''));
add('range-empty-object', range('{}'));
add('range-json-null', range('null'));
add('range-whitespace-body', range('  \n\t '));
add('range-get-405', { method: 'GET', path: '/v3/kv/range' });
add('put-put-method-405', { method: 'PUT', path: '/v3/kv/put', body: '{}' });
add('deleterange-delete-method-405', { method: 'DELETE', path: '/v3/kv/deleterange', body: '{}' });
add('range-head', { method: 'HEAD', path: '/v3/kv/range' });
add('unknown-route-v3', post('/v3/kv/nope', {}));
add('unknown-route-v3alpha', post('/v3alpha/kv/range', { key: K('foo') }));
add('unknown-route-root', post('/foo', {}));
add('unknown-route-get-root', { method: 'GET', path: '/' });
add('unknown-route-extra-segment', post('/v3/kv/range/extra', {}));
add('route-trailing-slash', post('/v3/kv/range/', { key: K('foo') }));
add('route-uppercase', post('/V3/kv/range', { key: K('foo') }));
add('route-query-string-ignored', post('/v3/kv/range?key=Zm9v&count_only=true', {}));
add('cors-preflight', {
  method: 'OPTIONS',
  path: '/v3/kv/range',
  headers: { origin: 'http://example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
});
add('cors-options-bare', { method: 'OPTIONS', path: '/v3/kv/put' });
add('cors-options-unknown-route', { method: 'OPTIONS', path: '/nope', headers: { origin: 'http://example.com' } });
add('cors-origin-on-post', post('/v3/kv/range', { key: K('foo') }, { origin: 'https://app.example.org' }));
add('cors-origin-on-error', post('/v3/kv/range', '{}', { origin: 'https://app.example.org' }));
add('content-type-text-plain', post('/v3/kv/range', { key: K('foo') }, { 'content-type': 'text/plain' }));
add('content-type-json', post('/v3/kv/range', { key: K('foo') }, { 'content-type': 'application/json' }));
add('authorization-header-auth-disabled', post('/v3/kv/range', { key: K('foo') }, { authorization: 'not-a-token' }));
add('compaction-zero-on-fresh-store', compact('{}'));

// ---------------------------------------------------------------- puts
add('put-first', put(kv('foo', 'bar'))); // -> r2
add('range-after-first-put', range({ key: K('foo') }));
add('put-prev-kv-new-key', put(kv('a', '1', { prev_kv: true }))); // -> r3
add('put-prev-kv-existing', put(kv('a', '2', { prev_kv: true }))); // -> r4
add('put-prevKv-camel', put(kv('a', '3', { prevKv: true }))); // -> r5
add('put-empty-value', put({ key: K('empty') })); // -> r6
add('put-prev-kv-empty-value', put(kv('empty', 'x', { prev_kv: true }))); // -> r7
add('put-empty-key', put({ key: '', value: K('v') }));
add('put-missing-key', put({ value: K('v') }));
add('put-lease-not-found', put(kv('x', 'v', { lease: '123' })));
add('put-lease-as-number-not-found', put(kv('x', 'v', { lease: 123 })));
add('put-ignore-value-missing-key', put({ key: K('missing'), ignore_value: true }));
add('put-ignore-lease-missing-key', put({ key: K('missing'), value: K('v'), ignore_lease: true }));
add('put-ignore-value-with-value', put(kv('a', 'new', { ignore_value: true })));
add('put-ignore-lease-with-lease', put(kv('a', 'new', { ignore_lease: true, lease: '123' })));
add('put-ignore-value-existing', put({ key: K('a'), ignore_value: true, prev_kv: true })); // -> r8
add('range-after-ignore-value', range({ key: K('a') }));
add('put-ignoreValue-camel', put({ key: K('a'), ignoreValue: true })); // -> r9
add('lease-grant-fixed-id', post('/v3/lease/grant', { TTL: '3600', ID: '1000' }));
add('put-with-lease', put(kv('lk', 'v1', { lease: '1000' }))); // -> r10
add('put-ignore-lease-existing', put(kv('lk', 'v2', { ignore_lease: true, prev_kv: true }))); // -> r11
add('range-leased-key', range({ key: K('lk') }));
add('put-bad-base64-value', put({ key: K('x'), value: '@@@' }));
add('put-value-wrong-type', put({ key: K('x'), value: 5 }));
add('put-non-utf8-key-value', put({ key: b64(new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x7a])), value: b64(new Uint8Array([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x00, 0xff])) })); // -> r12
add('range-non-utf8-key', range({ key: b64(new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x7a])) }));
addN(
  'seed-sort-keys',
  'k/c created first (r13), k/a (r14), k/b (r15), k/a (r16), k/a (r17), k/c (r18). Orders: key a,b,c; create c,a,b; version b(1),c(2),a(3); mod b,a,c; value c("1"),b("2"),a("3")',
  put(kv('k/c', 'x')), // r13
  put(kv('k/a', 'x')), // r14
  put(kv('k/b', '2')), // r15
  put(kv('k/a', 'y')), // r16
  put(kv('k/a', '3')), // r17
  put(kv('k/c', '1')), // r18
);

// ---------------------------------------------------------------- range: key / range_end
add('range-single', range({ key: K('k/a') }));
add('range-missing-key', range({ key: K('nope') }));
add('range-prefix', range(PREFIX_K));
add('range-prefix-rangeEnd-camel', range({ key: K('k/'), rangeEnd: K('k0') }));
add('range-from-key', range({ key: K('k/'), range_end: NUL }));
add('range-all-keys', range({ key: NUL, range_end: NUL }));
add('range-end-less-than-key', range({ key: K('k/c'), range_end: K('k/a') }));
add('range-end-equal-key', range({ key: K('k/a'), range_end: K('k/a') }));
add('range-end-empty-string', range({ key: K('k/a'), range_end: '' }));
// ---------------------------------------------------------------- range: limit / more / count
add('range-limit-1', range({ ...PREFIX_K, limit: '1' }));
add('range-limit-2-number', range({ ...PREFIX_K, limit: 2 }));
add('range-limit-equal-count', range({ ...PREFIX_K, limit: '3' }));
add('range-limit-above-count', range({ ...PREFIX_K, limit: '10' }));
add('range-limit-negative', range({ ...PREFIX_K, limit: '-1' }));
add('range-limit-int64-max-string', range({ ...PREFIX_K, limit: '9223372036854775807' }));
add('range-limit-int64-max-number', range(`{"key":"${K('k/')}","range_end":"${K('k0')}","limit":9223372036854775807}`));
add('range-limit-overflow', range({ ...PREFIX_K, limit: '9223372036854775808' }));
add('range-limit-float', range(`{"key":"${K('k/')}","range_end":"${K('k0')}","limit":1.5}`));
add('range-limit-exponent', range(`{"key":"${K('k/')}","range_end":"${K('k0')}","limit":1e1}`));
add('range-limit-string-float', range({ ...PREFIX_K, limit: '1.0' }));
add('range-limit-bool', range({ ...PREFIX_K, limit: true }));
add('range-count-only', range({ ...PREFIX_K, count_only: true }));
add('range-countOnly-camel', range({ ...PREFIX_K, countOnly: true }));
add('range-count-only-limit', range({ ...PREFIX_K, count_only: true, limit: '1' }));
add('range-count-only-missing', range({ key: K('nope'), count_only: true }));
add('range-keys-only', range({ ...PREFIX_K, keys_only: true }));
add('range-keysOnly-camel-limit', range({ ...PREFIX_K, keysOnly: true, limit: 2 }));
add('range-keys-and-count-only', range({ ...PREFIX_K, keys_only: true, count_only: true }));
add('range-bool-as-string', range({ ...PREFIX_K, count_only: 'true' }));
add('range-bool-as-number', range({ ...PREFIX_K, count_only: 1 }));
add('range-bool-false', range({ ...PREFIX_K, count_only: false, keys_only: false }));
// ---------------------------------------------------------------- range: sort
for (const order of ['ASCEND', 'DESCEND'] as const) {
  for (const target of ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const) {
    add(`range-sort-${target.toLowerCase()}-${order.toLowerCase()}`, range({ ...PREFIX_K, sort_order: order, sort_target: target }));
  }
}
add('range-sort-none-key', range({ ...PREFIX_K, sort_order: 'NONE', sort_target: 'KEY' }));
addN('range-sort-none-target-version', 'NONE with a non-KEY target sorts ASCEND', range({ ...PREFIX_K, sort_order: 'NONE', sort_target: 'VERSION' }));
add('range-sort-target-only-mod', range({ ...PREFIX_K, sort_target: 'MOD' }));
add('range-sort-order-only-descend', range({ ...PREFIX_K, sort_order: 'DESCEND' }));
add('range-sort-by-numbers-descend-value', range({ ...PREFIX_K, sort_order: 2, sort_target: 4 }));
add('range-sort-by-numbers-ascend-create', range({ ...PREFIX_K, sort_order: 1, sort_target: 2 }));
add('range-sort-numbers-as-strings', range({ ...PREFIX_K, sort_order: '2', sort_target: '3' }));
add('range-sortOrder-sortTarget-camel', range({ ...PREFIX_K, sortOrder: 'DESCEND', sortTarget: 'CREATE' }));
add('range-sort-unknown-enum-number', range({ ...PREFIX_K, sort_order: 7, sort_target: 9 }));
add('range-sort-unknown-enum-name', range({ ...PREFIX_K, sort_order: 'SIDEWAYS' }));
add('range-sort-lowercase-name', range({ ...PREFIX_K, sort_order: 'descend' }));
add('range-sort-target-unknown-name', range({ ...PREFIX_K, sort_target: 'SIZE' }));
add('range-sort-descend-mod-limit-1', range({ ...PREFIX_K, sort_order: 'DESCEND', sort_target: 'MOD', limit: 1 }));
add('range-sort-ascend-version-limit-2', range({ ...PREFIX_K, sort_order: 'ASCEND', sort_target: 'VERSION', limit: '2' }));
add('range-sort-descend-key-limit-1', range({ ...PREFIX_K, sort_order: 'DESCEND', sort_target: 'KEY', limit: 1 }));
// ---------------------------------------------------------------- range: serializable / revision
add('range-serializable', range({ ...PREFIX_K, serializable: true }));
add('range-revision-past', range({ ...PREFIX_K, revision: '14' }));
add('range-revision-past-number', range({ ...PREFIX_K, revision: 16 }));
add('range-revision-before-key-existed', range({ key: K('k/a'), revision: '13' }));
add('range-revision-current', range({ ...PREFIX_K, revision: '18' }));
add('range-revision-future', range({ ...PREFIX_K, revision: '19' }));
add('range-revision-far-future', range({ key: K('foo'), revision: '1000000' }));
add('range-revision-negative', range({ key: K('foo'), revision: '-5' }));
add('range-revision-zero', range({ key: K('foo'), revision: 0 }));
add('range-revision-bad-string', range({ key: K('foo'), revision: 'abc' }));
add('range-revision-one', range({ key: K('foo'), revision: '1' }));
// ---------------------------------------------------------------- range: mod/create filters
add('range-min-mod-revision', range({ ...PREFIX_K, min_mod_revision: '17' }));
add('range-max-mod-revision', range({ ...PREFIX_K, max_mod_revision: '17' }));
add('range-min-create-revision', range({ ...PREFIX_K, min_create_revision: '14' }));
add('range-max-create-revision', range({ ...PREFIX_K, max_create_revision: '14' }));
add('range-mod-window-camel', range({ ...PREFIX_K, minModRevision: '16', maxModRevision: 17 }));
add('range-create-window-camel', range({ ...PREFIX_K, minCreateRevision: 14, maxCreateRevision: '14' }));
add('range-filters-with-limit', range({ ...PREFIX_K, min_mod_revision: '16', limit: 1 }));
add('range-filters-with-limit-equal-filtered', range({ ...PREFIX_K, min_mod_revision: '16', limit: 2 }));
add('range-filters-max-mod-limit-1', range({ ...PREFIX_K, max_mod_revision: '15', limit: 1 }));
add('range-filters-sorted-limit-1', range({ ...PREFIX_K, min_create_revision: '14', sort_order: 'DESCEND', sort_target: 'VALUE', limit: 1 }));
add('range-filters-with-count-only', range({ ...PREFIX_K, min_create_revision: '15', count_only: true }));
add('range-filter-matches-nothing', range({ ...PREFIX_K, min_mod_revision: '100' }));
// ---------------------------------------------------------------- range: JSON / field decoding
add('range-unknown-field', range({ key: K('foo'), bogus: 1, another: { x: [1, 2] } }));
add('range-bad-base64', range({ key: '!!!' }));
add('range-base64-missing-padding', range({ key: 'Zm9vYg' }));
add('range-base64-wrong-length', range({ key: 'Zm9' }));
add('range-base64-url-alphabet', range({ key: '-_8=' }));
add('range-base64-std-plus-slash', range({ key: '+/8=' }));
add('range-base64-embedded-newline', range('{"key":"Zm\\n9v"}'));
add('range-key-number', range('{"key":1}'));
add('range-key-object', range('{"key":{}}'));
add('range-key-array', range('{"key":[1]}'));
add('range-key-null', range('{"key":null}'));
add('range-key-true', range('{"key":true}'));
add('range-body-array', range('[]'));
add('range-body-string', range('"x"'));
add('range-body-number', range('42'));
add('range-malformed-truncated', range(`{"key":"${K('foo')}"`));
add('range-malformed-garbage', range('xyz'));
add('range-malformed-missing-value', range('{"key":}'));
add('range-malformed-single-quotes', range("{'key':'Zm9v'}"));
add('range-malformed-trailing-comma', range(`{"key":"${K('foo')}",}`));
add('range-trailing-garbage-after-object', range(`{"key":"${K('foo')}"} xyz`));
add('range-two-objects', range(`{"key":"${K('foo')}"}{"key":"${K('a')}"}`));
add('range-duplicate-field-last-wins', range(`{"key":"${K('foo')}","key":"${K('a')}"}`));
add('range-snake-and-camel-both', range(`{"key":"${K('k/')}","range_end":"${K('k0')}","rangeEnd":"${K('k/b')}"}`));
add('range-camel-then-snake', range(`{"key":"${K('k/')}","rangeEnd":"${K('k/b')}","range_end":"${K('k0')}"}`));
add('range-field-wrong-case', range({ Key: K('foo') }));
add('range-unicode-escape-in-base64', range('{"key":"\\u005am9v"}'));

// ---------------------------------------------------------------- txn (store at r18)
const cmp = (key: string, target: string | number, result: string | number, field: string, value: unknown, extra: Record<string, unknown> = {}) => ({
  key: K(key),
  target,
  result,
  [field]: value,
  ...extra,
});
const txnCmp = (name: string, c: unknown): void => add(name, txn({ compare: [c], success: [{ request_range: { key: K('foo'), count_only: true } }] }));
// k/a: version 3, create 14, mod 17, value "3", lease 0. lk: lease 1000.
txnCmp('txn-cmp-version-equal-true', cmp('k/a', 'VERSION', 'EQUAL', 'version', '3'));
txnCmp('txn-cmp-version-equal-false', cmp('k/a', 'VERSION', 'EQUAL', 'version', '2'));
txnCmp('txn-cmp-version-greater', cmp('k/a', 'VERSION', 'GREATER', 'version', '2'));
txnCmp('txn-cmp-version-less-false', cmp('k/a', 'VERSION', 'LESS', 'version', '3'));
txnCmp('txn-cmp-version-not-equal', cmp('k/a', 'VERSION', 'NOT_EQUAL', 'version', 1));
txnCmp('txn-cmp-create-equal', cmp('k/a', 'CREATE', 'EQUAL', 'create_revision', '14'));
txnCmp('txn-cmp-create-greater-false', cmp('k/a', 'CREATE', 'GREATER', 'create_revision', '20'));
txnCmp('txn-cmp-create-less', cmp('k/a', 'CREATE', 'LESS', 'createRevision', '20'));
txnCmp('txn-cmp-create-not-equal-false', cmp('k/a', 'CREATE', 'NOT_EQUAL', 'create_revision', '14'));
txnCmp('txn-cmp-mod-equal', cmp('k/a', 'MOD', 'EQUAL', 'mod_revision', '17'));
txnCmp('txn-cmp-mod-greater', cmp('k/a', 'MOD', 'GREATER', 'modRevision', 16));
txnCmp('txn-cmp-mod-less-false', cmp('k/a', 'MOD', 'LESS', 'mod_revision', '17'));
txnCmp('txn-cmp-mod-not-equal', cmp('k/a', 'MOD', 'NOT_EQUAL', 'mod_revision', '1'));
txnCmp('txn-cmp-value-equal', cmp('k/a', 'VALUE', 'EQUAL', 'value', K('3')));
txnCmp('txn-cmp-value-greater', cmp('k/a', 'VALUE', 'GREATER', 'value', K('2')));
txnCmp('txn-cmp-value-less', cmp('k/a', 'VALUE', 'LESS', 'value', K('30')));
txnCmp('txn-cmp-value-not-equal-false', cmp('k/a', 'VALUE', 'NOT_EQUAL', 'value', K('3')));
txnCmp('txn-cmp-lease-equal', cmp('lk', 'LEASE', 'EQUAL', 'lease', '1000'));
txnCmp('txn-cmp-lease-greater', cmp('lk', 'LEASE', 'GREATER', 'lease', '999'));
txnCmp('txn-cmp-lease-less-false', cmp('lk', 'LEASE', 'LESS', 'lease', '1000'));
txnCmp('txn-cmp-lease-not-equal-unleased', cmp('k/a', 'LEASE', 'NOT_EQUAL', 'lease', '1000'));
txnCmp('txn-cmp-by-numbers', cmp('k/a', 1, 2, 'create_revision', '13')); // CREATE LESS -> false
txnCmp('txn-cmp-by-number-strings', cmp('k/a', '2', '3', 'mod_revision', '18')); // MOD LESS
txnCmp('txn-cmp-result-number-not-equal', cmp('k/a', 'VALUE', 3, 'value', K('x')));
txnCmp('txn-cmp-target-defaults', { key: K('k/a') }); // VERSION EQUAL 0
txnCmp('txn-cmp-target-field-missing', { key: K('k/a'), target: 'MOD', result: 'GREATER' });
txnCmp('txn-cmp-mismatched-field', cmp('k/a', 'VERSION', 'EQUAL', 'value', K('3')));
txnCmp('txn-cmp-missing-key-version-zero', cmp('nope', 'VERSION', 'EQUAL', 'version', '0'));
txnCmp('txn-cmp-missing-key-create-zero', cmp('nope', 'CREATE', 'EQUAL', 'create_revision', '0'));
txnCmp('txn-cmp-missing-key-value', cmp('nope', 'VALUE', 'EQUAL', 'value', ''));
txnCmp('txn-cmp-missing-key-value-less', cmp('nope', 'VALUE', 'LESS', 'value', K('z')));
txnCmp('txn-cmp-range-end-all-true', cmp('k/', 'VERSION', 'GREATER', 'version', '0', { range_end: K('k0') }));
txnCmp('txn-cmp-range-end-one-false', cmp('k/', 'VERSION', 'GREATER', 'version', '1', { range_end: K('k0') }));
txnCmp('txn-cmp-rangeEnd-camel-from-key', cmp('k/', 'CREATE', 'GREATER', 'create_revision', '1', { rangeEnd: NUL }));
txnCmp('txn-cmp-range-end-empty-range', cmp('q/', 'VERSION', 'EQUAL', 'version', '5', { range_end: K('q0') }));
txnCmp('txn-cmp-range-end-empty-range-version-zero', cmp('q/', 'VERSION', 'EQUAL', 'version', '0', { range_end: K('q0') }));
txnCmp('txn-cmp-range-end-empty-range-value', cmp('q/', 'VALUE', 'EQUAL', 'value', '', { range_end: K('q0') }));
txnCmp('txn-cmp-unknown-target-name', cmp('k/a', 'SIZE', 'EQUAL', 'version', '1'));
txnCmp('txn-cmp-unknown-result-name', cmp('k/a', 'VERSION', 'ABOUT', 'version', '1'));
txnCmp('txn-cmp-no-key', { target: 'VERSION', result: 'EQUAL', version: '3' });
add('txn-multiple-compares-all-true', txn({ compare: [cmp('k/a', 'VERSION', 'EQUAL', 'version', '3'), cmp('k/b', 'VALUE', 'EQUAL', 'value', K('2'))] }));
add('txn-multiple-compares-one-false', txn({ compare: [cmp('k/a', 'VERSION', 'EQUAL', 'version', '3'), cmp('k/b', 'VALUE', 'EQUAL', 'value', K('9'))] }));
add('txn-empty-body', txn(''));
add('txn-empty-object', txn({}));
add('txn-empty-lists', txn({ compare: [], success: [], failure: [] }));
add(
  'txn-success-all-op-kinds', // -> r19
  txn({
    compare: [cmp('k/a', 'VERSION', 'EQUAL', 'version', '3')],
    success: [
      { request_range: { key: K('k/'), range_end: K('k0'), limit: 2, sort_order: 'DESCEND' } },
      { request_put: kv('t/1', 'one', { prev_kv: true }) },
      { request_put: kv('t/2', 'two') },
      { request_delete_range: { key: K('nothing-here'), prev_kv: true } },
      { request_txn: { compare: [cmp('k/b', 'VERSION', 'EQUAL', 'version', '1')], success: [{ request_range: { key: K('k/b') } }] } },
    ],
    failure: [{ request_put: kv('never', 'x') }],
  }),
);
add(
  'txn-failure-branch', // -> r20
  txn({
    compare: [cmp('k/a', 'VERSION', 'EQUAL', 'version', '99')],
    success: [{ request_put: kv('never', 'x') }],
    failure: [
      { request_put: kv('t/1', 'uno', { prev_kv: true }) },
      { request_delete_range: { key: K('t/2'), prev_kv: true } },
      { request_range: { key: K('t/'), range_end: K('t0') } },
    ],
  }),
);
add(
  'txn-nested-failure-and-empty', // -> r21
  txn({
    success: [
      { request_txn: { compare: [cmp('k/b', 'VERSION', 'EQUAL', 'version', '7')], success: [{ request_put: kv('never', 'x') }], failure: [{ request_put: kv('t/3', 'three') }] } },
      { request_txn: {} },
      { request_txn: { success: [{ request_txn: { success: [{ request_range: { key: K('t/3') } }] } }] } },
    ],
  }),
);
add('txn-camel-case-ops', txn({ success: [{ requestPut: kv('t/4', 'four', { prevKv: true }) }, { requestRange: { key: K('t/'), rangeEnd: K('t0'), countOnly: true } }, { requestDeleteRange: { key: K('t/9') } }] })); // -> r22
add('txn-range-in-write-txn-sees-own-put', txn({ success: [{ request_put: kv('t/5', 'five') }, { request_range: { key: K('t/5') } }] })); // -> r23
add('txn-range-then-put-same-key', txn({ success: [{ request_range: { key: K('t/6') } }, { request_put: kv('t/6', 'six') }, { request_range: { key: K('t/6') } }] })); // -> r24
add('txn-delete-then-range', txn({ success: [{ request_delete_range: { key: K('t/6') } }, { request_range: { key: K('t/6') } }] })); // -> r25
add('txn-read-only-range-options', txn({ success: [{ request_range: { ...PREFIX_K, keys_only: true, sort_target: 'MOD', sort_order: 'ASCEND' } }, { request_range: { ...PREFIX_K, count_only: true, limit: 1 } }] }));
add('txn-duplicate-put-put', txn({ success: [{ request_put: kv('d', '1') }, { request_put: kv('d', '2') }] }));
add('txn-duplicate-put-delete', txn({ success: [{ request_put: kv('d', '1') }, { request_delete_range: { key: K('d') } }] }));
add('txn-duplicate-put-in-delete-range', txn({ success: [{ request_put: kv('t/x', '1') }, { request_delete_range: { key: K('t/'), range_end: K('t0') } }] }));
add('txn-duplicate-delete-delete', txn({ success: [{ request_delete_range: { key: K('d') } }, { request_delete_range: { key: K('d') } }] }));
add('txn-duplicate-overlapping-deletes', txn({ success: [{ request_delete_range: { key: K('d/'), range_end: K('d0') } }, { request_delete_range: { key: K('d/x') } }] }));
add('txn-duplicate-in-nested-txn', txn({ success: [{ request_put: kv('d', '1') }, { request_txn: { success: [{ request_put: kv('d', '2') }] } }] }));
add('txn-duplicate-across-branches-ok', txn({ success: [{ request_put: kv('t/7', 's') }], failure: [{ request_put: kv('t/7', 'f') }] })); // -> r26
add('txn-same-key-in-nested-branches-ok', txn({ success: [{ request_txn: { success: [{ request_put: kv('t/8', 's') }], failure: [{ request_put: kv('t/8', 'f') }] } }] })); // -> r27
const many = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i));
add('txn-too-many-ops-success', txn({ success: many(129, (i) => ({ request_put: kv(`m/${i}`, 'v') })) }));
add('txn-too-many-ops-failure', txn({ failure: many(129, () => ({ request_range: { key: K('foo') } })) }));
add('txn-too-many-compares', txn({ compare: many(129, () => cmp('k/a', 'VERSION', 'GREATER', 'version', '0')) }));
add('txn-max-ops-128-ranges', txn({ success: many(128, () => ({ request_range: { key: K('k/a'), keys_only: true } })) }));
add('txn-max-ops-128-puts', txn({ success: many(128, (i) => ({ request_put: kv(`m/${String(i).padStart(3, '0')}`, 'v') })) })); // -> r28
add('txn-too-many-ops-nested', txn({ success: [{ request_txn: { success: many(129, (i) => ({ request_put: kv(`n/${i}`, 'v') })) } }] }));
add('txn-op-empty-object', txn({ success: [{}] }));
// Not recorded: a RequestOp with two kinds set ({request_put, request_range}) -- etcd picks one at random
// (Go map order in jsonpb's oneof decoding), so there is no stable answer. See docs/gateway-notes.md.
add('txn-op-put-empty-key', txn({ success: [{ request_put: { key: '', value: K('v') } }] }));
add('txn-op-range-empty-key', txn({ success: [{ request_range: { key: '' } }] }));
add('txn-op-delete-empty-key', txn({ success: [{ request_delete_range: { key: '' } }] }));
add('txn-op-lease-not-found', txn({ success: [{ request_put: kv('t/9', 'x', { lease: '777' }) }] }));
add('txn-op-lease-ok', txn({ success: [{ request_put: kv('t/lease', 'x', { lease: '1000' }) }] })); // -> r29
add('txn-op-ignore-value-missing-key', txn({ success: [{ request_put: { key: K('missing'), ignore_value: true } }] }));
add('txn-op-range-future-revision', txn({ success: [{ request_range: { key: K('foo'), revision: '999' } }] }));
add('txn-op-range-past-revision', txn({ success: [{ request_range: { key: K('k/a'), revision: '16' } }] }));
add('txn-op-error-in-untaken-branch', txn({ compare: [cmp('k/a', 'VERSION', 'EQUAL', 'version', '3')], failure: [{ request_put: kv('t/9', 'x', { lease: '777' }) }] }));
add('txn-success-not-array', txn({ success: { request_put: kv('t/9', 'x') } }));
add('txn-compare-not-array', txn({ compare: cmp('k/a', 'VERSION', 'EQUAL', 'version', '3') }));
add('txn-op-wrong-type', txn({ success: ['put'] }));
add('txn-op-unknown-kind', txn({ success: [{ request_watch: { key: K('foo') } }] }));
add('txn-v3beta', post('/v3beta/kv/txn', { compare: [cmp('k/a', 'VALUE', 'EQUAL', 'value', K('3'))], success: [{ request_range: { key: K('k/a'), keys_only: true } }] }));

// ---------------------------------------------------------------- deleterange (store at r29)
add('seed-delete-keys', put(kv('d/1', '1')), put(kv('d/2', '2')), put(kv('d/3', '3')), put(kv('z/1', 'z1')), put(kv('z/2', 'z2'))); // -> r34
add('delete-nothing', del({ key: K('nope') }));
add('delete-nothing-prev-kv', del({ key: K('nope'), prev_kv: true }));
add('delete-single', del({ key: K('foo') })); // -> r35
add('delete-single-prev-kv', del({ key: K('a'), prev_kv: true })); // -> r36
add('delete-prefix-prev-kv', del({ key: K('d/'), range_end: K('d0'), prev_kv: true })); // -> r37
add('delete-prefix-prevKv-camel-nothing', del({ key: K('d/'), rangeEnd: K('d0'), prevKv: true }));
add('delete-range-end-less-than-key', del({ key: K('t/5'), range_end: K('t/1') }));
add('delete-empty-key', del({ key: '' }));
add('delete-empty-body', del(''));
add('delete-bad-base64', del({ key: '%%%' }));
add('delete-from-key', del({ key: K('z/'), range_end: NUL })); // -> r38 (z/1, z/2 and the non-UTF-8 key)
add('range-all-after-deletes', range({ key: NUL, range_end: NUL, keys_only: true }));
add('range-deleted-key-at-past-revision', range({ key: K('foo'), revision: '34' }));
add('put-without-lease-detaches', put(kv('lk', 'v3', { prev_kv: true }))); // -> r39
add('range-after-lease-detached', range({ key: K('lk') }));
add('put-recreate-deleted-key', put(kv('foo', 'again', { prev_kv: true }))); // -> r40
add('range-recreated-key', range({ key: K('foo') }));

// ---------------------------------------------------------------- v3beta aliases
add('v3beta-range', post('/v3beta/kv/range', { key: K('foo') }));
add('v3beta-put', post('/v3beta/kv/put', kv('beta', 'b', { prev_kv: true }))); // -> r41
add('v3beta-deleterange', post('/v3beta/kv/deleterange', { key: K('beta'), prev_kv: true })); // -> r42
add('v3beta-range-error', post('/v3beta/kv/range', { key: K('foo'), revision: '1000' }));
add('v3beta-get-405', { method: 'GET', path: '/v3beta/kv/put' });

// ---------------------------------------------------------------- compaction (store at r42)
add('compaction-future', compact({ revision: '43' }));
add('compaction-physical', compact({ revision: '16', physical: true }));
add('compaction-same-again', compact({ revision: '16' }));
add('compaction-older', compact({ revision: 10 }));
add('compaction-zero', compact({}));
add('compaction-negative', compact({ revision: '-3' }));
add('range-at-compacted-revision', range({ key: K('k/a'), revision: '15' }));
add('range-at-compaction-revision', range({ key: K('k/a'), revision: '16' }));
add('range-revision-zero-after-compaction', range({ key: K('k/a'), revision: 0 }));
add('txn-range-compacted', txn({ success: [{ request_range: { key: K('k/a'), revision: '3' } }] }));
add('compaction-non-physical', compact({ revision: 20 }));
add('range-after-non-physical-compaction', range({ key: K('k/a'), revision: '19' }));
add('compaction-current-revision', compact({ revision: '42', physical: true }));
add('range-current-after-full-compaction', range({ ...PREFIX_K, revision: '42' }));
add('v3beta-compaction-compacted', post('/v3beta/kv/compaction', { revision: '30' }));
add('compaction-bad-body', compact('{"revision":"x"}'));

// ---------------------------------------------------------------- sizes (store at r42)
add('put-value-1mb-ok', put({ key: K('big'), value: b64(new Uint8Array(1_000_000)) })); // -> r43
add('put-value-too-large', put({ key: K('big'), value: b64(new Uint8Array(1_600_000)) }));
add('put-value-over-grpc-limit', put({ key: K('big'), value: b64(new Uint8Array(2_200_000)) }));
add('body-1700kb-unknown-field-ok', put(`{"key":"${K('pad')}","value":"${K('v')}","padding":"${'x'.repeat(1_700_000)}"}`)); // -> r44
add('range-big-count-only', range({ key: K('big'), count_only: true }));
add('delete-big', del({ key: K('big') })); // -> r45
add('put-value-null', put({ key: K('vnull'), value: null, prev_kv: null })); // -> r46
add('range-value-null-key', range({ key: K('vnull') }));
add('range-huge-limit-everything', range({ key: NUL, range_end: NUL, limit: '9223372036854775807', keys_only: true }));

// ---------------------------------------------------------------- leases (store at r46; lease 1000 holds t/lease)
add('lease-grant-existing-id', post('/v3/lease/grant', { TTL: '60', ID: '1000' }));
add('lease-grant-ttl-too-large', post('/v3/lease/grant', { TTL: '9000000001', ID: '2000' }));
addN(
  'lease-grant-min-ttl-then-revoke',
  'a TTL below the minimum (1.5 election timeouts, rounded up) is raised to it; revoking a lease without keys keeps the revision',
  post('/v3/lease/grant', { TTL: '-5', ID: '2000' }),
  post('/v3/lease/revoke', { ID: '2000' }),
);
add('lease-revoke-not-found', post('/v3/lease/revoke', { ID: '2000' }));
add('lease-revoke-no-id', post('/v3/lease/revoke', {}));
add('lease-revoke-kv-alias-not-found', post('/v3/kv/lease/revoke', { ID: '99' }));
add('lease-timetolive-missing', post('/v3/lease/timetolive', { ID: '99' }));
addC({ name: 'lease-timetolive-keys', note: 'the remaining TTL counts down: masked', mask: ['TTL'], requests: [post('/v3/lease/timetolive', { ID: '1000', keys: true }), post('/v3/kv/lease/timetolive', { ID: 1000 })] });
add('lease-leases', post('/v3/lease/leases', {}));
add('lease-keepalive', post('/v3/lease/keepalive', '{"ID":"1000"}{"ID":"99"}{}'));
add('lease-keepalive-bad-first', post('/v3/lease/keepalive', 'xx'));
add('lease-keepalive-get-405', { method: 'GET', path: '/v3/lease/keepalive' });
add('lease-grant-v3beta-exists', post('/v3beta/lease/grant', { TTL: 60, ID: 1000 }));

// ---------------------------------------------------------------- a token while auth is disabled, route by route
// etcd checks a token only where its server consults auth: after the gateway decoded the body and
// after the request's own checks, and not at all on some routes.
const AUTH = { authorization: 'not-a-token' };
add('auth-header-put-empty-key', post('/v3/kv/put', { value: K('v') }, AUTH));
add('auth-header-range-bad-json', post('/v3/kv/range', 'xx', AUTH));
add('auth-header-range-future-revision', post('/v3/kv/range', { key: K('foo'), revision: '1000' }, AUTH));
add('auth-header-txn-duplicate-key', post('/v3/kv/txn', { success: [{ request_put: kv('d', '1') }, { request_put: kv('d', '2') }] }, AUTH));
add('auth-header-txn-too-many-ops', post('/v3/kv/txn', { success: many(129, (i) => ({ request_put: kv(`m/${i}`, 'v') })) }, AUTH));
add('auth-header-put', post('/v3/kv/put', kv('auth', 'x'), AUTH));
add('auth-header-put-lease-not-found', post('/v3/kv/put', kv('auth', 'x', { lease: '55' }), AUTH));
add('auth-header-deleterange', post('/v3/kv/deleterange', { key: K('auth') }, AUTH));
add('auth-header-compaction', post('/v3/kv/compaction', { revision: '1000' }, AUTH));
add('auth-header-lease-grant', post('/v3/lease/grant', { TTL: '60', ID: '3000' }, AUTH));
add('auth-header-lease-revoke', post('/v3/lease/revoke', { ID: '99' }, AUTH));
add('auth-header-lease-timetolive', post('/v3/lease/timetolive', { ID: '99' }, AUTH));
add('auth-header-lease-leases', post('/v3/lease/leases', {}, AUTH));
add('auth-header-lease-keepalive', post('/v3/lease/keepalive', '{"ID":"1000"}', AUTH));
addC({ name: 'auth-header-member-list', members: true, requests: [post('/v3/cluster/member/list', {}, AUTH)] });
add('auth-header-member-add-bad-urls', post('/v3/cluster/member/add', { peerURLs: ['foo'] }, AUTH));
add('auth-header-member-add', post('/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'], isLearner: true }, AUTH));
add('auth-header-member-remove', post('/v3/cluster/member/remove', { ID: '1' }, AUTH));
add('auth-header-member-update', post('/v3/cluster/member/update', { ID: '1', peerURLs: ['http://127.0.0.1:1'] }, AUTH));
add('auth-header-member-promote', post('/v3/cluster/member/promote', { ID: '1' }, AUTH));
const STATUS_MASK = ['dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex', 'raftTerm'];
addC({ name: 'auth-header-status', members: true, mask: STATUS_MASK, requests: [post('/v3/maintenance/status', {}, AUTH)] });
addC({ name: 'auth-header-transfer-leadership-self', members: true, requests: [post('/v3/maintenance/transfer-leadership', { targetID: '$SELF' }, AUTH)] });

// ---------------------------------------------------------------- membership (a single member; a learner that never starts)
const member = (op: string, b: unknown, headers?: Record<string, string>) => post(`/v3/cluster/member/${op}`, b, headers);
const members = (name: string, ...requests: CaseRequest[]) => addC({ name, members: true, requests });
members('member-list', member('list', {}));
members('member-list-v3beta', post('/v3beta/cluster/member/list', ''));
add('member-list-get-405', { method: 'GET', path: '/v3/cluster/member/list' });
add('member-add-no-urls', member('add', {}), member('add', { peerURLs: [] }));
addN(
  'member-add-bad-urls',
  "Go's types.NewURLs: a scheme of http, https, unix or unixs, host:port, no path",
  member('add', { peerURLs: ['foo'], isLearner: true }),
  member('add', { peerURLs: ['http://127.0.0.1'], isLearner: true }),
  member('add', { peerURLs: ['http://127.0.0.1:5/'], isLearner: true }),
  member('add', { peerURLs: ['ftp://127.0.0.1:5'], isLearner: true }),
  member('add', { peerURLs: ['http://127.0.0.1:5', 'nope'], isLearner: true }),
  member('add', { peerURLs: 'http://127.0.0.1:5' }),
);
members('member-add-own-peer-url', member('add', { peerURLs: ['$PEER_URL'], isLearner: true }), member('add', { peerURLs: ['$PEER_URL'] }));
addC({
  name: 'member-add-learner-twice-same-second',
  note: "a member's id hashes its peer URLs and the second it was added: the same URLs within one second collide on the id first",
  members: true,
  sameSecond: true,
  requests: [member('add', { peerURLs: [' http://127.0.0.1:1 '], isLearner: true }), member('add', { peerURLs: ['http://127.0.0.1:1'], isLearner: true })],
});
addC({ name: 'member-add-learner-again-later', note: 'a second later the id differs: the peer URL is what collides', waitMs: 1100, requests: [member('add', { peerURLs: ['http://127.0.0.1:1'], isLearner: true })] });
add('member-add-second-learner', member('add', { peerURLs: ['http://127.0.0.1:2', 'HTTP://127.0.0.1:3'], isLearner: true }));
members('member-list-with-learner', member('list', {}));
members('member-promote-voter', member('promote', { ID: '$SELF' }));
members('member-promote-learner-not-ready', member('promote', { ID: '$ADDED' }));
add('member-promote-unknown', member('promote', { ID: '1' }), member('promote', {}));
add('member-remove-unknown', member('remove', { ID: '1' }), member('remove', {}));
add('member-update-unknown', member('update', { ID: '1', peerURLs: ['http://127.0.0.1:4'] }));
members('member-update-taken-peer-url', member('update', { ID: '$SELF', peerURLs: ['http://127.0.0.1:1'] }));
// Not a case: updating a learner's peer URLs. etcd 3.4.23 then lists it without isLearner (raft still
// holds it as a learner, and a transfer of leadership to it hangs until the request times out).
members('member-update-self-same-urls', member('update', { ID: '$SELF', peerURLs: ['$PEER_URL'] }));
addC({
  name: 'member-remove-self-alone',
  note: 'etcd 3.4 refuses to remove the only started voter; it answers code 2 (its client-side error value, which gRPC sends as Unknown), so 500',
  members: true,
  requests: [member('remove', { ID: '$SELF' })],
});
members(
  'transfer-leadership-bad-transferee',
  post('/v3/maintenance/transfer-leadership', { targetID: '1' }),
  post('/v3/maintenance/transfer-leadership', { targetID: '$ADDED' }),
  post('/v3/maintenance/transfer-leadership', {}),
);
members('transfer-leadership-self', post('/v3/maintenance/transfer-leadership', { targetID: '$SELF' }));
members('member-remove-learner', member('remove', { ID: '$ADDED' }));
members('member-list-after-remove', member('list', {}));
addC({ name: 'maintenance-status', members: true, mask: STATUS_MASK, requests: [post('/v3/maintenance/status', {}), post('/v3beta/maintenance/status', '')] });
add('maintenance-status-get-405', { method: 'GET', path: '/v3/maintenance/status' });

// ---------------------------------------------------------------- alarms (the quota's NOSPACE, corruption's CORRUPT)
const alarm = (action: string, extra: Record<string, unknown> = {}) => post('/v3/maintenance/alarm', { action, ...extra });
addC({
  name: 'maintenance-alarm-nospace',
  note: 'NOSPACE refuses puts, txns that write and lease grants; reads, deletes and read-only txns still run; status lists the alarm',
  members: true,
  mask: STATUS_MASK,
  requests: [
    alarm('GET'),
    alarm('ACTIVATE', { memberID: '$SELF', alarm: 'NOSPACE' }),
    alarm('ACTIVATE', { memberID: '$SELF', alarm: 'NOSPACE' }),
    post('/v3/maintenance/alarm', {}),
    alarm('GET', { alarm: 'CORRUPT' }),
    post('/v3/maintenance/status', {}),
    put(kv('alarm/k', 'v')),
    txn({ success: [{ request_put: kv('alarm/k', 'v') }] }),
    txn({ success: [{ request_range: { key: K('alarm/k') } }] }),
    post('/v3/lease/grant', { TTL: '60', ID: '4242' }),
    range({ key: K('alarm/k') }),
    del({ key: K('alarm/none') }),
    alarm('DEACTIVATE', { memberID: '$SELF', alarm: 'NOSPACE' }),
    alarm('DEACTIVATE', { memberID: '$SELF', alarm: 'NOSPACE' }),
    put(kv('alarm/k', 'v')),
  ],
});
addC({
  name: 'maintenance-alarm-bad',
  members: true,
  requests: [
    alarm('BOGUS'),
    // Not here: { action: 7 } (a number past the enum) crashed etcd 3.4.23 (nil pointer in its alarm handler).
    post('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '$SELF', alarm: 'BOGUS' }),
    alarm('ACTIVATE', { memberID: '$SELF' }),
    alarm('GET'),
    alarm('DEACTIVATE', { memberID: '$SELF' }),
    // One alarm at a time: etcd lists several in Go's map order, which differs from run to run.
    alarm('ACTIVATE', { memberID: '1', alarm: 'NOSPACE' }),
    alarm('GET'),
    put(kv('alarm/k', 'v')),
    alarm('DEACTIVATE', { memberID: '1', alarm: 'NOSPACE' }),
    alarm('GET'),
  ],
});

// ---------------------------------------------------------------- locks (v3lock) and elections (v3election)
// etcd runs clientv3's concurrency package in process: a lock or a campaign is the key
// <name>/<lease in hex>, and errors of the KV calls it makes come back as code 2 (HTTP 500).
// Leases 6000 and 6001 (an hour) are the sessions; a lease of 0 makes the member grant an unrenewed
// 60 s lease with an id of its choosing: those cases mask it and revoke it ($LEASE) before it
// could expire in the middle of later cases.
const lockReq = (b: unknown, path = '/v3/lock/lock'): CaseRequest => post(path, b);
const unlockReq = (b: unknown): CaseRequest => post('/v3/lock/unlock', b);
const elect = (op: string, b: unknown, prefix = '/v3'): CaseRequest => post(`${prefix}/election/${op}`, b);
const revokeLearned = post('/v3/lease/revoke', { ID: '$LEASE' });
const under = (name: string) => range({ key: K(name + '/'), range_end: K(name + '0') });
/** The key a session of this lease takes under name. */
const sessionK = (name: string, lease: number) => K(`${name}/${lease.toString(16)}`);
/** How long a request that does not end by itself is read before the client hangs up. */
const STREAM_MS = 500;
/** After a client hung up on a waiting request: time for the member to take its key back out. */
const GONE_MS = 1000;
add('lock-grant-sessions', post('/v3/lease/grant', { TTL: '3600', ID: '6000' }), post('/v3/lease/grant', { TTL: '3600', ID: '6001' }));
add('lock-with-lease', lockReq({ name: K('cc/lock'), lease: '6000' }), under('cc/lock'));
add('lock-same-lease-reentrant', lockReq({ name: K('cc/lock'), lease: '6000' }), under('cc/lock'));
addN('lock-lease-not-found', 'the lock is held, yet the put of the key fails first: no waiting', lockReq({ name: K('cc/lock'), lease: '6999' }));
add('lock-lease-as-number', lockReq({ name: K('cc/lock-n'), lease: 6000 }));
add('lock-v3beta', lockReq({ name: K('cc/lock'), lease: '6000' }, '/v3beta/lock/lock'));
add('lock-query-encoding-base64', lockReq({ name: K('cc/lock'), lease: '6000' }, '/v3/lock/lock?encoding=base64'));
addC({
  name: 'lock-lease-zero',
  note: 'a granted 60 s lease: its id (the key name/<id in hex>, the lease) masked; grantedTTL compared; revoked before it could expire',
  mask: ['key', 'lease', 'ID', 'TTL'],
  requests: [lockReq({ name: K('cc/lock-z'), lease: '0' }), post('/v3/lease/timetolive', { ID: '$LEASE' }), under('cc/lock-z'), revokeLearned, under('cc/lock-z')],
});
addC({ name: 'lock-empty-body', note: 'name "" and lease 0: the key /<id in hex>', mask: ['key', 'lease'], requests: [lockReq(''), range({ key: K('/'), range_end: K('0') }), revokeLearned] });
addC({ name: 'lock-empty-object', mask: ['key'], requests: [lockReq('{}'), revokeLearned, range({ key: K('/'), range_end: K('0') })] });
add('lock-malformed-json', lockReq('{"name":'), lockReq('xx'), lockReq('[]'));
add('lock-lease-not-a-number', lockReq({ name: K('cc/lock'), lease: 'abc' }), lockReq({ name: K('cc/lock'), lease: true }), lockReq({ name: K('cc/lock'), lease: '1.5' }));
add('lock-name-not-base64', lockReq({ name: '@@@', lease: '6000' }), lockReq({ name: 5, lease: '6000' }));
add('unlock-held', unlockReq({ key: sessionK('cc/lock', 6000) }), under('cc/lock'));
add('unlock-missing-key', unlockReq({ key: sessionK('cc/lock', 6000) }));
add('unlock-empty-key', unlockReq({}), unlockReq({ key: '' }), unlockReq(''));
add('unlock-v3beta', unlockReq({ key: sessionK('cc/lock-n', 6000) }), post('/v3beta/lock/unlock', { key: sessionK('cc/lock-n', 6000) }));
add('unlock-bad-body', unlockReq('{"key":'), unlockReq({ key: '@@@' }));
add('lock-hold-for-waiter', lockReq({ name: K('cc/wait'), lease: '6000' }));
addN('lock-waiter-gives-up', 'another session waits: no answer; the client hangs up', { ...lockReq({ name: K('cc/wait'), lease: '6001' }), streamMs: STREAM_MS });
addC({ name: 'lock-waiter-key-gone', note: "the waiter's key was put, then deleted when its client went", waitMs: GONE_MS, requests: [under('cc/wait'), unlockReq({ key: sessionK('cc/wait', 6000) })] });
add(
  'lock-election-get-405',
  ...['/v3/lock/lock', '/v3/lock/unlock', '/v3/election/campaign', '/v3/election/proclaim', '/v3/election/leader', '/v3/election/resign', '/v3/election/observe'].map(
    (path): CaseRequest => ({ method: 'GET', path }),
  ),
);
add('campaign-new', elect('campaign', { name: K('cc/elect'), lease: '6000', value: K('v1') }));
add('leader-present', elect('leader', { name: K('cc/elect') }), elect('leader', { name: K('cc/elect') }, '/v3beta'));
add('leader-query-encoding-base64', post('/v3/election/leader?encoding=base64', { name: K('cc/elect') }));
add('campaign-same-lease-same-value', elect('campaign', { name: K('cc/elect'), lease: '6000', value: K('v1') }), under('cc/elect'));
addN('campaign-same-lease-other-value', 'the session campaigned already: it proclaims the new value, and answers the header of its first txn', elect('campaign', { name: K('cc/elect'), lease: 6000, value: K('v2') }), elect('leader', { name: K('cc/elect') }));
add('leader-none', elect('leader', { name: K('cc/none') }), elect('leader', {}), elect('leader', ''));
add('leader-bad-body', elect('leader', '{"name":'), elect('leader', { name: '@@@' }), elect('leader', { name: 1 }));
add(
  'proclaim-leader',
  elect('proclaim', { leader: { name: K('cc/elect'), key: '$KEY', rev: '$REV', lease: '$LEASE' }, value: K('v3') }),
  elect('leader', { name: K('cc/elect') }),
  elect('proclaim', { leader: { name: K('cc/elect'), key: '$KEY', rev: '$REV', lease: '$LEASE' }, value: K('v4') }, '/v3beta'),
);
add('proclaim-wrong-rev', elect('proclaim', { leader: { name: K('cc/elect'), key: '$KEY', rev: '1', lease: '6000' }, value: K('x') }), elect('leader', { name: K('cc/elect') }));
add('proclaim-wrong-key', elect('proclaim', { leader: { name: K('cc/elect'), key: sessionK('cc/elect', 6001), rev: '$REV', lease: '6001' }, value: K('x') }));
add('proclaim-no-leader-field', elect('proclaim', { value: K('x') }), elect('proclaim', {}), elect('proclaim', ''));
add('proclaim-bad-body', elect('proclaim', '{"leader":'), elect('proclaim', { leader: 'x', value: K('x') }), elect('proclaim', { leader: { rev: 'abc' }, value: K('x') }));
add('observe-leader', { ...elect('observe', { name: K('cc/elect') }), streamMs: STREAM_MS });
add('observe-no-leader', { ...elect('observe', { name: K('cc/none') }), streamMs: STREAM_MS });
add('observe-bad-body', { ...elect('observe', '{"name":'), streamMs: STREAM_MS }, { ...elect('observe', { name: '@@@' }), streamMs: STREAM_MS });
add('campaign-lease-not-found', elect('campaign', { name: K('cc/elect'), lease: '6999', value: K('x') }));
add('campaign-bad-body', elect('campaign', '{"name":'), elect('campaign', { name: K('cc/elect'), lease: 'abc' }), elect('campaign', { name: K('cc/elect'), lease: '6000', value: '@@@' }));
addN('campaign-waiter-gives-up', 'another session waits behind the leader: no answer; the client hangs up', { ...elect('campaign', { name: K('cc/elect'), lease: '6001', value: K('w') }), streamMs: STREAM_MS });
addC({ name: 'campaign-waiter-key-gone', note: "the waiter's key was put, then deleted when its client went", waitMs: GONE_MS, requests: [under('cc/elect')] });
add('campaign-v3beta-same-lease', elect('campaign', { name: K('cc/elect'), lease: '6000', value: K('v4') }, '/v3beta'));
add('resign-wrong-rev', elect('resign', { leader: { name: K('cc/elect'), key: sessionK('cc/elect', 6000), rev: '1', lease: '6000' } }), under('cc/elect'));
add('resign-no-leader-field', elect('resign', {}), elect('resign', ''), elect('resign', '{"leader":'));
add('resign-leader', elect('resign', { leader: { name: K('cc/elect'), key: sessionK('cc/elect', 6000), rev: '$REV', lease: '6000' } }), elect('leader', { name: K('cc/elect') }), under('cc/elect'));
add('resign-again', elect('resign', { leader: { name: K('cc/elect'), key: sessionK('cc/elect', 6000), rev: '$REV', lease: '6000' } }, '/v3beta'));
add('observe-after-resign', { ...elect('observe', { name: K('cc/elect') }), streamMs: STREAM_MS });
addC({
  name: 'campaign-lease-zero',
  note: 'a granted 60 s lease: its id (in the key and the lease) masked; revoked before it could expire',
  mask: ['key', 'lease', 'ID', 'TTL'],
  requests: [elect('campaign', { name: K('cc/elect-z'), value: K('z') }), post('/v3/lease/timetolive', { ID: '$LEASE' }), revokeLearned, under('cc/elect-z')],
});
addC({ name: 'campaign-empty-body', mask: ['key', 'lease'], requests: [elect('campaign', ''), elect('leader', ''), revokeLearned, elect('leader', '')] });

export default cases;

/** Throws if two cases share a name or a name is not a safe file name. */
export function checkCases(list: Case[] = cases): void {
  const seen = new Set<string>();
  for (const c of list) {
    if (!/^[a-zA-Z0-9-]+$/.test(c.name)) throw new Error(`bad case name: ${c.name}`);
    if (seen.has(c.name)) throw new Error(`duplicate case name: ${c.name}`);
    seen.add(c.name);
    if (c.requests.length === 0) throw new Error(`case without requests: ${c.name}`);
  }
}
