import type { Bytes } from '../mvcc/types.ts';
import type { AuthStore } from './auth-store.ts';
import type { AuthInfo, Permission, SharedJwtKey } from './types.ts';

/**
 * The auth part of a raft entry (etcd's InternalRaftRequest auth fields), one field set. Field
 * names follow etcd's protobuf messages, which are not uniform (a grant names the user `user`, a
 * revoke names it `name`), so the gateway can pass decoded bodies straight through. What differs
 * from etcd: passwords arrive hashed (`hashedPassword`, as etcd 3.5 does it), and an auth enable
 * may carry the shared JWT key.
 */
export interface AuthRequest {
  authEnable?: { tokenKey?: SharedJwtKey };
  authDisable?: Record<string, never>;
  /** simpleToken: the random prefix the proposer drew (simple tokens only; '' for JWT). */
  authenticate?: { name: string; simpleToken: string };
  userAdd?: { name: string; hashedPassword: string };
  userDelete?: { name: string };
  userChangePassword?: { name: string; hashedPassword: string };
  userGrantRole?: { user: string; role: string };
  userRevokeRole?: { name: string; role: string };
  userGet?: { name: string };
  userList?: Record<string, never>;
  roleAdd?: { name: string };
  roleDelete?: { role: string };
  roleGet?: { role: string };
  roleList?: Record<string, never>;
  roleGrantPermission?: { name: string; perm?: Permission };
  roleRevokePermission?: { role: string; key: Bytes; rangeEnd: Bytes };
}

/** What an applied auth request answers, beside the header: etcd's response fields. */
export interface AuthResult {
  /** Set by an authenticate: the token is made from it (see tokens.ts). */
  authenticated?: AuthInfo;
  roles?: string[];
  users?: string[];
  perm?: Permission[];
}

/**
 * Applies one auth request as etcd's authApplierV3 does: who asks (the entry header's username
 * and auth revision) must hold the root role for everything but authenticate, user get and role
 * get; a user may get themselves, and a role they hold. Throws etcd's error.
 */
export function applyAuthRequest(store: AuthStore, req: AuthRequest, ai: AuthInfo): AuthResult {
  if (req.authenticate) {
    return { authenticated: store.authenticate(req.authenticate.name) };
  }
  if (req.userGet) {
    const denied = store.isAdminPermitted(ai);
    if (denied && req.userGet.name !== ai.username) throw denied;
    return store.userGet(req.userGet.name);
  }
  if (req.roleGet) {
    const denied = store.isAdminPermitted(ai);
    if (denied && !store.hasRole(ai.username, req.roleGet.role)) throw denied;
    return store.roleGet(req.roleGet.role);
  }
  const denied = store.isAdminPermitted(ai);
  if (denied) throw denied;
  if (req.authEnable) store.authEnable(req.authEnable);
  else if (req.authDisable) store.authDisable();
  else if (req.userAdd) store.userAdd(req.userAdd.name, req.userAdd.hashedPassword);
  else if (req.userDelete) store.userDelete(req.userDelete.name);
  else if (req.userChangePassword) store.userChangePassword(req.userChangePassword.name, req.userChangePassword.hashedPassword);
  else if (req.userGrantRole) store.userGrantRole(req.userGrantRole.user, req.userGrantRole.role);
  else if (req.userRevokeRole) store.userRevokeRole(req.userRevokeRole.name, req.userRevokeRole.role);
  else if (req.userList) return store.userList();
  else if (req.roleAdd) store.roleAdd(req.roleAdd.name);
  else if (req.roleDelete) store.roleDelete(req.roleDelete.role);
  else if (req.roleList) return store.roleList();
  else if (req.roleGrantPermission) store.roleGrantPermission(req.roleGrantPermission.name, req.roleGrantPermission.perm);
  else if (req.roleRevokePermission) store.roleRevokePermission(req.roleRevokePermission.role, req.roleRevokePermission.key, req.roleRevokePermission.rangeEnd);
  else throw new Error('empty auth request');
  return {};
}
