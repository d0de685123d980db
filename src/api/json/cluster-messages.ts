import type { MessageDesc } from './proto-decode.ts';

export const MemberListRequestDesc: MessageDesc = { goName: 'etcdserverpb.MemberListRequest', fields: [] };
export const MemberAddRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.MemberAddRequest',
  fields: [
    { name: 'peerURLs', prop: 'peerURLs', kind: { repeated: 'string' } },
    { name: 'isLearner', prop: 'isLearner', kind: 'bool' },
  ],
};
export const MemberIdRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.MemberRemoveRequest',
  fields: [{ name: 'ID', prop: 'ID', kind: 'uint64n' }],
};
export const MemberUpdateRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.MemberUpdateRequest',
  fields: [
    { name: 'ID', prop: 'ID', kind: 'uint64n' },
    { name: 'peerURLs', prop: 'peerURLs', kind: { repeated: 'string' } },
  ],
};
export const StatusRequestDesc: MessageDesc = { goName: 'etcdserverpb.StatusRequest', fields: [] };
export const MoveLeaderRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.MoveLeaderRequest',
  fields: [{ name: 'targetID', prop: 'targetID', kind: 'uint64n' }],
};
