import type { Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import {
  AuthDisableRequestDesc,
  AuthEnableRequestDesc,
  AuthenticateRequestDesc,
  AuthRoleAddRequestDesc,
  AuthRoleDeleteRequestDesc,
  AuthRoleGetRequestDesc,
  AuthRoleGrantPermissionRequestDesc,
  AuthRoleListRequestDesc,
  AuthRoleRevokePermissionRequestDesc,
  AuthStatusRequestDesc,
  AuthUserAddRequestDesc,
  AuthUserChangePasswordRequestDesc,
  AuthUserDeleteRequestDesc,
  AuthUserGetRequestDesc,
  AuthUserGrantRoleRequestDesc,
  AuthUserListRequestDesc,
  AuthUserRevokeRoleRequestDesc,
} from '../json/auth-messages.ts';
import { authResponse } from '../json/auth-responses.ts';
import type { MessageDesc } from '../json/proto-decode.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';

type Body = Record<string, any>;
type Perm = { permType: number; key: string; rangeEnd: string };

/** Each admin route: its body as the member's auth request (passwords still in the clear: the member hashes them). */
const ADMIN: [string, MessageDesc, (b: Body) => Record<string, unknown>][] = [
  ['/auth/enable', AuthEnableRequestDesc, () => ({ authEnable: {} })],
  ['/auth/disable', AuthDisableRequestDesc, () => ({ authDisable: {} })],
  ['/auth/user/add', AuthUserAddRequestDesc, (b) => ({ userAdd: { name: b.name, password: b.password } })],
  ['/auth/user/get', AuthUserGetRequestDesc, (b) => ({ userGet: { name: b.name } })],
  ['/auth/user/list', AuthUserListRequestDesc, () => ({ userList: {} })],
  ['/auth/user/delete', AuthUserDeleteRequestDesc, (b) => ({ userDelete: { name: b.name } })],
  ['/auth/user/changepw', AuthUserChangePasswordRequestDesc, (b) => ({ userChangePassword: { name: b.name, password: b.password } })],
  ['/auth/user/grant', AuthUserGrantRoleRequestDesc, (b) => ({ userGrantRole: { user: b.user, role: b.role } })],
  ['/auth/user/revoke', AuthUserRevokeRoleRequestDesc, (b) => ({ userRevokeRole: { name: b.name, role: b.role } })],
  ['/auth/role/add', AuthRoleAddRequestDesc, (b) => ({ roleAdd: { name: b.name } })],
  ['/auth/role/get', AuthRoleGetRequestDesc, (b) => ({ roleGet: { role: b.role } })],
  ['/auth/role/list', AuthRoleListRequestDesc, () => ({ roleList: {} })],
  ['/auth/role/delete', AuthRoleDeleteRequestDesc, (b) => ({ roleDelete: { role: b.role } })],
  [
    '/auth/role/grant',
    AuthRoleGrantPermissionRequestDesc,
    (b) => ({ roleGrantPermission: { name: b.name, perm: b.perm ? ({ permType: b.perm.permType, key: b.perm.key, rangeEnd: b.perm.rangeEnd } satisfies Perm) : undefined } }),
  ],
  ['/auth/role/revoke', AuthRoleRevokePermissionRequestDesc, (b) => ({ roleRevokePermission: { role: b.role, key: b.key, rangeEnd: b.rangeEnd } })],
];

/** /v3/auth/*: etcd's Auth service. Every change and read goes through the log as the caller. */
export function authRoutes(app: Hono, g: GatewayContext, member: Member): void {
  gatewayRoute<{ name: string; password: string }>(app, '/auth/authenticate', g, {
    desc: AuthenticateRequestDesc,
    raft: true,
    auth: false,
    async handle(req, _c, enc) {
      const token = await member.auth.authenticate(req.name, req.password);
      return authResponse(member.revision, g.headerInfo(), { token }, enc);
    },
  });
  // etcd 3.5's AuthStatus (3.4 has none): whether auth is on, and the auth revision.
  gatewayRoute<object>(app, '/auth/status', g, {
    desc: AuthStatusRequestDesc,
    raft: false,
    auth: true,
    async handle(_req, _c, enc) {
      return authResponse(member.revision, g.headerInfo(), { enabled: member.auth.enabled, authRevision: member.auth.revision }, enc);
    },
  });
  for (const [path, desc, toRequest] of ADMIN) {
    gatewayRoute<Body>(app, path, g, {
      desc,
      raft: true,
      auth: true,
      async handle(req, _c, enc, ai) {
        const { roles, users, perm } = await member.auth.request(ai, toRequest(req) as never);
        return authResponse(member.revision, g.headerInfo(), { roles, users, perm }, enc);
      },
    });
  }
}
