import type { EnumDesc, MessageDesc } from './proto-decode.ts';

/** etcdserverpb's KV request messages, fields in declaration order (jsonpb reads them that way). */

const SortOrder: EnumDesc = { goName: 'etcdserverpb.RangeRequest_SortOrder', values: { NONE: 0, ASCEND: 1, DESCEND: 2 } };
const SortTarget: EnumDesc = {
  goName: 'etcdserverpb.RangeRequest_SortTarget',
  values: { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 },
};
const CompareResult: EnumDesc = {
  goName: 'etcdserverpb.Compare_CompareResult',
  values: { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 },
};
const CompareTarget: EnumDesc = {
  goName: 'etcdserverpb.Compare_CompareTarget',
  values: { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 },
};

export const RangeRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.RangeRequest',
  fields: [
    { name: 'key', kind: 'bytes' },
    { name: 'range_end', kind: 'bytes' },
    { name: 'limit', kind: 'int64' },
    { name: 'revision', kind: 'int64' },
    { name: 'sort_order', kind: { enum: SortOrder } },
    { name: 'sort_target', kind: { enum: SortTarget } },
    { name: 'serializable', kind: 'bool' },
    { name: 'keys_only', kind: 'bool' },
    { name: 'count_only', kind: 'bool' },
    { name: 'min_mod_revision', kind: 'int64' },
    { name: 'max_mod_revision', kind: 'int64' },
    { name: 'min_create_revision', kind: 'int64' },
    { name: 'max_create_revision', kind: 'int64' },
  ],
};

export const PutRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.PutRequest',
  fields: [
    { name: 'key', kind: 'bytes' },
    { name: 'value', kind: 'bytes' },
    { name: 'lease', kind: 'int64n' },
    { name: 'prev_kv', kind: 'bool' },
    { name: 'ignore_value', kind: 'bool' },
    { name: 'ignore_lease', kind: 'bool' },
  ],
};

export const DeleteRangeRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.DeleteRangeRequest',
  fields: [
    { name: 'key', kind: 'bytes' },
    { name: 'range_end', kind: 'bytes' },
    { name: 'prev_kv', kind: 'bool' },
  ],
};

export const CompareDesc: MessageDesc = {
  goName: 'etcdserverpb.Compare',
  fields: [
    { name: 'result', kind: { enum: CompareResult } },
    { name: 'target', kind: { enum: CompareTarget } },
    { name: 'key', kind: 'bytes' },
    { name: 'range_end', kind: 'bytes' },
    { name: 'version', kind: 'int64', oneof: true },
    { name: 'create_revision', kind: 'int64', oneof: true },
    { name: 'mod_revision', kind: 'int64', oneof: true },
    { name: 'value', kind: 'bytes', oneof: true },
    { name: 'lease', kind: 'int64n', oneof: true },
  ],
};

export const RequestOpDesc: MessageDesc = {
  goName: 'etcdserverpb.RequestOp',
  fields: [
    { name: 'request_range', kind: { message: () => RangeRequestDesc }, oneof: true },
    { name: 'request_put', kind: { message: () => PutRequestDesc }, oneof: true },
    { name: 'request_delete_range', kind: { message: () => DeleteRangeRequestDesc }, oneof: true },
    { name: 'request_txn', kind: { message: () => TxnRequestDesc }, oneof: true },
  ],
};

export const TxnRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.TxnRequest',
  fields: [
    { name: 'compare', kind: { repeated: { message: () => CompareDesc } } },
    { name: 'success', kind: { repeated: { message: () => RequestOpDesc } } },
    { name: 'failure', kind: { repeated: { message: () => RequestOpDesc } } },
  ],
};

export const CompactionRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.CompactionRequest',
  fields: [
    { name: 'revision', kind: 'int64' },
    { name: 'physical', kind: 'bool' },
  ],
};
