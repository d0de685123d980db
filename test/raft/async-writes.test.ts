// Asynchronous storage writes: Readys overlap, each carries only what is new, committed entries
// come only once durable here, and acknowledgements move the log in order. The seeded simulation
// (sim.test.ts) runs half its seeds this way, with crashes that lose the writes in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg, RawNode, type Ready } from '../../src/raft/index.ts';
import { bootStorage, bytes, config, entry, str } from './helpers.ts';

function soloLeader(): RawNode {
  const st = bootStorage(['a']);
  const node = new RawNode({ ...config('a', st), asyncStorageWrites: true });
  node.campaign();
  const rd = node.ready();
  persistReady(node, rd);
  node.ackApplied(rd);
  node.ackPersisted(rd);
  // The empty entry of the new term commits once it is durable.
  while (node.hasReady()) {
    const next = node.ready();
    persistReady(node, next);
    node.ackApplied(next);
    node.ackPersisted(next);
  }
  return node;
}

function persistReady(node: RawNode, rd: Ready): void {
  const st = node.raft.raftLog.storage as ReturnType<typeof bootStorage>;
  if (rd.entries.length) st.append(rd.entries);
  if (rd.hardState) st.setHardState(rd.hardState);
}

const data = (rd: Ready, which: 'entries' | 'committedEntries') => rd[which].filter((e) => e.data.length).map((e) => str(e.data));

test('async writes: a second Ready while the first is written carries only the new entries; commits come once durable', () => {
  const node = soloLeader();
  node.propose(bytes('x'));
  const r1 = node.ready();
  assert.deepEqual(data(r1, 'entries'), ['x']);
  assert.deepEqual(r1.committedEntries, [], 'nothing commits before the leader has written it');

  node.propose(bytes('y'));
  const r2 = node.ready();
  assert.deepEqual(data(r2, 'entries'), ['y'], 'x is being written: not handed out again');
  assert.equal(node.hasReady(), false);

  persistReady(node, r1);
  node.ackPersisted(r1);
  const r3 = node.ready();
  assert.deepEqual(data(r3, 'committedEntries'), ['x'], 'x committed once durable, y is still being written');
  node.ackApplied(r3);

  persistReady(node, r2);
  node.ackPersisted(r2);
  const r4 = node.ready();
  assert.deepEqual(data(r4, 'committedEntries'), ['y']);
  node.ackApplied(r4);
  assert.equal(node.raft.raftLog.applied, r4.committedEntries.at(-1)!.index);
});

test('async writes: committed entries that are not durable here wait (a follower told of a commit first)', () => {
  const st = bootStorage(['a', 'b', 'c']);
  const node = new RawNode({ ...config('b', st), asyncStorageWrites: true });
  // Leader a, term 2, sends entries 2..3 with commit 3.
  node.step(msg({ type: 'MsgApp', from: 'a', to: 'b', term: 2, logTerm: 1, index: 1, commit: 3, entries: [entry(2, 2, 'p'), entry(3, 2, 'q')] }));
  const r1 = node.ready();
  assert.deepEqual(data(r1, 'entries'), ['p', 'q']);
  assert.deepEqual(r1.committedEntries, [], 'committed but still being written');
  persistReady(node, r1);
  node.ackPersisted(r1);
  const r2 = node.ready();
  assert.deepEqual(data(r2, 'committedEntries'), ['p', 'q']);
});

test('async writes: a write of entries replaced meanwhile does not mark the new ones durable', () => {
  const st = bootStorage(['a', 'b', 'c']);
  const node = new RawNode({ ...config('b', st), asyncStorageWrites: true });
  node.step(msg({ type: 'MsgApp', from: 'a', to: 'b', term: 2, logTerm: 1, index: 1, commit: 1, entries: [entry(2, 2, 'old2'), entry(3, 2, 'old3')] }));
  const r1 = node.ready();
  assert.deepEqual(data(r1, 'entries'), ['old2', 'old3']);
  // A new leader of term 3 replaces index 3 while r1 is being written.
  node.step(msg({ type: 'MsgApp', from: 'c', to: 'b', term: 3, logTerm: 2, index: 2, commit: 1, entries: [entry(3, 3, 'new3')] }));
  const r2 = node.ready();
  assert.deepEqual(data(r2, 'entries'), ['new3'], 'the replacement is handed out to be written');
  persistReady(node, r1);
  node.ackPersisted(r1);
  // The write's acknowledgement names (3, term 2), which is no longer in the log: it is ignored
  // (conservative: index 2 counts as durable only with the next acknowledgement).
  assert.ok(node.raft.raftLog.stableLastIndex() < 3, 'new3 must not count as durable before its own write');
  persistReady(node, r2);
  node.ackPersisted(r2);
  assert.equal(node.raft.raftLog.unstable.offset, 4);
  assert.equal(node.raft.raftLog.term(3), 3);
});

test('sync Readys still refuse a second ready() before advance()', () => {
  const st = bootStorage(['a']);
  const node = new RawNode(config('a', st));
  node.campaign();
  node.ready();
  assert.throws(() => node.ready(), /before advance/);
});
