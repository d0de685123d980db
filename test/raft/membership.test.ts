// Learners and membership changes, one member at a time, applied through the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrProposalDropped, MemoryStorage } from '../../src/raft/index.ts';
import { Cluster, ids } from './helpers.ts';

test('learners: a learner receives the log but neither votes nor counts towards the commit', () => {
  const c = new Cluster(['n1', 'n2'], {}, ['n3']);
  c.campaign('n1');
  c.propose('n1', 'x');
  assert.deepEqual(c.appliedData('n3'), ['x'], 'the learner gets the log');
  c.isolate('n2');
  c.propose('n1', 'y');
  assert.deepEqual(c.appliedData('n1'), ['x'], 'n1 and the learner are not a quorum of {n1, n2}');
  c.heal();
  c.tickAll(2);
  assert.deepEqual(c.appliedData('n1'), ['x', 'y']);
});

test('learners: a learner never campaigns', () => {
  const c = new Cluster(['n1', 'n2'], {}, ['n3']);
  c.isolate('n3');
  for (let i = 0; i < 100; i++) {
    c.node('n3').tick();
    c.deliver();
  }
  assert.equal(c.raft('n3').role, 'follower');
  assert.equal(c.raft('n3').term, 1);
});

test('membership: a new member joins through the log, is caught up by a snapshot, and counts towards the quorum', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.propose('n1', 'before');
  c.add('n4', new MemoryStorage()); // empty log, no configuration
  c.node('n1').proposeConfChange({ type: 'addNode', nodeId: 'n4' });
  c.deliver();
  c.tickAll(3);
  for (const id of ['n1', 'n2', 'n3', 'n4']) {
    assert.deepEqual(c.node(id).status().confState.voters, ['n1', 'n2', 'n3', 'n4'], id);
  }
  c.propose('n1', 'after');
  assert.deepEqual(c.appliedData('n4'), ['after'], 'n4 started from a snapshot that includes "before"');
  c.isolate('n2');
  c.isolate('n3');
  c.propose('n1', 'needs-3-of-4');
  assert.deepEqual(c.appliedData('n1'), ['before', 'after'], 'two of four is not a quorum');
});

test('membership: a learner is promoted by addNode, and then votes', () => {
  const c = new Cluster(['n1', 'n2'], {}, ['n3']);
  c.campaign('n1');
  c.node('n1').proposeConfChange({ type: 'addNode', nodeId: 'n3' });
  c.deliver();
  c.tickAll(2);
  assert.deepEqual(c.node('n3').status().confState, { voters: ['n1', 'n2', 'n3'], learners: [] });
  c.isolate('n1');
  c.campaign('n3');
  assert.equal(c.leader(), 'n3', 'n3 won with the votes of n2 and itself');
});

test('membership: removing the leader makes it step down, and the rest elect a leader', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.node('n1').proposeConfChange({ type: 'removeNode', nodeId: 'n1' });
  c.deliver();
  c.tickAll(1);
  assert.equal(c.raft('n1').role, 'follower');
  assert.deepEqual(c.node('n2').status().confState.voters, ['n2', 'n3']);
  c.members.delete('n1'); // the removed member shuts down
  c.tickAll(30);
  const lead = c.leader();
  assert.ok(lead === 'n2' || lead === 'n3');
  c.propose(lead, 'x');
  assert.deepEqual(c.appliedData('n2'), ['x']);
});

test('membership: one change at a time — a second change is refused while the first is not applied', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.isolate('n2');
  c.isolate('n3');
  c.node('n1').proposeConfChange({ type: 'addLearner', nodeId: 'n4' });
  assert.throws(() => c.node('n1').proposeConfChange({ type: 'addLearner', nodeId: 'n5' }), (e) => e === ErrProposalDropped);
  c.heal();
  c.tickAll(2);
  assert.deepEqual(c.node('n1').status().confState.learners, ['n4']);
  c.node('n1').proposeConfChange({ type: 'addLearner', nodeId: 'n5' });
  c.deliver();
  assert.deepEqual(c.node('n1').status().confState.learners, ['n4', 'n5']);
});

test('membership: a new leader refuses conf changes until an entry of its term is committed', () => {
  const c = new Cluster(ids(3));
  c.ignored.add('MsgApp');
  c.campaign('n1');
  assert.equal(c.leader(), 'n1');
  assert.throws(() => c.node('n1').proposeConfChange({ type: 'removeNode', nodeId: 'n3' }), (e) => e === ErrProposalDropped);
  c.ignored.clear();
  c.tickAll(2);
  c.node('n1').proposeConfChange({ type: 'removeNode', nodeId: 'n3' });
  c.deliver();
  assert.deepEqual(c.node('n1').status().confState.voters, ['n1', 'n2']);
  c.propose('n1', 'x');
  assert.deepEqual(c.appliedData('n2'), ['x']);
});
