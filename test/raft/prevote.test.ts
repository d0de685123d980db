// PreVote (Raft thesis §9.6): a member first asks whether it could win, without
// raising its term, so that a member cut off from the cluster does not disrupt
// it when it comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg } from '../../src/raft/index.ts';
import { Cluster, ids, newRaft, readMessages } from './helpers.ts';

test('PreVote: a pre-candidate asks for votes for the next term without raising its own', () => {
  const r = newRaft('a', ['a', 'b', 'c'], { preVote: true });
  r.step(msg({ type: 'MsgHup', from: 'a' }));
  assert.equal(r.role, 'precandidate');
  assert.equal(r.term, 1, 'term unchanged');
  assert.equal(r.vote, '', 'no vote cast');
  assert.deepEqual(
    readMessages(r).map((m) => [m.type, m.to, m.term]),
    [
      ['MsgPreVote', 'b', 2],
      ['MsgPreVote', 'c', 2],
    ],
  );
  r.step(msg({ type: 'MsgPreVoteResp', from: 'b', to: 'a', term: 2 }));
  assert.equal(r.role, 'candidate', 'a majority of pre-votes starts the real election');
  assert.equal(r.term, 2);
  assert.deepEqual(
    readMessages(r).map((m) => [m.type, m.to, m.term]),
    [
      ['MsgVote', 'b', 2],
      ['MsgVote', 'c', 2],
    ],
  );
});

test('PreVote: granting a pre-vote changes neither the voter’s term nor its vote', () => {
  const r = newRaft('a', ['a', 'b', 'c'], { preVote: true });
  r.step(msg({ type: 'MsgPreVote', from: 'b', to: 'a', term: 5, index: 1, logTerm: 1 }));
  const [m] = readMessages(r);
  assert.equal(m.type, 'MsgPreVoteResp');
  assert.equal(m.reject, false);
  assert.equal(m.term, 5, 'answered with the term asked about');
  assert.equal(r.term, 1);
  assert.equal(r.vote, '');
});

test('PreVote: a rejected pre-candidate goes back to follower in its own term', () => {
  const r = newRaft('a', ['a', 'b', 'c'], { preVote: true });
  r.step(msg({ type: 'MsgHup', from: 'a' }));
  r.step(msg({ type: 'MsgPreVoteResp', from: 'b', to: 'a', term: 1, reject: true }));
  r.step(msg({ type: 'MsgPreVoteResp', from: 'c', to: 'a', term: 1, reject: true }));
  assert.equal(r.role, 'follower');
  assert.equal(r.term, 1);
});

test('PreVote: a member cut off from the cluster does not raise its term, and does not disrupt the leader when it returns', () => {
  const c = new Cluster(ids(3), { preVote: true });
  c.campaign('n1');
  c.propose('n1', 'x');
  const term = c.raft('n1').term;
  c.isolate('n3');
  for (let i = 0; i < 100; i++) {
    c.node('n3').tick();
    c.deliver();
  }
  assert.equal(c.raft('n3').term, term, 'pre-votes failed, so the term stayed');
  c.heal();
  c.tickAll(30);
  assert.equal(c.leader(), 'n1');
  assert.equal(c.raft('n1').term, term, 'no election happened');
  assert.deepEqual(c.appliedData('n3'), ['x']);
});

test('PreVote off: the same member raises its term while cut off and forces an election when it returns', () => {
  const c = new Cluster(ids(3), { preVote: false });
  c.campaign('n1');
  const term = c.raft('n1').term;
  c.isolate('n3');
  for (let i = 0; i < 100; i++) {
    c.node('n3').tick();
    c.deliver();
  }
  assert.ok(c.raft('n3').term > term + 2);
  c.heal();
  c.tickAll(30);
  assert.ok(c.raft('n1').term > term, 'the disruption bumped everyone’s term');
});
