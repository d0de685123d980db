/**
 * Each gateway route as the gRPC method etcd's gateway calls for it, so request metrics carry
 * etcd's grpc_service and grpc_method labels (grpc_server_handled_total and friends).
 */
const UNARY: Record<string, [string, string]> = {
  '/kv/range': ['KV', 'Range'],
  '/kv/put': ['KV', 'Put'],
  '/kv/deleterange': ['KV', 'DeleteRange'],
  '/kv/txn': ['KV', 'Txn'],
  '/kv/compaction': ['KV', 'Compact'],
  '/lease/grant': ['Lease', 'LeaseGrant'],
  '/lease/revoke': ['Lease', 'LeaseRevoke'],
  '/kv/lease/revoke': ['Lease', 'LeaseRevoke'],
  '/lease/timetolive': ['Lease', 'LeaseTimeToLive'],
  '/kv/lease/timetolive': ['Lease', 'LeaseTimeToLive'],
  '/lease/leases': ['Lease', 'LeaseLeases'],
  '/kv/lease/leases': ['Lease', 'LeaseLeases'],
  '/cluster/member/add': ['Cluster', 'MemberAdd'],
  '/cluster/member/remove': ['Cluster', 'MemberRemove'],
  '/cluster/member/update': ['Cluster', 'MemberUpdate'],
  '/cluster/member/list': ['Cluster', 'MemberList'],
  '/cluster/member/promote': ['Cluster', 'MemberPromote'],
  '/maintenance/alarm': ['Maintenance', 'Alarm'],
  '/maintenance/status': ['Maintenance', 'Status'],
  '/maintenance/defragment': ['Maintenance', 'Defragment'],
  '/maintenance/hash': ['Maintenance', 'Hash'],
  '/maintenance/hashkv': ['Maintenance', 'HashKV'],
  '/maintenance/transfer-leadership': ['Maintenance', 'MoveLeader'],
  '/auth/enable': ['Auth', 'AuthEnable'],
  '/auth/disable': ['Auth', 'AuthDisable'],
  '/auth/status': ['Auth', 'AuthStatus'],
  '/auth/authenticate': ['Auth', 'Authenticate'],
  '/auth/user/add': ['Auth', 'UserAdd'],
  '/auth/user/get': ['Auth', 'UserGet'],
  '/auth/user/list': ['Auth', 'UserList'],
  '/auth/user/delete': ['Auth', 'UserDelete'],
  '/auth/user/changepw': ['Auth', 'UserChangePassword'],
  '/auth/user/grant': ['Auth', 'UserGrantRole'],
  '/auth/user/revoke': ['Auth', 'UserRevokeRole'],
  '/auth/role/add': ['Auth', 'RoleAdd'],
  '/auth/role/get': ['Auth', 'RoleGet'],
  '/auth/role/list': ['Auth', 'RoleList'],
  '/auth/role/delete': ['Auth', 'RoleDelete'],
  '/auth/role/grant': ['Auth', 'RoleGrantPermission'],
  '/auth/role/revoke': ['Auth', 'RoleRevokePermission'],
};

export interface GrpcMethod {
  type: 'unary' | 'bidi_stream' | 'server_stream';
  service: string;
  method: string;
}

/** The gRPC method of a gateway route (the path after /v3 or /v3beta), if it has one. */
export function grpcMethodOf(route: string): GrpcMethod | undefined {
  const u = UNARY[route];
  if (u) return { type: 'unary', service: `etcdserverpb.${u[0]}`, method: u[1] };
  if (route === '/watch') return { type: 'bidi_stream', service: 'etcdserverpb.Watch', method: 'Watch' };
  if (route === '/lease/keepalive') return { type: 'bidi_stream', service: 'etcdserverpb.Lease', method: 'LeaseKeepAlive' };
  if (route === '/maintenance/snapshot') return { type: 'server_stream', service: 'etcdserverpb.Maintenance', method: 'Snapshot' };
  return undefined;
}

/** gRPC's names for its codes, as the metrics' grpc_code label spells them. */
export const GRPC_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];
