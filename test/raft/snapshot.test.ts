// Snapshots and log compaction: the log behind the applied index is replaced
// by a snapshot, and a member too far behind is sent the snapshot instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg, type Snapshot } from '../../src/raft/index.ts';
import { bytes, Cluster, ids, newRaft, readMessages, storageWithTerms, config } from './helpers.ts';
import { Raft } from '../../src/raft/index.ts';

function compact(c: Cluster, id: string): number {
  const m = c.members.get(id)!;
  const applied = c.raft(id).raftLog.applied;
  m.storage.createSnapshot(applied, c.node(id).status().confState, bytes(`state@${applied}`));
  m.storage.compact(applied);
  return applied;
}

test('snapshot: a follower behind the leader’s compacted log is sent a snapshot, then entries', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.isolate('n3');
  for (let i = 0; i < 5; i++) c.propose('n1', `v${i}`);
  const snapIndex = compact(c, 'n1');
  c.heal();
  c.tickAll(3);
  const st3 = c.members.get('n3')!.storage;
  assert.equal(st3.snapshot().metadata.index, snapIndex, 'n3 installed the snapshot');
  assert.equal(new TextDecoder().decode(st3.snapshot().data), `state@${snapIndex}`);
  c.propose('n1', 'after');
  assert.deepEqual(c.appliedData('n3'), ['after'], 'then it follows the log again');
  assert.equal(c.raft('n3').raftLog.lastIndex(), c.raft('n1').raftLog.lastIndex());
});

test('snapshot: the leader tracks the follower in snapshot state until the snapshot is reported', () => {
  const r = new Raft(config('a', storageWithTerms(['a', 'b', 'c'], [1, 1, 1])));
  const st = r.raftLog.storage as import('../../src/raft/index.ts').MemoryStorage;
  st.createSnapshot(3, { voters: ['a', 'b', 'c'], learners: [] }, bytes('s'));
  st.compact(3);
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  // b has nothing: its next probe falls behind the first index, so a snapshot goes out.
  r.trk.progress.get('b')!.next = 2;
  r.trk.progress.get('b')!.recentActive = true;
  r.sendAppend('b');
  const [snap] = readMessages(r);
  assert.equal(snap.type, 'MsgSnap');
  assert.equal(snap.snapshot!.metadata.index, 3);
  assert.equal(r.trk.progress.get('b')!.state, 'snapshot');
  r.sendAppend('b');
  assert.deepEqual(readMessages(r), [], 'paused while the snapshot is in flight');
  r.step(msg({ type: 'MsgSnapStatus', from: 'b', reject: true }));
  assert.equal(r.trk.progress.get('b')!.state, 'probe', 'a failed snapshot goes back to probing');
  assert.equal(r.trk.progress.get('b')!.pendingSnapshot, 0);
});

test('snapshot: a follower installs a newer snapshot, ignores an older one, and fast-forwards on a matching one', () => {
  const snapAt = (index: number, term: number): Snapshot => ({
    metadata: { index, term, confState: { voters: ['a', 'b', 'c'], learners: [] } },
    data: bytes('s'),
  });
  const r = newRaft('a', ['a', 'b', 'c']);
  r.step(msg({ type: 'MsgSnap', from: 'b', to: 'a', term: 2, snapshot: snapAt(10, 2) }));
  assert.equal(r.raftLog.committed, 10);
  assert.equal(r.raftLog.lastIndex(), 10);
  assert.equal(r.raftLog.unstable.snapshot?.metadata.index, 10, 'handed to the application in the next Ready');
  let [resp] = readMessages(r);
  assert.deepEqual([resp.type, resp.index], ['MsgAppResp', 10]);

  r.step(msg({ type: 'MsgSnap', from: 'b', to: 'a', term: 2, snapshot: snapAt(5, 1) }));
  [resp] = readMessages(r);
  assert.equal(r.raftLog.committed, 10, 'older snapshot ignored');
  assert.equal(resp.index, 10);

  const s = new Raft(config('a', storageWithTerms(['a', 'b', 'c'], [1, 1, 1, 1])));
  s.step(msg({ type: 'MsgSnap', from: 'b', to: 'a', term: 2, snapshot: snapAt(4, 1) }));
  assert.equal(s.raftLog.committed, 4, 'we have the entries: only the commit index moves');
  assert.equal(s.raftLog.unstable.snapshot, undefined);
  assert.equal(s.raftLog.lastIndex(), 5);
});

test('snapshot: a restarted member resumes from its snapshot and the entries after it', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  for (let i = 0; i < 4; i++) c.propose('n1', `v${i}`);
  const idx = compact(c, 'n2');
  c.propose('n1', 'tail');
  // restart n2 from its storage only
  const st = c.members.get('n2')!.storage;
  const m = c.add('n2', st);
  assert.equal(m.node.raft.raftLog.firstIndex(), idx + 1);
  assert.equal(m.node.raft.raftLog.committed, c.raft('n1').raftLog.committed);
  c.tickAll(3);
  c.propose('n1', 'more');
  assert.deepEqual(c.appliedData('n2'), ['tail', 'more'], 'entries after the snapshot are applied again, then new ones');
});
