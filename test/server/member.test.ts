import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_AUTH } from '../../src/auth/index.ts';
import { GATHER_MS } from '../../src/server/applied-lane.ts';
import { Member } from '../../src/server/member.ts';
import type { PutResponse, RangeResponse } from '../../src/server/rpc-types.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import * as ops from '../mvcc/ops.ts';
import { MemoryStore } from '../helpers/memory-store.ts';

/**
 * A lone member on in-memory storage under a fake clock: the whole write path (propose, persist,
 * commit, apply, answer), recovery and lease expiry, with no socket and no database.
 */

const settle = async (rounds = 30) => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};
const put = (key: string, value: string, lease = 0n) => ({ put: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } });
const rangeReq = (key: string) => ({ ...ops.rangeReq(key, undefined), serializable: true });
const range = (m: Member, r: ReturnType<typeof rangeReq> & { revision?: number }) => m.keys.range(r, NO_AUTH);

async function lone(store = new MemoryStore(), clock = new FakeClock(1_000)) {
  const m = await Member.open(store, { name: 'm', clock });
  for (let i = 0; i < 50 && !m.isLeader; i++) {
    clock.advance(100);
    await settle();
  }
  assert.ok(m.isLeader, 'a lone voter leads');
  return { m, store, clock };
}

test('a write is answered only once its log entry is durable, then reads see it', async () => {
  const { m, store } = await lone();
  store.log.gate.hold();
  let answered: PutResponse | undefined;
  const p = m.propose<PutResponse>(put('a', '1')).then((a) => (answered = a.resp));
  await settle();
  assert.equal(answered, undefined, 'not answered while its log commit is held');
  assert.equal((await range(m, rangeReq('a'))).kvs.length, 0, 'not applied either');
  store.log.gate.release();
  await p;
  assert.equal(answered!.header.revision, 2);
  const r: RangeResponse = await range(m, rangeReq('a'));
  assert.deepEqual(
    r.kvs.map((kv) => [kv.key, kv.value, kv.modRevision]),
    [['a', '1', 2]],
  );
  await m.close();
});

test('applied rows reach the state store in gathered batches; a restart on the same store recovers every revision', async () => {
  const { m, store, clock } = await lone();
  for (let i = 0; i < 5; i++) await m.propose(put(`k${i % 2}`, `v${i}`));
  assert.equal(store.state.rows.size, 0, 'rows wait up to GATHER_MS for more');
  clock.advance(GATHER_MS);
  await settle();
  assert.equal(store.state.rows.size, 5);
  assert.equal(store.state.meta.get('consistent_index'), String(m.appliedIndex));
  await m.close();
  const again = await lone(store, clock);
  const kvs = (await range(again.m, rangeReq('k0'))).kvs;
  assert.deepEqual(
    kvs.map((kv) => [kv.value, kv.version, kv.createRevision, kv.modRevision]),
    [['v4', 3, 2, 6]],
  );
  const past = await range(again.m, { ...rangeReq('k1'), revision: 3 });
  assert.equal(past.kvs[0].value, 'v1', 'an old revision is read from the stored rows');
  await again.m.close();
});

test('a failed log commit stops the member: the write in flight and every later one fail', async () => {
  const { m, store } = await lone();
  const prevError = console.error;
  console.error = () => {};
  try {
    store.log.gate.failWith = new Error('disk on fire');
    await assert.rejects(m.propose(put('x', '1')), /server stopped/);
    await assert.rejects(m.propose(put('y', '1')), /server stopped/);
    assert.equal(m.healthy(), false);
  } finally {
    console.error = prevError;
  }
  store.log.gate.failWith = undefined;
  await m.close();
});

test('a lease expires on the fake clock: its revoke goes through the log and deletes its key', async () => {
  const { m, store, clock } = await lone();
  await m.propose({ leaseGrant: { ID: 7n, TTL: 2 } });
  await m.propose(put('svc/a', 'addr', 7n));
  clock.advance(1_900);
  await settle();
  assert.equal((await range(m, rangeReq('svc/a'))).kvs.length, 1, 'alive before its TTL');
  assert.equal(await m.leases.renew(7n), 2, 'renewed: 2 s from now');
  clock.advance(1_900);
  await settle();
  assert.equal((await range(m, rangeReq('svc/a'))).kvs.length, 1, 'the renewal moved the expiry');
  clock.advance(200);
  await settle();
  assert.equal((await range(m, rangeReq('svc/a'))).kvs.length, 0, 'gone once the TTL ran out');
  assert.equal(m.lessor.exists(7n), false);
  assert.equal(await m.leases.renew(7n), 0, 'a renewal now finds no lease');
  clock.advance(GATHER_MS);
  await settle();
  assert.equal(store.state.leaseRows.size, 0, 'the revoke reached the tables');
  await m.close();
});

test('auto-compaction runs on the leader through the log (revision mode, every 5 minutes)', async () => {
  const clock = new FakeClock(1_000);
  const store = new MemoryStore();
  const m = await Member.open(store, { name: 'm', clock, autoCompaction: { mode: 'revision', retention: 3 } });
  for (let i = 0; i < 50 && !m.isLeader; i++) {
    clock.advance(100);
    await settle();
  }
  for (let i = 0; i < 6; i++) await m.propose(put('k', `v${i}`));
  assert.equal(m.kv.compactRev, -1);
  for (let i = 0; i < 3000 && m.kv.compactRev < 0; i++) {
    clock.advance(100);
    await settle(3);
  }
  assert.equal(m.kv.compactRev, 7 - 3, 'revision 7 minus a retention of 3');
  clock.advance(10);
  await settle();
  assert.equal(store.state.meta.get('compact_rev'), '4');
  await m.close();
});

test('the quota: a write past it is refused with etcd error and raises NOSPACE; deletes, compaction and disarming bring writes back', async () => {
  const clock = new FakeClock(1_000);
  const store = new MemoryStore();
  const m = await Member.open(store, { name: 'm', clock, quotaBytes: 2_000 });
  for (let i = 0; i < 50 && !m.isLeader; i++) {
    clock.advance(100);
    await settle();
  }
  const big = 'x'.repeat(300);
  let refused: unknown;
  for (let i = 0; i < 10 && !refused; i++) {
    await m.propose(put(`k${i}`, big)).catch((e) => (refused = e));
    clock.advance(1_100); // let the lane commit and the quota measure again
    await settle();
  }
  assert.match(String(refused), /database space exceeded/);
  assert.deepEqual(m.maintenance.raised(), [{ memberID: m.memberId, alarm: 1 }]);
  assert.equal(m.healthy(), false, 'an alarm makes /health false, as etcd 3.4');
  await assert.rejects(m.propose(put('small', 'v')), /database space exceeded/, 'every growing write is refused while the alarm is raised');
  const del = await m.propose<{ header: { revision: number } }>({ deleteRange: { key: 'k', rangeEnd: 'l', prevKv: false } });
  await m.propose({ compaction: { revision: del.resp.header.revision, physical: true } });
  assert.deepEqual(await m.maintenance.alarm(2, m.memberId, 1), [{ memberID: m.memberId, alarm: 1 }]);
  assert.deepEqual(m.maintenance.raised(), []);
  await m.propose(put('after', 'v'));
  await m.close();
});
