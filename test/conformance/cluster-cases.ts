// Conformance cases that need a cluster: three voters on loopback named m0, m1, m2, run IN ORDER.
// Each request goes to the leader or to a follower (CaseRequest.to), found by asking every
// member's status. Recorded from real etcd by scripts/record-golden.ts into
// test/conformance/golden-cluster/, replayed by test/conformance/cluster.test.ts.
import type { Case, CaseRequest } from './cases.ts';

const to = (member: 'leader' | 'follower', path: string, body: unknown): CaseRequest => ({ method: 'POST', path, body: JSON.stringify(body), to: member });
const cases: Case[] = [];
const add = (name: string, note: string | undefined, ...requests: CaseRequest[]) => cases.push({ name, ...(note ? { note } : {}), anyMember: true, requests });

const STATUS_MASK = ['dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex', 'raftTerm'];

add('member-list-on-follower', undefined, to('follower', '/v3/cluster/member/list', {}));
cases.push({ name: 'status-on-follower', anyMember: true, mask: STATUS_MASK, requests: [to('follower', '/v3/maintenance/status', {})] });
add('transfer-leadership-on-follower', 'only the leader can hand leadership over', to('follower', '/v3/maintenance/transfer-leadership', { targetID: '1' }));
add('add-learner-on-follower', undefined, to('follower', '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'], isLearner: true }));
add(
  'promote-learner-not-ready',
  'a follower forwards a promote to the leader, which judges whether the learner caught up',
  to('follower', '/v3/cluster/member/promote', { ID: '$ADDED' }),
  to('leader', '/v3/cluster/member/promote', { ID: '$ADDED' }),
);
add('promote-voter-on-follower', undefined, to('follower', '/v3/cluster/member/promote', { ID: '$FOLLOWER' }));
add('promote-unknown-on-follower', undefined, to('follower', '/v3/cluster/member/promote', { ID: '1' }));
add('remove-unknown-on-follower', undefined, to('follower', '/v3/cluster/member/remove', { ID: '1' }));
add('remove-learner-on-follower', undefined, to('follower', '/v3/cluster/member/remove', { ID: '$ADDED' }));
add('transfer-leadership-to-follower', 'the leader hands over to a follower: {} once the follower leads', to('leader', '/v3/maintenance/transfer-leadership', { targetID: '$FOLLOWER' }));
// Stops a follower for good: cases after this one run on two members.
cases.push({
  name: 'reconfig-with-a-member-down',
  note: 'one follower stopped: removing the live follower would leave one connected voter of three, and adding (learner or voter) needs every voter connected: unhealthy cluster',
  anyMember: true,
  stopFollower: true,
  waitMs: 2000,
  requests: [
    to('leader', '/v3/cluster/member/remove', { ID: '$FOLLOWER' }),
    to('follower', '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:2'], isLearner: true }),
    to('leader', '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:3'] }),
  ],
});

export default cases;
