import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ids } from './helpers.ts';

test('single voter elects itself and commits its proposals', () => {
  const c = new Cluster(['a']);
  c.campaign('a');
  assert.equal(c.raft('a').role, 'leader');
  c.propose('a', 'x');
  assert.deepEqual(c.appliedData('a'), ['x']);
});

test('three voters elect a leader and replicate', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  assert.equal(c.leader(), 'n1');
  c.propose('n2', 'hello');
  for (const id of ids(3)) assert.deepEqual(c.appliedData(id), ['hello']);
});
