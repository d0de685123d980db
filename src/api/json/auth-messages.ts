import type { EnumDesc, MessageDesc } from './proto-decode.ts';

/** etcdserverpb's Auth request messages, fields in declaration order (jsonpb reads them that way). */

const PermType: EnumDesc = { goName: 'authpb.Permission_Type', values: { READ: 0, WRITE: 1, READWRITE: 2 } };

const PermissionDesc: MessageDesc = {
  goName: 'authpb.Permission',
  fields: [
    { name: 'permType', prop: 'permType', kind: { enum: PermType } },
    { name: 'key', kind: 'bytes' },
    { name: 'range_end', kind: 'bytes' },
  ],
};

const empty = (goName: string): MessageDesc => ({ goName, fields: [] });
const named = (goName: string, ...names: string[]): MessageDesc => ({ goName, fields: names.map((name) => ({ name, kind: 'string' as const })) });

export const AuthEnableRequestDesc = empty('etcdserverpb.AuthEnableRequest');
export const AuthDisableRequestDesc = empty('etcdserverpb.AuthDisableRequest');
export const AuthStatusRequestDesc = empty('etcdserverpb.AuthStatusRequest');
export const AuthenticateRequestDesc = named('etcdserverpb.AuthenticateRequest', 'name', 'password');
export const AuthUserAddRequestDesc = named('etcdserverpb.AuthUserAddRequest', 'name', 'password');
export const AuthUserGetRequestDesc = named('etcdserverpb.AuthUserGetRequest', 'name');
export const AuthUserDeleteRequestDesc = named('etcdserverpb.AuthUserDeleteRequest', 'name');
export const AuthUserChangePasswordRequestDesc = named('etcdserverpb.AuthUserChangePasswordRequest', 'name', 'password');
export const AuthUserGrantRoleRequestDesc = named('etcdserverpb.AuthUserGrantRoleRequest', 'user', 'role');
export const AuthUserRevokeRoleRequestDesc = named('etcdserverpb.AuthUserRevokeRoleRequest', 'name', 'role');
export const AuthUserListRequestDesc = empty('etcdserverpb.AuthUserListRequest');
export const AuthRoleAddRequestDesc = named('etcdserverpb.AuthRoleAddRequest', 'name');
export const AuthRoleGetRequestDesc = named('etcdserverpb.AuthRoleGetRequest', 'role');
export const AuthRoleListRequestDesc = empty('etcdserverpb.AuthRoleListRequest');
export const AuthRoleDeleteRequestDesc = named('etcdserverpb.AuthRoleDeleteRequest', 'role');
export const AuthRoleGrantPermissionRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.AuthRoleGrantPermissionRequest',
  fields: [
    { name: 'name', kind: 'string' },
    { name: 'perm', kind: { message: () => PermissionDesc } },
  ],
};
export const AuthRoleRevokePermissionRequestDesc: MessageDesc = {
  goName: 'etcdserverpb.AuthRoleRevokePermissionRequest',
  fields: [
    { name: 'role', kind: 'string' },
    { name: 'key', kind: 'bytes' },
    { name: 'range_end', kind: 'bytes' },
  ],
};
