import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planJoin } from '../../src/cli/join-plan.ts';

const self = { selfName: 'new', selfPeerUrls: ['http://new.vm.app.internal:2380'] };
const members = [
  { ID: '1', name: 'a', peerURLs: ['http://a:2380'], clientURLs: ['http://a:2379'] },
  { ID: 'b2', name: '', peerURLs: ['http://b:2380'] },
];

test('the first machine starts the cluster; a later one never starts a second beside machines it cannot reach', () => {
  assert.deepEqual(planJoin({ ...self, answers: [], othersExist: false }), { kind: 'bootstrap' });
  const p = planJoin({ ...self, answers: [{ url: 'http://[fdaa::2]:2379', error: 'ECONNREFUSED' }], othersExist: true });
  assert.equal(p.kind, 'retry');
  assert.match((p as { reason: string }).reason, /ECONNREFUSED/);
});

test('a new machine is added as a learner through a member that answered, and starts with every member listed', () => {
  const p = planJoin({ ...self, answers: [{ url: 'http://x:2379', error: 'timeout' }, { url: 'http://a:2379', members }], othersExist: true });
  assert.deepEqual(p, { kind: 'join', via: 'http://a:2379', add: true, initialCluster: 'a=http://a:2380,b2=http://b:2380,new=http://new.vm.app.internal:2380' });
});

test('a machine added before it crashed is not added twice', () => {
  const listed = [...members, { ID: '9', name: '', peerURLs: self.selfPeerUrls, isLearner: true }];
  const p = planJoin({ ...self, answers: [{ url: 'http://a:2379', members: listed }], othersExist: true });
  assert.deepEqual(p, { kind: 'join', via: 'http://a:2379', add: false, initialCluster: 'a=http://a:2380,b2=http://b:2380,new=http://new.vm.app.internal:2380' });
});
