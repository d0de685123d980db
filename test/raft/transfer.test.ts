// Leader transfer (Raft thesis §3.10): the leader brings the target up to date,
// then tells it to campaign at once (MsgTimeoutNow).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrProposalDropped } from '../../src/raft/index.ts';
import { bytes, Cluster, ids } from './helpers.ts';

for (const flags of [{}, { preVote: true, checkQuorum: true }]) {
  test(`transfer: leadership moves to an up-to-date follower ${JSON.stringify(flags)}`, () => {
    const c = new Cluster(ids(3), flags);
    c.campaign('n1');
    const term = c.raft('n1').term;
    c.node('n1').transferLeader('n2');
    c.deliver();
    assert.equal(c.leader(), 'n2');
    assert.equal(c.raft('n2').term, term + 1);
    assert.equal(c.raft('n1').role, 'follower');
  });
}

test('transfer: a lagging target is caught up first, and the request can be made on any member', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.isolate('n3');
  c.propose('n1', 'a');
  c.propose('n1', 'b');
  c.heal();
  c.node('n2').transferLeader('n3');
  c.deliver();
  assert.equal(c.leader(), 'n3');
  c.propose('n3', 'c');
  for (const id of ids(3)) assert.deepEqual(c.appliedData(id), ['a', 'b', 'c']);
});

test('transfer: proposals are dropped while a transfer is in progress, and it is abandoned after an election timeout', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.isolate('n3');
  c.node('n1').transferLeader('n3');
  c.deliver();
  assert.equal(c.raft('n1').leadTransferee, 'n3');
  assert.throws(() => c.node('n1').propose(bytes('x')), (e) => e === ErrProposalDropped);
  for (let i = 0; i < c.raft('n1').electionTimeout; i++) {
    c.node('n1').tick();
    c.node('n2').tick();
    c.deliver();
  }
  assert.equal(c.raft('n1').leadTransferee, '');
  assert.equal(c.leader(), 'n1');
  c.propose('n1', 'y');
  assert.deepEqual(c.appliedData('n1'), ['y']);
});
