import type { MessageDesc } from './proto-decode.ts';

export const LeaseGrantRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.LeaseGrantRequest',
  fields: [
    { name: 'TTL', prop: 'TTL', kind: 'int64' },
    { name: 'ID', prop: 'ID', kind: 'int64n' },
  ],
};

export const LeaseRevokeRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.LeaseRevokeRequest',
  fields: [{ name: 'ID', prop: 'ID', kind: 'int64n' }],
};

export const LeaseLeasesRequestDesc: MessageDesc = { goName: 'etcdserverpb.LeaseLeasesRequest', fields: [] };

export const LeaseTimeToLiveRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.LeaseTimeToLiveRequest',
  fields: [
    { name: 'ID', prop: 'ID', kind: 'int64n' },
    { name: 'keys', prop: 'keys', kind: 'bool' },
  ],
};

export const LeaseKeepAliveRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.LeaseKeepAliveRequest',
  fields: [{ name: 'ID', prop: 'ID', kind: 'int64n' }],
};
