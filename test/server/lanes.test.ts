import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, type Entry, type Ready } from '../../src/raft/index.ts';
import { AppliedLane, BATCH_BYTES, BATCH_ROWS, GATHER_MS } from '../../src/server/applied-lane.ts';
import { LogLane } from '../../src/server/log-lane.ts';
import { LogRetention } from '../../src/server/log-retention.ts';
import type { RevisionRow } from '../../src/storage/rows.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { MemoryStore } from '../helpers/memory-store.ts';

/** The log lane, the applied lane and log retention over in-memory storage and a fake clock. */

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};
const row = (main: number, key: string, value = 'v'): RevisionRow => ({ main, sub: 0, key, value, createRev: main, version: 1, lease: 0n, tombstone: false });
const entry = (index: number, term = 1): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });
const ready = (p: Partial<Ready>): Ready => ({ readStates: [], entries: [], committedEntries: [], messages: [], mustSync: false, ...p }) as Ready;

function appliedLane(store = new MemoryStore(), clock = new FakeClock()) {
  let applied = 0;
  let failure: unknown;
  const lane = new AppliedLane({
    store: store.state,
    clock,
    appliedIndex: () => applied,
    revision: () => 1 + applied,
    fail: (e) => (failure = e),
    failed: () => failure !== undefined,
  });
  return { lane, store, clock, apply: (i: number) => (applied = i), failure: () => failure };
}

test('applied rows wait up to GATHER_MS for company, a full batch (rows or bytes) or a compaction goes at once, and history reads see them meanwhile', async () => {
  const { lane, store, clock, apply } = appliedLane();
  lane.record([row(2, 'a', 'one')]);
  apply(2);
  lane.flush();
  await settle();
  assert.equal(store.state.commits, 0, 'gathering');
  assert.deepEqual((await lane.rowsBetween(0, 2, 10)).map((r) => r.value), ['one'], 'unflushed rows are served from memory');
  assert.equal((await lane.values([{ main: 2, sub: 0 }])).get('2.0')?.value, 'one');
  clock.advance(GATHER_MS - 1);
  await settle();
  assert.equal(store.state.commits, 0, 'still gathering');
  clock.advance(1);
  await settle();
  assert.equal(store.state.commits, 1);
  assert.equal(lane.persisted, 2);
  lane.record(Array.from({ length: BATCH_ROWS - 1 }, (_, i) => row(3 + i, `k${i}`)));
  apply(BATCH_ROWS + 1);
  lane.flush();
  await settle();
  assert.equal(store.state.commits, 1, 'one row short of a batch gathers');
  lane.record([row(BATCH_ROWS + 2, 'z')]);
  apply(BATCH_ROWS + 2);
  lane.flush();
  await settle();
  assert.equal(store.state.commits, 2, 'a full batch needs no gathering');
  lane.record([row(BATCH_ROWS + 3, 'big', 'x'.repeat(BATCH_BYTES))]);
  apply(BATCH_ROWS + 3);
  lane.flush();
  await settle();
  assert.equal(store.state.commits, 3, 'nor does a batch as large as BATCH_BYTES');
  const compacted = lane.compact(500);
  apply(BATCH_ROWS + 4);
  lane.flush();
  await compacted;
  assert.equal(store.state.meta.get('compact_rev'), '500');
  assert.deepEqual((await lane.rowsBetween(0, 10, 100)).map((r) => r.key), ['a', 'k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'], "compaction keeps each key's newest revision");
});

test('a held state commit keeps rows readable from memory; a failed one fails the member', async () => {
  const { lane, store, apply, failure } = appliedLane();
  store.state.gate.hold();
  lane.record([row(2, 'a')]);
  apply(2);
  lane.flush(true);
  lane.record([row(3, 'b')]);
  apply(3);
  lane.flush(true);
  await settle();
  assert.deepEqual((await lane.rowsBetween(1, 3, 10)).map((r) => r.key), ['a', 'b']);
  store.state.gate.release();
  await lane.drain();
  assert.equal(lane.persisted, 3);
  assert.equal(store.state.rows.size, 2);
  store.state.gate.failWith = new Error('gone');
  lane.record([row(4, 'c')]);
  apply(4);
  lane.flush(true);
  await settle();
  assert.match(String(failure()), /gone/);
});

test('the log lane writes only what raft must have durable, replaces a conflicting suffix, and counts applied state durable after a synchronous commit', async () => {
  const store = new MemoryStore();
  const { lane: applied } = appliedLane(store);
  const log = new LogLane(store.log, applied);
  await log.persist(ready({ readStates: [{ index: 1, requestCtx: new Uint8Array() }] }), undefined);
  await log.persist(ready({ hardState: { term: 1, vote: '', commit: 3 }, mustSync: false }), undefined);
  assert.equal(store.log.commits, 0, 'read states and a commit index alone write nothing');
  await log.persist(ready({ entries: [entry(1), entry(2), entry(3)], hardState: { term: 1, vote: 'a', commit: 0 }, mustSync: true }), undefined);
  assert.deepEqual([...store.log.entries.keys()], [1, 2, 3]);
  applied.persisted = 3;
  await log.persist(ready({ entries: [entry(2, 2)], mustSync: true }), undefined);
  assert.deepEqual(
    [...store.log.entries.values()].map((e) => [e.index, e.term]),
    [
      [1, 1],
      [2, 2],
    ],
    'a follower overwriting from index 2 drops what followed',
  );
  assert.equal(applied.durable, 3, 'the synchronous commit flushed the applied state committed before it');
  await log.persist(ready({}), { index: 2, term: 2, confState: { voters: ['a'], learners: [] } });
  assert.deepEqual([...store.log.entries.keys()], [], 'a snapshot taken here truncates the log behind it');
  assert.equal(store.log.snapshot?.index, 2);
});

test('log retention keeps the last entries behind the durable applied index and records a snapshot where it cuts', () => {
  const storage = new MemoryStorage();
  storage.append(Array.from({ length: 3000 }, (_, i) => entry(i + 1)));
  let durable = 0;
  const r = new LogRetention({ storage, count: 500, persisted: () => durable, durable: () => durable });
  r.appended(Array.from({ length: 3000 }, (_, i) => entry(i + 1)));
  durable = 1000;
  r.maybeSnapshot();
  assert.equal(r.hasPending, false, 'not worth cutting yet (500 kept, cut in steps of 500)');
  durable = 2500;
  r.maybeSnapshot();
  assert.equal(storage.firstIndex(), 2001, '500 entries kept behind the durable index');
  assert.equal(r.takePending()?.index, 2000);
  r.confChanged(2600, { voters: ['a', 'b'], learners: [] });
  r.maybeSnapshot();
  assert.equal(r.hasPending, false, 'a conf change is snapshotted once the tables hold it');
  durable = 2600;
  r.maybeSnapshot();
  assert.deepEqual(r.takePending(), { index: 2600, term: 1, confState: { voters: ['a', 'b'], learners: [] } });
});
