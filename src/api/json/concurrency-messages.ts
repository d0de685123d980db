import type { MessageDesc } from './proto-decode.ts';

/** v3lockpb and v3electionpb requests, as etcd 3.4's gateway decodes them. */

export const LockRequestDesc: MessageDesc = {
  goName: 'v3lockpb.LockRequest',
  fields: [
    { name: 'name', kind: 'bytes' },
    { name: 'lease', kind: 'int64n' },
  ],
};

export const UnlockRequestDesc: MessageDesc = { goName: 'v3lockpb.UnlockRequest', fields: [{ name: 'key', kind: 'bytes' }] };

export const LeaderKeyDesc: MessageDesc = {
  goName: 'v3electionpb.LeaderKey',
  fields: [
    { name: 'name', kind: 'bytes' },
    { name: 'key', kind: 'bytes' },
    { name: 'rev', kind: 'int64' },
    { name: 'lease', kind: 'int64n' },
  ],
};

export const CampaignRequestDesc: MessageDesc = {
  goName: 'v3electionpb.CampaignRequest',
  fields: [
    { name: 'name', kind: 'bytes' },
    { name: 'lease', kind: 'int64n' },
    { name: 'value', kind: 'bytes' },
  ],
};

export const ProclaimRequestDesc: MessageDesc = {
  goName: 'v3electionpb.ProclaimRequest',
  fields: [
    { name: 'leader', kind: { message: () => LeaderKeyDesc } },
    { name: 'value', kind: 'bytes' },
  ],
};

export const LeaderRequestDesc: MessageDesc = { goName: 'v3electionpb.LeaderRequest', fields: [{ name: 'name', kind: 'bytes' }] };

export const ResignRequestDesc: MessageDesc = { goName: 'v3electionpb.ResignRequest', fields: [{ name: 'leader', kind: { message: () => LeaderKeyDesc } }] };

export interface LeaderKeyJson {
  name: string;
  key: string;
  rev: number;
  lease: bigint;
}
