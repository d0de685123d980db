import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, formatAnomaly, type Anomaly } from './check.ts';
import { checkLinearizable, type Model } from './linearizability.ts';
import { REGISTER_PREFIX, type History, type KvOp, type LeaseRecord, type WatchEvent } from './history.ts';
import { syntheticHistory } from './synthetic.ts';
import { Rng, seedFromEnv } from '../watch/model.ts';

/**
 * The checkers accept correct histories (made up with concurrency, unknown outcomes, broken watch
 * streams) and reject each kind of bug they exist for: a stale read, a lost write, a reordered,
 * gapped or duplicated watch, members that disagree, a lease that outlives its TTL or dies early.
 */

const SEED = seedFromEnv('robustness checker');

const kinds = (as: Anomaly[]) => [...new Set(as.map((a) => a.checker))].sort();
const text = (as: Anomaly[]) => as.map(formatAnomaly).join('\n');

function emptyHistory(): History {
  return { seed: 0, members: 3, keys: [`${REGISTER_PREFIX}x`], electionTimeoutMs: 1000, ops: [], watchers: [], leases: [], faults: [], leaderChanges: [], notes: [] };
}

/** A small correct history on one key: put a, put b, reads; built so each test can break it. */
function twoPuts(): History {
  const h = emptyHistory();
  const k = `${REGISTER_PREFIX}x`;
  h.ops = [
    { id: 0, client: 0, member: 0, kind: 'put', key: k, value: 'a', call: 0, ret: 10, prev: null, rev: 2 },
    { id: 1, client: 1, member: 1, kind: 'get', key: k, call: 12, ret: 20, read: 'a', readMod: 2, rev: 2 },
    { id: 2, client: 0, member: 0, kind: 'put', key: k, value: 'b', call: 30, ret: 40, prev: 'a', rev: 3 },
    { id: 3, client: 1, member: 2, kind: 'get', key: k, call: 50, ret: 60, read: 'b', readMod: 3, rev: 3 },
    { id: 4, client: -1, member: 0, kind: 'get', key: k, call: 100, ret: 101, read: 'b', readMod: 3, rev: 3 },
  ];
  const events: WatchEvent[] = [
    { rev: 2, type: 'PUT', key: k, value: 'a', create: 2, mod: 2, version: 1, prev: null, lease: '' },
    { rev: 3, type: 'PUT', key: k, value: 'b', create: 2, mod: 3, version: 2, prev: 'a', lease: '' },
  ];
  h.finalRevision = 3;
  h.finalHistories = [0, 1, 2].map(() => events.map((e) => ({ ...e })));
  h.finalRanges = [0, 1, 2].map(() => ({ [k]: { value: 'b', mod: 3, create: 2, version: 2 } }));
  h.watchers = [
    {
      id: 0,
      start: 1,
      sessions: [
        { member: 0, start: 1, call: 0, created: 1, events: [events[0]], endReason: 'stream ended' },
        { member: 1, start: 3, call: 45, created: 3, events: [events[1]], endReason: 'harness stopped' },
      ],
    },
  ];
  return h;
}

test('checker: correct made-up histories pass every check', () => {
  const rng = new Rng(SEED);
  for (let i = 0; i < 30; i++) {
    const seed = rng.int(2 ** 31);
    const h = syntheticHistory(seed, { clients: 2 + (i % 6), keys: 1 + (i % 4), ops: 100 + i * 20, unknownRate: i % 3 === 0 ? 0.15 : 0.03 });
    const r = checkHistory(h);
    assert.deepEqual(r.anomalies, [], `synthetic seed ${seed}:\n${text(r.anomalies)}`);
    assert.ok(r.registers.checked > 0 && r.watchEvents > 0);
  }
  const ok = checkHistory(twoPuts());
  assert.deepEqual(ok.anomalies, [], text(ok.anomalies));
});

test('checker: a stale read is rejected (linearizability and revision order)', () => {
  const h = twoPuts();
  // The second read, invoked after put b completed, answers a from a member that is behind.
  Object.assign(h.ops[3], { read: 'a', readMod: 2, rev: 2 });
  const r = checkHistory(h);
  assert.deepEqual(kinds(r.anomalies), ['linearizability', 'revisions'], text(r.anomalies));
  assert.match(text(r.anomalies), /stale read/);
  assert.match(text(r.anomalies), /not linearizable: no order of the operations explains #3/);
});

test('checker: a stale read is rejected even when it lies about its revision', () => {
  const h = twoPuts();
  // Same read, but it claims the current revision: the history contradicts it.
  Object.assign(h.ops[3], { read: 'a', readMod: 2, rev: 3 });
  const r = checkHistory(h);
  assert.ok(kinds(r.anomalies).includes('linearizability'), text(r.anomalies));
  assert.ok(kinds(r.anomalies).includes('revisions'), text(r.anomalies));
});

test('checker: stale reads planted in random correct histories are all found', () => {
  const rng = new Rng(SEED ^ 0x5eed);
  let planted = 0;
  for (let i = 0; i < 40 && planted < 20; i++) {
    const h = syntheticHistory(rng.int(2 ** 31), { clients: 4, keys: 2, ops: 200, unknownRate: 0.05 });
    // A read invoked after a write of another value completed, made to return an older value.
    const reads = h.ops.filter((o) => o.kind === 'get' && o.client >= 0 && o.ret !== undefined);
    const victim = reads.find((g) =>
      h.ops.some((w) => w.key === g.key && w.kind === 'put' && w.ret !== undefined && w.ret < g.call && w.prev !== null && w.prev !== g.read && w.value !== g.read && w.prev !== undefined),
    );
    if (!victim) continue;
    const w = h.ops.find((x) => x.key === victim.key && x.kind === 'put' && x.ret !== undefined && x.ret < victim.call && x.prev !== null && x.prev !== victim.read && x.value !== victim.read)!;
    const old = h.finalHistories![0]!.filter((e) => e.rev < w.rev! && e.key === w.key).pop()!;
    Object.assign(victim, { read: old.value, readMod: old.mod, rev: old.rev });
    planted++;
    const r = checkHistory(h);
    assert.ok(kinds(r.anomalies).includes('linearizability'), `stale read #${victim.id} not caught by the linearizability checker`);
    assert.ok(kinds(r.anomalies).includes('revisions'), `stale read #${victim.id} not caught by the revision order`);
  }
  assert.ok(planted >= 10, `only ${planted} stale reads planted`);
});

test('checker: a lost write is rejected (durability, linearizability, agreement of the key space)', () => {
  const h = twoPuts();
  // put b was acknowledged, but every member forgot it: the history ends at revision 2.
  const k = `${REGISTER_PREFIX}x`;
  h.finalHistories = h.finalHistories!.map((evs) => evs!.filter((e) => e.rev !== 3));
  h.finalRevision = 2;
  h.finalRanges = [0, 1, 2].map(() => ({ [k]: { value: 'a', mod: 2, create: 2, version: 1 } }));
  h.ops[3] = { ...h.ops[3], read: 'b', rev: 3 };
  Object.assign(h.ops[4], { read: 'a', readMod: 2, rev: 2 });
  h.watchers = [];
  const r = checkHistory(h);
  const t = text(r.anomalies);
  assert.ok(kinds(r.anomalies).includes('durability'), t);
  assert.ok(kinds(r.anomalies).includes('linearizability'), t);
  assert.match(t, /acknowledged write lost: the final value "?a"? was written before #2/);
  assert.match(t, /acknowledged writes are not in the final history/);
});

test('checker: a write lost on one member only is rejected (members disagree)', () => {
  const h = twoPuts();
  h.finalHistories![2] = h.finalHistories![2]!.filter((e) => e.rev !== 3);
  h.finalRanges![2] = { [`${REGISTER_PREFIX}x`]: { value: 'a', mod: 2, create: 2, version: 1 } };
  const r = checkHistory(h);
  assert.deepEqual(kinds(r.anomalies), ['agreement'], text(r.anomalies));
  assert.match(text(r.anomalies), /members 0 and 2 disagree/);
  assert.match(text(r.anomalies), /member 2's key space/);
});

test('checker: reordered, missing and duplicated watch events are rejected', () => {
  const h = syntheticHistory(SEED, { clients: 3, keys: 2, ops: 200, watchers: 1 });
  h.watchers[0].start = 1;
  const all = h.finalHistories![0]!;
  const session = (events: WatchEvent[]) => ({ member: 0, start: 1, call: 0, created: 1, events, endReason: 'harness stopped' });
  const check = (events: WatchEvent[]) => {
    h.watchers = [{ id: 0, start: 1, sessions: [session(events)] }];
    return checkHistory(h).anomalies;
  };
  assert.deepEqual(check(all), []);
  const swapped = [...all];
  [swapped[5], swapped[6]] = [swapped[6], swapped[5]];
  const reordered = check(swapped);
  assert.deepEqual(kinds(reordered), ['watch']);
  assert.match(text(reordered), /out of order/);
  const missing = check(all.filter((_, i) => i !== 7));
  assert.deepEqual(kinds(missing), ['watch']);
  assert.match(text(missing), /missed 1 events before revision/);
  const dup = check([...all.slice(0, 9), all[8], ...all.slice(9)]);
  assert.deepEqual(kinds(dup), ['watch']);
  assert.match(text(dup), /duplicate event/);
  const wrong = [...all];
  wrong[3] = { ...wrong[3], prev: 'nonsense' };
  assert.match(text(check(wrong)), /event differs from the history/);
  assert.match(text(check(all.slice(0, all.length - 2))), /fell behind/);
  // A resume that skips ahead is a gap too, even though each session is in order by itself.
  h.watchers = [{ id: 0, start: 1, sessions: [{ ...session(all.slice(0, 10)), endReason: 'stream ended' }, { ...session(all.slice(12)), start: all[12].rev }] }];
  assert.match(text(checkHistory(h).anomalies), /resumed at|missed/);
});

test('checker: an SSE watcher through proxies, resumed on another proxy, is checked event by event', () => {
  const h = syntheticHistory(SEED, { clients: 3, keys: 2, ops: 200, watchers: 1 });
  const all = h.finalHistories![0]!;
  // member -1: the proxy picked the member. A resume starts after the last event received.
  const s = (proxy: number, events: WatchEvent[], start: number, endReason: string) => ({ member: -1, proxy, start, call: 0, ...(start === 1 ? { created: 0 } : {}), events, endReason });
  const check = (sessions: ReturnType<typeof s>[]) => {
    h.watchers = [{ id: 0, via: 'proxy', start: 1, sessions }];
    return checkHistory(h).anomalies;
  };
  const cut = 20;
  const good = [s(0, all.slice(0, cut), 1, 'stream error'), s(1, all.slice(cut), all[cut - 1].rev + 1, 'harness stopped')];
  assert.deepEqual(check(good), []);
  // The other proxy sends the last event again, or starts one event late.
  const again = check([good[0], s(1, all.slice(cut - 1), all[cut - 1].rev + 1, 'harness stopped')]);
  assert.match(text(again), /duplicate event \(session 1, proxy p1\)|out of order.*proxy p1/);
  const late = check([good[0], s(1, all.slice(cut + 1), all[cut - 1].rev + 1, 'harness stopped')]);
  assert.match(text(late), /missed 1 events.*proxy p1/);
});

test('checker: unknown outcomes are allowed either way', () => {
  const h = twoPuts();
  const k = `${REGISTER_PREFIX}x`;
  // put c timed out and was never seen: fine. put d timed out but took effect: a later read shows it.
  h.ops.push({ id: 5, client: 2, member: 1, kind: 'put', key: k, value: 'c', call: 55, error: 'timeout' });
  h.ops.push({ id: 6, client: 3, member: 1, kind: 'put', key: k, value: 'd', call: 61, error: 'timeout' });
  h.ops.push({ id: 7, client: 1, member: 0, kind: 'get', key: k, call: 70, ret: 80, read: 'd', readMod: 4, rev: 4 });
  h.ops[4] = { ...h.ops[4], read: 'd', readMod: 4, rev: 4 };
  const d: WatchEvent = { rev: 4, type: 'PUT', key: k, value: 'd', create: 2, mod: 4, version: 3, prev: 'b', lease: '' };
  h.finalHistories = h.finalHistories!.map((evs) => [...evs!, d]);
  h.finalRevision = 4;
  h.finalRanges = [0, 1, 2].map(() => ({ [k]: { value: 'd', mod: 4, create: 2, version: 3 } }));
  h.watchers[0].sessions[1].events.push(d);
  const r = checkHistory(h);
  assert.deepEqual(r.anomalies, [], text(r.anomalies));
  assert.equal(r.registers.droppedUnknownWrites, 1);
  // But a value read before its write was even invoked is not.
  h.ops[7].call = 56;
  h.ops[6].call = 90;
  assert.ok(kinds(checkHistory(h).anomalies).includes('linearizability'));
});

test('checker: a write applied twice, or one nobody asked for, is rejected', () => {
  const h = twoPuts();
  const k = `${REGISTER_PREFIX}x`;
  const again: WatchEvent = { rev: 4, type: 'PUT', key: k, value: 'b', create: 2, mod: 4, version: 3, prev: 'b', lease: '' };
  const ghost: WatchEvent = { rev: 5, type: 'PUT', key: k, value: 'zzz', create: 2, mod: 5, version: 4, prev: 'b', lease: '' };
  h.finalHistories = h.finalHistories!.map((evs) => [...evs!, again, ghost]);
  h.finalRevision = 5;
  h.finalRanges = [0, 1, 2].map(() => ({ [k]: { value: 'zzz', mod: 5, create: 2, version: 4 } }));
  h.watchers = [];
  const t = text(checkHistory(h).anomalies);
  assert.match(t, /write applied twice/);
  assert.match(t, /phantom write/);
});

test('checker: leases that outlive their TTL, die early, or never expire are rejected', () => {
  const base = (): History => {
    const h = emptyHistory();
    const key = 'l/1';
    h.ops = [{ id: 0, client: 9, member: 0, kind: 'put', key, value: 'lv', lease: '1', call: 1000, ret: 1010, prev: null, rev: 2 }];
    const lease: LeaseRecord = { id: '1', ttl: 3, key, grantCall: 900, grantRet: 950, putOp: 0, renewals: [{ call: 2000, ret: 2010, ttl: 3 }], stoppedAt: 2100 };
    h.leases = [lease];
    const events: WatchEvent[] = [
      { rev: 2, type: 'PUT', key, value: 'lv', create: 2, mod: 2, version: 1, prev: null, lease: '1' },
      { rev: 3, type: 'DELETE', key, value: '', create: 0, mod: 3, version: 0, prev: 'lv', lease: '' },
    ];
    h.finalHistories = [0, 1, 2].map(() => events.map((e) => ({ ...e })));
    h.finalRevision = 3;
    h.finalRanges = [{}, {}, {}];
    return h;
  };
  const probe = (h: History, at: number, present: boolean, rev: number) =>
    h.ops.push({ id: h.ops.length, client: -1, member: 0, kind: 'get', key: 'l/1', call: at, ret: at + 5, read: present ? 'lv' : null, readMod: present ? 2 : 0, rev });
  const ok = base();
  probe(ok, 4000, true, 2);
  probe(ok, 6500, false, 3);
  assert.deepEqual(checkHistory(ok).anomalies, [], text(checkHistory(ok).anomalies));

  // Still there 10 s after its last renewal (TTL 3 s, election 1 s, slack 3 s).
  const late = base();
  probe(late, 12_000, true, 2);
  probe(late, 12_500, false, 3);
  assert.match(text(checkHistory(late).anomalies), /outlived its lease/);
  // A leader change restarts the clock: the same probe is then allowed.
  late.leaderChanges = [{ at: 8000, term: 3, leader: 1 }];
  assert.deepEqual(checkHistory(late).anomalies, [], text(checkHistory(late).anomalies));

  const early = base();
  probe(early, 3500, false, 3);
  assert.match(text(checkHistory(early).anomalies), /key gone early/);

  const never = base();
  never.finalHistories = never.finalHistories!.map((evs) => evs!.slice(0, 1));
  never.finalRevision = 2;
  never.finalRanges = [0, 1, 2].map(() => ({ 'l/1': { value: 'lv', mod: 2, create: 2, version: 1 } }));
  // The final reads, long after the last renewal: the lease had all the time it needed.
  never.ops.push({ id: never.ops.length, client: 1, member: 0, kind: 'get', key: 'r/x', call: 20_000, ret: 20_010, read: null, readMod: 0, rev: 2 });
  assert.match(text(checkHistory(never).anomalies), /never expired/);
  // Leader changes every few seconds up to the end give it its TTL again each time: not an anomaly.
  never.leaderChanges = [5000, 9000, 13_000, 17_000].map((at, i) => ({ at, term: 3 + i, leader: i % 3 }));
  assert.deepEqual(checkHistory(never).anomalies, [], text(checkHistory(never).anomalies));
});

test('linearizability search: the textbook cases', () => {
  // A register with reads and writes; outputs on reads only.
  type Op = { w?: number; r?: number };
  const model: Model<number, Op> = {
    init: () => 0,
    key: (s) => String(s),
    step: (s, o) => (o.w !== undefined ? { ok: true, next: o.w } : { ok: o.r === s, next: s }),
  };
  const T = (call: number, ret: number, op: Op) => ({ call, ret, op });
  // Concurrent write and reads: either order of old/new is fine while they overlap.
  assert.equal(checkLinearizable(model, [T(0, 10, { w: 1 }), T(1, 2, { r: 1 }), T(3, 4, { r: 0 })]).result, 'illegal');
  assert.equal(checkLinearizable(model, [T(0, 10, { w: 1 }), T(1, 2, { r: 0 }), T(3, 4, { r: 1 })]).result, 'ok');
  assert.equal(checkLinearizable(model, [T(0, 10, { w: 1 }), T(1, 12, { r: 1 }), T(3, 14, { r: 0 })]).result, 'ok');
  // An unknown write may happen late, or never.
  assert.equal(checkLinearizable(model, [T(0, Infinity, { w: 1 }), T(5, 6, { r: 0 }), T(7, 8, { r: 1 })]).result, 'ok');
  assert.equal(checkLinearizable(model, [T(0, Infinity, { w: 1 }), T(5, 6, { r: 0 })]).result, 'ok');
  assert.equal(checkLinearizable(model, [T(9, Infinity, { w: 1 }), T(5, 6, { r: 1 })]).result, 'illegal');
  // Many concurrent writers and readers stay tractable thanks to the cache.
  const ops = [];
  for (let i = 0; i < 12; i++) ops.push(T(0, 100, { w: i + 1 }));
  for (let i = 0; i < 12; i++) ops.push(T(101 + i * 2, 102 + i * 2, { r: 12 }));
  const r = checkLinearizable(model, ops);
  assert.equal(r.result, 'ok');
});

export type { KvOp };
