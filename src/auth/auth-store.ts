import type { EtcdError } from '../errors.ts';
import type { Bytes } from '../mvcc/types.ts';
import { AuthErrors } from './errors.ts';
import { compareNames, searchNames } from './names.ts';
import { RangePermCache } from './range-perm-cache.ts';
import { emptyAuthSnapshot, roleFromSnapshot, roleToSnapshot, type AuthSnapshot } from './snapshot.ts';
import { ROOT_ROLE, ROOT_USER, type AuthInfo, type Permission, type Role, type SharedJwtKey, type User } from './types.ts';

/** What the store tells the token provider when tokens must die (etcd calls its TokenProvider). */
export interface TokenLifecycle {
  /** Auth was turned off: every token is void. */
  disable(): void;
  /** The user was deleted or their password changed: their tokens are void. */
  invalidateUser(username: string): void;
}

/**
 * etcd 3.4's auth state machine (auth/store.go), with no I/O: every member applies the same auth
 * entries in log order and reaches the same state. Each change returns what etcd's response
 * carries or throws etcd's error; the order of checks is etcd's, because it decides which error a
 * client sees when several apply.
 *
 * The auth revision starts at 1 and moves by one on every change that etcd commits: not on auth
 * enable (etcd re-reads it), not on a change that fails, not on a grant of a role the user already
 * has; a permission grant always moves it, even one that only rewrites the same permission.
 */
export class AuthStore {
  private enabledFlag: boolean;
  private rev: number;
  // Lists and snapshots sort these by compareNames: etcd's bbolt buckets hand them out in that order.
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private key: SharedJwtKey | undefined;
  private readonly cache = new RangePermCache((name) => this.roles.get(name));
  private tokens: TokenLifecycle | undefined;

  constructor(snapshot: AuthSnapshot = emptyAuthSnapshot()) {
    if (snapshot.version !== 1) throw new Error(`auth snapshot version ${snapshot.version} is not supported`);
    this.enabledFlag = snapshot.enabled;
    this.rev = snapshot.revision;
    for (const u of snapshot.users) this.users.set(u.name, { name: u.name, password: u.password, roles: [...u.roles].sort(compareNames) });
    for (const r of snapshot.roles) this.roles.set(r.name, roleFromSnapshot(r));
    this.key = snapshot.tokenKey ? { ...snapshot.tokenKey } : undefined;
  }

  /** Replaces the whole state (the member loaded its tables again, or installed a snapshot); the token provider stays. */
  restore(snapshot: AuthSnapshot): void {
    const fresh = new AuthStore(snapshot);
    this.enabledFlag = fresh.enabledFlag;
    this.rev = fresh.rev;
    this.users.clear();
    for (const [k, v] of fresh.users) this.users.set(k, v);
    this.roles.clear();
    for (const [k, v] of fresh.roles) this.roles.set(k, v);
    this.key = fresh.key;
    this.cache.clear();
  }

  /** Token providers hear of disables, deletions and password changes through this. */
  setTokenLifecycle(tokens: TokenLifecycle | undefined): void {
    this.tokens = tokens;
  }

  get revision(): number {
    return this.rev;
  }

  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** The shared JWT key adopted by the auth enable that last turned auth on, if it carried one. */
  get tokenKey(): SharedJwtKey | undefined {
    return this.key;
  }

  private commit(): void {
    this.rev++;
  }

  // ---- changes, applied from the log ----

  /**
   * Turns auth on. A no-op when it is already on (etcd answers success). A shared JWT key proposed
   * with the entry is adopted only when auth actually turns on, so every member adopts the same one.
   */
  authEnable(opts: { tokenKey?: SharedJwtKey } = {}): void {
    if (this.enabledFlag) return;
    const root = this.users.get(ROOT_USER);
    if (!root) throw AuthErrors.rootUserNotExist();
    if (!hasRole(root, ROOT_ROLE)) throw AuthErrors.rootRoleNotExist();
    this.enabledFlag = true;
    if (opts.tokenKey) this.key = { ...opts.tokenKey };
    // No commit: etcd's AuthEnable leaves the revision where it is (a token from before still works).
  }

  authDisable(): void {
    if (!this.enabledFlag) return;
    this.enabledFlag = false;
    this.commit();
    this.tokens?.disable();
  }

  /** passwordHash: a bcrypt hash made by the proposer (password.ts); the log never holds the password. */
  userAdd(name: string, passwordHash: string): void {
    if (name === '') throw AuthErrors.userEmpty();
    if (this.users.has(name)) throw AuthErrors.userAlreadyExist();
    this.users.set(name, { name, password: passwordHash, roles: [] });
    this.commit();
  }

  userDelete(name: string): void {
    // Checked before the user is looked up: deleting root while auth is on is refused even by name.
    if (this.enabledFlag && name === ROOT_USER) throw AuthErrors.invalidAuthMgmt();
    if (!this.users.delete(name)) throw AuthErrors.userNotFound();
    this.commit();
    this.tokens?.invalidateUser(name);
  }

  userChangePassword(name: string, passwordHash: string): void {
    const user = this.users.get(name);
    if (!user) throw AuthErrors.userNotFound();
    this.users.set(name, { ...user, password: passwordHash });
    this.commit();
    this.tokens?.invalidateUser(name);
  }

  userGrantRole(userName: string, role: string): void {
    const user = this.users.get(userName);
    if (!user) throw AuthErrors.userNotFound();
    // The root role needs no definition: etcd grants "root" even when no role of that name exists.
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw AuthErrors.roleNotFound();
    const at = searchNames(user.roles, role);
    if (at >= 0) return; // already granted: success, and the revision stays
    const roles = [...user.roles];
    roles.splice(~at, 0, role);
    this.users.set(userName, { ...user, roles });
    this.commit();
  }

  userRevokeRole(name: string, role: string): void {
    if (this.enabledFlag && name === ROOT_USER && role === ROOT_ROLE) throw AuthErrors.invalidAuthMgmt();
    const user = this.users.get(name);
    if (!user) throw AuthErrors.userNotFound();
    const at = searchNames(user.roles, role);
    if (at < 0) throw AuthErrors.roleNotGranted();
    this.users.set(name, { ...user, roles: user.roles.filter((r) => r !== role) });
    this.commit();
  }

  roleAdd(name: string): void {
    if (name === '') throw AuthErrors.roleEmpty();
    if (this.roles.has(name)) throw AuthErrors.roleAlreadyExist();
    this.roles.set(name, { name, keyPermission: [] });
    this.commit();
  }

  /** Deleting a role takes it from every user who holds it. */
  roleDelete(name: string): void {
    if (this.enabledFlag && name === ROOT_ROLE) throw AuthErrors.invalidAuthMgmt();
    if (!this.roles.delete(name)) throw AuthErrors.roleNotFound();
    for (const user of this.users.values()) {
      if (searchNames(user.roles, name) >= 0) this.users.set(user.name, { ...user, roles: user.roles.filter((r) => r !== name) });
    }
    this.commit();
  }

  /**
   * Adds a permission, or changes the type of an equal one. etcd looks only at the first
   * permission whose key is >= the new key: if that one has the same key and range end it is
   * updated, otherwise the new one is appended and the list re-sorted by key alone. So a role with
   * [a,"") then [a,b) gets a second [a,b) when [a,b) is granted again (real etcd 3.4.23 lists it
   * twice). Kept, because role get shows it and a revoke removes both.
   */
  roleGrantPermission(name: string, perm: Permission | undefined): void {
    if (!perm) throw AuthErrors.permissionNotGiven();
    const role = this.roles.get(name);
    if (!role) throw AuthErrors.roleNotFound();
    const perms = role.keyPermission.map((p) => ({ ...p }));
    const idx = perms.findIndex((p) => p.key >= perm.key);
    if (idx >= 0 && perms[idx].key === perm.key && perms[idx].rangeEnd === perm.rangeEnd) {
      perms[idx].permType = perm.permType;
    } else {
      perms.push({ permType: perm.permType, key: perm.key, rangeEnd: perm.rangeEnd });
      // Stable, as Go's sort.Sort is for the up to 12 elements it insertion-sorts; past 12 Go's
      // pdqsort may order permissions with equal keys differently (only role get would show it).
      perms.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    this.roles.set(name, { name, keyPermission: perms });
    this.commit();
  }

  /** Removes every permission of the role on exactly this key and range end, whatever its type. */
  roleRevokePermission(name: string, key: Bytes, rangeEnd: Bytes): void {
    const role = this.roles.get(name);
    if (!role) throw AuthErrors.roleNotFound();
    const kept = role.keyPermission.filter((p) => p.key !== key || p.rangeEnd !== rangeEnd);
    if (kept.length === role.keyPermission.length) throw AuthErrors.permissionNotGranted();
    this.roles.set(name, { name, keyPermission: kept });
    this.commit();
  }

  /**
   * The apply of an authenticate entry (the password was checked before proposing, see
   * authenticate.ts): the user must still exist. Returns what the token is issued for.
   */
  authenticate(name: string): AuthInfo {
    if (!this.enabledFlag) throw AuthErrors.authNotEnabled();
    if (!this.users.has(name)) throw AuthErrors.authFailed();
    return { username: name, revision: this.rev };
  }

  // ---- reads (etcd 3.4 sends these through the log too, for linearizable answers) ----

  userGet(name: string): { roles: string[] } {
    const user = this.users.get(name);
    if (!user) throw AuthErrors.userNotFound();
    return { roles: [...user.roles] };
  }

  userList(): { users: string[] } {
    return { users: [...this.users.keys()].sort(compareNames) };
  }

  roleGet(name: string): { perm: Permission[] } {
    const role = this.roles.get(name);
    if (!role) throw AuthErrors.roleNotFound();
    return { perm: role.keyPermission.map((p) => ({ ...p })) };
  }

  roleList(): { roles: string[] } {
    return { roles: [...this.roles.keys()].sort(compareNames) };
  }

  hasRole(userName: string, role: string): boolean {
    const user = this.users.get(userName);
    return user !== undefined && searchNames(user.roles, role) >= 0;
  }

  /** For the password check before an authenticate is proposed; undefined when there is no such user. */
  passwordHash(name: string): string | undefined {
    return this.users.get(name)?.password;
  }

  // ---- permission checks: return etcd's error, or undefined when permitted ----
  // They return rather than throw: they run on every request, and most answers are "permitted".

  isPutPermitted(ai: AuthInfo, key: Bytes): EtcdError | undefined {
    return this.isOpPermitted(ai, key, '', true);
  }

  isRangePermitted(ai: AuthInfo, key: Bytes, rangeEnd: Bytes): EtcdError | undefined {
    return this.isOpPermitted(ai, key, rangeEnd, false);
  }

  isDeleteRangePermitted(ai: AuthInfo, key: Bytes, rangeEnd: Bytes): EtcdError | undefined {
    return this.isOpPermitted(ai, key, rangeEnd, true);
  }

  /** Holds the root role. No revision check here: etcd lets an old token do admin work. */
  isAdminPermitted(ai: AuthInfo): EtcdError | undefined {
    if (!this.enabledFlag) return undefined;
    if (ai.username === '') return AuthErrors.userEmpty();
    const user = this.users.get(ai.username);
    if (!user) return AuthErrors.userNotFound();
    if (!hasRole(user, ROOT_ROLE)) return AuthErrors.permissionDenied();
    return undefined;
  }

  private isOpPermitted(ai: AuthInfo, key: Bytes, rangeEnd: Bytes, write: boolean): EtcdError | undefined {
    if (!this.enabledFlag) return undefined;
    // Revision 0 is a request that carried no token.
    if (ai.revision === 0) return AuthErrors.userEmpty();
    if (ai.revision < this.rev) return AuthErrors.authOldRevision();
    const user = this.users.get(ai.username);
    if (!user) return AuthErrors.permissionDenied();
    if (hasRole(user, ROOT_ROLE)) return undefined;
    const perms = this.cache.get(user, this.rev);
    return perms.permits(write, key, rangeEnd) ? undefined : AuthErrors.permissionDenied();
  }

  // ---- snapshot ----

  snapshot(): AuthSnapshot {
    const snap: AuthSnapshot = {
      version: 1,
      enabled: this.enabledFlag,
      revision: this.rev,
      users: [...this.users.values()].sort((a, b) => compareNames(a.name, b.name)).map((u) => ({ name: u.name, password: u.password, roles: [...u.roles] })),
      roles: [...this.roles.values()].sort((a, b) => compareNames(a.name, b.name)).map(roleToSnapshot),
    };
    if (this.key) snap.tokenKey = { ...this.key };
    return snap;
  }
}

function hasRole(user: User, role: string): boolean {
  return searchNames(user.roles, role) >= 0;
}
