import type { EnumDesc, MessageDesc } from './proto-decode.ts';

/** etcdserverpb's watch request messages, fields in declaration order. */

const FilterType: EnumDesc = { goName: 'etcdserverpb.WatchCreateRequest_FilterType', values: { NOPUT: 0, NODELETE: 1 } };

export const WatchCreateRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.WatchCreateRequest',
  fields: [
    { name: 'key', kind: 'bytes' },
    { name: 'range_end', kind: 'bytes' },
    { name: 'start_revision', kind: 'int64' },
    { name: 'progress_notify', kind: 'bool' },
    { name: 'filters', kind: { repeated: { enum: FilterType } } },
    { name: 'prev_kv', kind: 'bool' },
    { name: 'watch_id', kind: 'int64n' },
    { name: 'fragment', kind: 'bool' },
  ],
};

export const WatchCancelRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.WatchCancelRequest',
  fields: [{ name: 'watch_id', kind: 'int64n' }],
};

export const WatchProgressRequestDesc: MessageDesc = { goName: 'etcdserverpb.WatchProgressRequest', fields: [] };

export const WatchRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.WatchRequest',
  fields: [
    { name: 'create_request', kind: { message: () => WatchCreateRequestDesc }, oneof: true },
    { name: 'cancel_request', kind: { message: () => WatchCancelRequestDesc }, oneof: true },
    { name: 'progress_request', kind: { message: () => WatchProgressRequestDesc }, oneof: true },
  ],
};

export interface WatchCreateRequest {
  key: string;
  rangeEnd: string;
  startRevision: number;
  progressNotify: boolean;
  filters: number[];
  prevKv: boolean;
  watchId: bigint;
  fragment: boolean;
}

export interface WatchRequest {
  createRequest?: WatchCreateRequest;
  cancelRequest?: { watchId: bigint };
  progressRequest?: object;
}
