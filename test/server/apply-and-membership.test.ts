import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lessor } from '../../src/lease/lessor.ts';
import { KvStore, revisionRows } from '../../src/mvcc/kv-store.ts';
import { encodeConfChange, type ConfChange, type Entry, type Status } from '../../src/raft/index.ts';
import { AppliedLane } from '../../src/server/applied-lane.ts';
import { AuthStore } from '../../src/auth/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { Alarms } from '../../src/server/alarms.ts';
import { Applier } from '../../src/server/applier.ts';
import { nodeIdOf } from '../../src/server/cluster-ids.ts';
import { Membership } from '../../src/server/membership.ts';
import { Proposals } from '../../src/server/proposals.ts';
import { encodeRaftRequest, type RaftRequest } from '../../src/server/raft-request.ts';
import type { MemberRow } from '../../src/storage/rows.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { MemoryStore } from '../helpers/memory-store.ts';

/** The applier's dispatch and membership's rules, with every neighbour in memory. */

const member = (id: bigint, peer: string, isLearner = false): MemberRow => ({ id, name: `m${id}`, peerUrls: [peer], clientUrls: [], isLearner });

function setup() {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const lessor = new Lessor(1);
  const proposed: { req?: RaftRequest; cc?: ConfChange }[] = [];
  let status: Partial<Status> = { id: nodeIdOf(1n), commit: 100, progress: {} };
  let leader = true;
  const applied: Entry[] = [];
  const lane: AppliedLane = new AppliedLane({ store: store.state, clock, appliedIndex: () => applier.index, revision: () => kv.currentRev, fail: () => {}, failed: () => false });
  const kv = new KvStore({ values: (r) => lane.values(r) }, (rev, changes) => {
    lessor.track(changes);
    lane.record(revisionRows(rev, changes));
  });
  const proposals = new Proposals({
    clock,
    idPrefix: 't',
    propose: () => {},
    proposeConfChange: () => {},
    kick: () => {},
    leaderKnown: () => true,
    stopped: () => false,
    timeoutMs: 1000,
    retryMs: 100,
  });
  const membership = new Membership({
    memberId: () => 1n,
    proposeConfChange: async (cc) => (proposed.push({ cc }), { resp: [] }),
    propose: async (req) => (proposed.push({ req: req as RaftRequest }), { resp: [] }),
    raftStatus: () => status as Status,
    isLeader: () => leader,
    record: (op) => lane.memberOp(op),
  });
  membership.load([member(1n, 'http://a:2380'), member(2n, 'http://b:2380')]);
  const confChanges: number[] = [];
  const alarms = new Alarms();
  const applier: Applier = new Applier({
    kv: { store: kv, leaseExists: (id) => lessor.exists(id) },
    auth: new AuthStore(),
    tokens: () => undefined,
    alarms,
    lessor,
    lane,
    membership,
    proposals,
    clock,
    applyConfChange: (_cc, index) => (confChanges.push(index), { voters: [], learners: [] }),
    log: silentLogger,
  });
  let index = 0;
  const apply = (req: Omit<RaftRequest, 'id'>, id = `other-${index}`) => {
    const e: Entry = { index: ++index, term: 1, type: 'normal', data: encodeRaftRequest({ id, ...req } as RaftRequest) };
    applied.push(e);
    applier.apply(e);
  };
  return { clock, store, lessor, alarms, kv, lane, membership, applier, apply, proposed, confChanges, setStatus: (s: Partial<Status>) => (status = s), setLeader: (l: boolean) => (leader = l), entries: () => index };
}

test('each entry applies once, in order: a replayed index changes nothing', () => {
  const s = setup();
  s.apply({ put: { key: 'a', value: '1', lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
  const again: Entry = { index: 1, term: 1, type: 'normal', data: encodeRaftRequest({ id: 'x', put: { key: 'a', value: '2', lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } }) };
  s.applier.apply(again);
  assert.equal(s.kv.currentRev, 2);
  assert.equal(s.kv.index.getIndex('a')?.latest?.value, '1');
  assert.equal(s.applier.index, 1);
});

test('a lease revoke applied from the log deletes its keys in one revision and records the revoke; the keys left the lease first', () => {
  const s = setup();
  s.apply({ leaseGrant: { ID: 5n, TTL: 10 } });
  for (const k of ['b', 'a']) s.apply({ put: { key: k, value: 'v', lease: 5n, prevKv: false, ignoreValue: false, ignoreLease: false } });
  s.apply({ put: { key: 'c', value: 'v', lease: 5n, prevKv: false, ignoreValue: false, ignoreLease: false } });
  s.apply({ put: { key: 'c', value: 'w', lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
  assert.deepEqual([...s.lessor.get(5n)!.keys].sort(), ['a', 'b'], 'c moved off the lease');
  s.apply({ leaseRevoke: { ID: 5n } });
  assert.equal(s.kv.currentRev, 6);
  assert.equal(s.kv.index.getIndex('a')?.latest, undefined);
  assert.equal(s.kv.index.getIndex('c')?.latest?.value, 'w');
  assert.equal(s.lessor.exists(5n), false);
});

test('a conf change replayed below the applied index reaches raft but not the member list', () => {
  const s = setup();
  s.apply({ put: { key: 'a', value: '1', lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
  s.apply({ put: { key: 'b', value: '1', lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
  const cc = (index: number, id: bigint): Entry => ({ index, term: 1, type: 'confChange', data: encodeConfChange({ type: 'removeNode', nodeId: nodeIdOf(id) }) });
  s.applier.apply(cc(2, 2n));
  assert.deepEqual(s.confChanges, [2]);
  assert.ok(s.membership.get(2n), 'the tables had it: nothing changes');
  s.applier.apply(cc(3, 2n));
  assert.equal(s.membership.get(2n), undefined);
  s.applier.apply(cc(4, 1n));
  assert.equal(s.membership.removed, true, 'removing this member stops its proposals');
});

test("membership checks etcd's rules before proposing anything", async () => {
  const s = setup();
  await assert.rejects(s.membership.add(2n, ['http://z:2380'], false), /member ID already exist/);
  await assert.rejects(s.membership.add(3n, ['http://b:2380'], false), /Peer URLs already exists/);
  await s.membership.add(3n, ['http://c:2380'], true);
  s.membership.load([member(1n, 'http://a:2380'), member(3n, 'http://c:2380', true)]);
  await assert.rejects(s.membership.add(4n, ['http://d:2380'], true), /too many learner members/);
  await assert.rejects(s.membership.remove(9n), /member not found/);
  await assert.rejects(s.membership.promote(1n), /can only promote a learner member$/);
  s.setLeader(false);
  await assert.rejects(s.membership.promote(3n), /not leader/);
  s.setLeader(true);
  s.setStatus({ id: nodeIdOf(1n), commit: 100, progress: { [nodeIdOf(1n)]: { match: 100 }, [nodeIdOf(3n)]: { match: 89 } } as never });
  await assert.rejects(s.membership.promote(3n), /in sync with leader/);
  s.setStatus({ id: nodeIdOf(1n), commit: 100, progress: { [nodeIdOf(1n)]: { match: 100 }, [nodeIdOf(3n)]: { match: 90 } } as never });
  await s.membership.promote(3n);
  await assert.rejects(s.membership.update(1n, ['http://c:2380']), /Peer URLs already exists/);
  assert.deepEqual(
    s.proposed.map((p) => p.cc?.type ?? Object.keys(p.req ?? {})[0]),
    ['addLearner', 'addNode'],
  );
});

test('alarms cap the applier on every member alike: NOSPACE refuses what could grow the database, CORRUPT every write', async () => {
  const s = setup();
  const put = (key: string) => ({ put: { key, value: 'v', lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
  s.apply(put('a'));
  s.apply({ alarm: { action: 1, memberID: 9n, alarm: 1 } });
  assert.equal(s.alarms.has(1), true);
  const before = s.kv.currentRev;
  s.apply(put('b'));
  s.apply({ txn: { compare: [], success: [], failure: [{ requestTxn: { compare: [], success: [{ requestPut: put('c').put }], failure: [] } }] } });
  s.apply({ leaseGrant: { ID: 1n, TTL: 10 } });
  assert.equal(s.kv.currentRev, before, 'no put, nested or not, and no lease grant applied');
  assert.equal(s.lessor.exists(1n), false);
  s.apply({ deleteRange: { key: 'a', rangeEnd: '', prevKv: false } });
  assert.equal(s.kv.currentRev, before + 1, 'deletes still apply: they free space');
  s.apply({ compaction: { revision: s.kv.currentRev, physical: false } });
  assert.equal(s.kv.compactRev, s.kv.currentRev, 'and compaction');
  s.apply({ alarm: { action: 2, memberID: 9n, alarm: 1 } });
  s.apply(put('b'));
  assert.equal(s.kv.currentRev, before + 2, 'disarmed: writes apply again');
  s.apply({ alarm: { action: 1, memberID: 9n, alarm: 2 } });
  s.apply({ deleteRange: { key: 'b', rangeEnd: '', prevKv: false } });
  assert.equal(s.kv.index.getIndex('b')?.latest?.value, 'v', 'CORRUPT refuses deletes too');
  s.lane.flush(true);
  await s.lane.drain();
  assert.equal(s.store.state.meta.get('alarms'), '[["9",2]]', 'the raised alarms are part of the applied state');
});
