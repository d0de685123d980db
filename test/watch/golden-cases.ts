// Watch conformance cases for etcd 3.4's gateway (POST /v3/watch). Run IN ORDER against ONE fresh
// member: revisions build up. Recorded from real etcd by scripts/record-watch-golden.ts into
// test/watch/golden/, replayed against edgecd by test/watch/gateway-golden.test.ts.
// In step bodies and watch bodies, "$REV" is the revision of the last write step, "$REV-2" two less.

export interface Step {
  path: string;
  body: string;
}

export interface WatchCase {
  name: string;
  note?: string;
  /** Requests made before the watch opens. */
  setup?: Step[];
  /** The whole POST /v3/watch body (sent at once, as curl -d does). */
  body: string;
  method?: string;
  headers?: Record<string, string>;
  /** Requests made once the first answer line arrived. */
  after?: Step[];
  /** Lines to wait for before closing (a short wait follows, to catch extra ones). */
  lines: number;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const j = (o: unknown) => JSON.stringify(o);
const put = (key: string, value: string | Buffer, extra: Record<string, unknown> = {}): Step => ({ path: '/v3/kv/put', body: j({ key: b64(key), value: b64(value), ...extra }) });
const del = (key: string, end?: string): Step => ({ path: '/v3/kv/deleterange', body: j(end === undefined ? { key: b64(key) } : { key: b64(key), range_end: b64(end) }) });
const txn = (ops: unknown[]): Step => ({ path: '/v3/kv/txn', body: j({ success: ops }) });
const compact = (rev: string): Step => ({ path: '/v3/kv/compaction', body: `{"revision":"${rev}","physical":true}` });
const create = (o: Record<string, unknown>) => j({ create_request: o });

const cases: WatchCase[] = [];
const add = (c: WatchCase) => cases.push(c);

add({ name: 'created-only', body: create({ key: b64('w1') }), lines: 1 });
add({ name: 'live-put', body: create({ key: b64('w2') }), after: [put('w2', 'a')], lines: 2 });
add({
  name: 'prev-kv-put-then-delete',
  setup: [put('w3', 'one')],
  body: create({ key: b64('w3'), prev_kv: true }),
  after: [put('w3', 'two', { lease: '0' }), del('w3')],
  lines: 3,
});
add({
  name: 'history-from-revision',
  note: 'created, then every past event in one answer (header revision = current)',
  setup: [put('w4', 'a'), put('w4', 'b'), del('w4'), put('w4', '')],
  body: create({ key: b64('w4'), start_revision: '$REV-3' }),
  lines: 2,
});
add({
  name: 'history-with-prev-kv',
  setup: [put('w5', 'a'), put('w5', 'b'), del('w5'), put('w5', 'c')],
  body: create({ key: b64('w5'), start_revision: '$REV-2', prev_kv: true }),
  lines: 2,
});
add({
  name: 'prefix-txn-atomic',
  note: 'a txn is one answer with all its events; keys outside the prefix are not seen',
  body: create({ key: b64('w6/'), range_end: b64('w60') }),
  after: [
    put('w6/a', '1'),
    put('w6x', 'out'),
    txn([{ request_put: { key: b64('w6/b'), value: b64('2') } }, { request_put: { key: b64('w6/c') } }, { request_delete_range: { key: b64('w6/a') } }]),
    del('w6/', 'w60'),
  ],
  lines: 4,
});
add({
  name: 'from-key',
  body: create({ key: b64('w7'), range_end: 'AA==' }),
  after: [put('w7', '1'), put('w6zz', 'below'), put('w7zzz', '2')],
  lines: 3,
});
add({
  name: 'filters',
  body: create({ key: b64('w8'), filters: ['NOPUT'], watch_id: '1' }) + create({ key: b64('w8'), filters: ['NODELETE'], watch_id: '2' }) + create({ key: b64('w8'), filters: [0, 1], watch_id: '3' }),
  after: [put('w8', 'x'), del('w8')],
  lines: 5,
});
add({
  name: 'watch-ids-chosen-auto-duplicate',
  body:
    create({ key: b64('w9'), watch_id: '3' }) +
    create({ key: b64('w9') }) +
    create({ key: b64('w9') }) +
    create({ key: b64('w9') }) +
    create({ key: b64('w9') }) +
    create({ key: b64('w9'), watch_id: '3' }) +
    create({ key: b64('w9'), watch_id: '-5' }),
  lines: 7,
});
add({
  name: 'cancel-progress-unknown-cancel',
  body: create({ key: b64('w10') }) + create({ key: b64('w10') }) + j({ cancel_request: { watch_id: '0' } }) + j({ cancel_request: { watch_id: '0' } }) + j({ cancel_request: { watch_id: '99' } }) + j({ progress_request: {} }),
  after: [put('w10', 'x')],
  lines: 5,
});
add({
  name: 'empty-key-and-empty-range',
  note: 'an empty key is "\\0"; range_end at or below key cancels with "watcher range is empty"',
  body: create({}) + create({ key: b64('b'), range_end: b64('a') }) + create({ key: b64('b'), range_end: b64('b') }),
  lines: 3,
});
add({
  name: 'future-start-revision',
  note: 'etcd 3.4 accepts a future start_revision and waits for it',
  body: create({ key: b64('w12'), start_revision: '$REV+2' }),
  setup: [put('w12', 'base')],
  after: [put('w12', '1'), put('w12', '2'), put('w12', '3')],
  lines: 3,
});
add({
  name: 'compacted-start-revision',
  setup: [put('w13', 'a'), put('w13', 'b'), del('w13'), put('w13', 'c'), compact('$REV-1')],
  body: create({ key: b64('w13'), start_revision: '$REV-2', watch_id: '4' }) + create({ key: b64('w13'), start_revision: '$REV-1', watch_id: '5' }) + create({ key: b64('w13'), start_revision: '-3', watch_id: '6' }),
  lines: 5,
});
add({
  name: 'malformed-first-item',
  body: 'xx',
  lines: 0,
});
add({ name: 'malformed-later-item', body: create({ key: b64('w15') }) + 'xx' + create({ key: b64('w15') }), after: [put('w15', 'x')], lines: 2 });
add({ name: 'bad-base64', body: create({ key: '!!' }), lines: 0 });
add({ name: 'bad-filter-enum', body: create({ key: b64('w'), filters: ['BAD'] }), lines: 0 });
add({ name: 'bad-int64', body: create({ key: b64('w'), start_revision: 'x' }), lines: 0 });
add({ name: 'array-body', body: '[{"create_request":{"key":"dw=="}}]', lines: 0 });
add({ name: 'null-and-empty-requests-skipped', body: '{}{"create_request":null}null' + create({ key: b64('w16') }), lines: 1 });
add({ name: 'camel-case-names', setup: [put('w17', 'x')], body: j({ createRequest: { key: b64('w17'), watchId: '9', prevKv: true } }), after: [put('w17', 'y')], lines: 2 });
add({ name: 'auth-header-while-auth-off', headers: { authorization: 'sometoken' }, body: create({ key: b64('w18') }) + j({ progress_request: {} }), lines: 2 });
add({ name: 'get-405', method: 'GET', body: '', lines: 0 });
add({
  name: 'fragment',
  note: 'fragment splits answers over max-request-bytes + 512 KiB; values are normalised to their length in the golden file',
  setup: Array.from({ length: 8 }, (_, i) => put(`w19/${i}`, Buffer.alloc(300_000, 97 + i))),
  body: create({ key: b64('w19/'), range_end: b64('w190'), start_revision: '$REV-7', fragment: true, watch_id: '1' }) + create({ key: b64('w19/'), range_end: b64('w190'), start_revision: '$REV-7', watch_id: '2' }),
  lines: 5,
});

export default cases;

export function checkCases(): void {
  const names = new Set<string>();
  for (const c of cases) {
    if (!/^[a-z0-9-]+$/.test(c.name)) throw new Error(`bad case name ${c.name}`);
    if (names.has(c.name)) throw new Error(`duplicate case ${c.name}`);
    names.add(c.name);
  }
}
