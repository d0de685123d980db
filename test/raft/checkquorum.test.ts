// CheckQuorum: a leader that has not heard from a quorum within an election
// timeout steps down; followers that heard from a leader recently ignore vote
// requests (the leader lease).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg } from '../../src/raft/index.ts';
import { Cluster, ids, newRaft, readMessages } from './helpers.ts';

test('CheckQuorum: a leader cut off from its quorum steps down after an election timeout', () => {
  const c = new Cluster(ids(3), { checkQuorum: true });
  c.campaign('n1');
  c.tickAll(25);
  assert.equal(c.leader(), 'n1', 'a leader that hears from its quorum stays leader');
  c.isolate('n1');
  for (let i = 0; i < 2 * c.raft('n1').electionTimeout; i++) {
    c.node('n1').tick();
    c.deliver();
  }
  assert.equal(c.raft('n1').role, 'follower');
});

test('CheckQuorum: the majority side elects a new leader and the old one rejoins as a follower', () => {
  const c = new Cluster(ids(5), { checkQuorum: true, preVote: true });
  c.campaign('n1');
  c.partition(['n1', 'n2'], ['n3', 'n4', 'n5']);
  c.tickAll(40);
  const lead = c.leader();
  assert.ok(lead && ['n3', 'n4', 'n5'].includes(lead));
  assert.notEqual(c.raft('n1').role, 'leader', 'the minority side has no leader');
  assert.ok(c.raft('n1').term <= c.raft(lead).term, 'with PreVote, the minority side does not race ahead in terms');
  c.heal();
  c.propose(lead, 'after');
  c.tickAll(5);
  for (const id of ids(5)) assert.deepEqual(c.appliedData(id), ['after']);
});

test('CheckQuorum: a follower within its leader lease ignores a vote request of a higher term', () => {
  const r = newRaft('a', ['a', 'b', 'c'], { checkQuorum: true });
  r.becomeFollower(2, 'b');
  r.step(msg({ type: 'MsgVote', from: 'c', to: 'a', term: 5, index: 9, logTerm: 2 }));
  assert.equal(r.term, 2, 'term unchanged');
  assert.deepEqual(readMessages(r), [], 'no answer at all');
  // Once the lease expired (an election timeout without hearing from b), it votes.
  for (let i = 0; i < r.electionTimeout; i++) r.tick();
  readMessages(r);
  r.step(msg({ type: 'MsgVote', from: 'c', to: 'a', term: 5, index: 9, logTerm: 2 }));
  assert.equal(r.term, 5);
});

test('CheckQuorum: a stale leader learns the new term from a follower’s answer and steps down', () => {
  const r = newRaft('a', ['a', 'b', 'c'], { checkQuorum: true });
  r.becomeCandidate();
  r.becomeLeader();
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: 7 }));
  assert.equal(r.role, 'follower');
  assert.equal(r.term, 7);
});
