// ReadIndex (Raft thesis §6.4): a linearizable read waits until the leader has
// confirmed with a heartbeat round that it is still the leader, then may read
// at the commit index it had when the request arrived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg, RawNode } from '../../src/raft/index.ts';
import { bootStorage, bytes, Cluster, config, entry, ids, newRaft, persist, readMessages, str } from './helpers.ts';

test('ReadIndex: the leader answers a read after one heartbeat round, at its commit index', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.propose('n1', 'x');
  c.node('n1').readIndex(bytes('read-1'));
  const hb = c.raft('n1').msgs.filter((m) => m.type === 'MsgHeartbeat');
  assert.equal(hb.length, 2, 'one heartbeat per follower, carrying the request context');
  assert.equal(str(hb[0].context!), 'read-1');
  c.deliver();
  const rs = c.members.get('n1')!.readStates;
  assert.deepEqual(
    rs.map((s) => [s.index, str(s.requestCtx)]),
    [[c.raft('n1').raftLog.committed, 'read-1']],
  );
});

test('ReadIndex: a follower’s read is forwarded to the leader and answered to the follower', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.propose('n1', 'x');
  c.node('n2').readIndex(bytes('from-n2'));
  c.deliver();
  const rs = c.members.get('n2')!.readStates;
  assert.equal(rs.length, 1);
  assert.equal(str(rs[0].requestCtx), 'from-n2');
  assert.equal(rs[0].index, c.raft('n1').raftLog.committed);
});

test('ReadIndex: many reads are confirmed by one heartbeat round', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  for (let i = 0; i < 10; i++) c.node('n1').readIndex(bytes(`r${i}`));
  const before = c.log.length;
  c.deliver();
  const heartbeats = c.log.slice(before).filter((m) => m.type === 'MsgHeartbeat');
  assert.equal(heartbeats.length, 2, 'one round for ten reads');
  assert.deepEqual(
    c.members.get('n1')!.readStates.map((s) => str(s.requestCtx)),
    Array.from({ length: 10 }, (_, i) => `r${i}`),
  );
});

test('ReadIndex: a read is not answered while the leader cannot reach a quorum', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.isolate('n1');
  c.node('n1').readIndex(bytes('lost'));
  c.deliver();
  assert.deepEqual(c.members.get('n1')!.readStates, []);
});

test('ReadIndex: a new leader holds reads back until it has committed an entry of its term', () => {
  const r = newRaft('a', ['a', 'b', 'c']);
  r.becomeCandidate();
  r.becomeLeader();
  persist(r);
  readMessages(r);
  r.step(msg({ type: 'MsgReadIndex', context: bytes('early') }));
  assert.deepEqual(readMessages(r), [], 'no heartbeat yet');
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: r.term, index: r.raftLog.lastIndex() }));
  const hb = readMessages(r).filter((m) => m.type === 'MsgHeartbeat');
  assert.equal(hb.length, 2);
  assert.equal(str(hb[0].context!), 'early');
  r.step(msg({ type: 'MsgHeartbeatResp', from: 'b', to: 'a', term: r.term, context: bytes('early') }));
  assert.deepEqual(
    r.readStates.map((s) => [s.index, str(s.requestCtx)]),
    [[2, 'early']],
  );
});

test('ReadIndex: a single voter answers at once', () => {
  const c = new Cluster(['solo']);
  c.campaign('solo');
  c.node('solo').readIndex(bytes('r'));
  c.deliver();
  assert.equal(c.members.get('solo')!.readStates.length, 1);
});

test('ReadIndex: a lone voter restarted with a stored commit index behind its log reads only once its new term commits', () => {
  // Its log holds entries 2..5 of term 2, acknowledged before the restart, but the commit index it
  // stored says 2 (a commit index alone is not synced).
  const st = bootStorage(['a']);
  st.append([entry(2, 2, 'w1'), entry(3, 2, 'w2'), entry(4, 2, 'w3'), entry(5, 2, 'w4')]);
  st.setHardState({ term: 2, vote: 'a', commit: 2 });
  const node = new RawNode({ ...config('a', st), asyncStorageWrites: true });
  node.campaign();
  node.readIndex(bytes('after-restart'));
  const rd = node.ready();
  assert.deepEqual(rd.readStates, [], 'no read before an entry of the new term commits: index 2 would miss w2..w4');
  st.append(rd.entries);
  if (rd.hardState) st.setHardState(rd.hardState);
  node.ackPersisted(rd);
  const next = node.ready();
  assert.equal(next.readStates.length, 1);
  assert.ok(next.readStates[0].index >= 6, `read index ${next.readStates[0].index} covers the new term's entry and everything before it`);
});
