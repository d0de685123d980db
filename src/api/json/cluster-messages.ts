import type { EnumDesc, MessageDesc } from './proto-decode.ts';

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

const AlarmAction: EnumDesc = { goName: 'etcdserverpb.AlarmRequest_AlarmAction', values: { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } };
const AlarmType: EnumDesc = { goName: 'etcdserverpb.AlarmType', values: { NONE: 0, NOSPACE: 1, CORRUPT: 2 } };

export const AlarmRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.AlarmRequest',
  fields: [
    { name: 'action', kind: { enum: AlarmAction } },
    { name: 'memberID', prop: 'memberID', kind: 'uint64n' },
    { name: 'alarm', kind: { enum: AlarmType } },
  ],
};
export const DefragmentRequestDesc: MessageDesc = { goName: 'etcdserverpb.DefragmentRequest', fields: [] };
export const HashRequestDesc: MessageDesc = { goName: 'etcdserverpb.HashRequest', fields: [] };
export const HashKVRequestDesc: MessageDesc = { goName: 'etcdserverpb.HashKVRequest', fields: [{ name: 'revision', kind: 'int64' }] };
export const SnapshotRequestDesc: MessageDesc = { goName: 'etcdserverpb.SnapshotRequest', fields: [] };
