import type { Bytes } from '../mvcc/types.ts';

/**
 * authpb.Permission_Type. Kept as the enum's number, not a name: etcd 3.4 stores whatever int32 a
 * client sends (a grant with permType 3 succeeds and grants nothing), and the gateway renders
 * unknown values as numbers, so the store must keep them as given.
 */
export const PermType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermType = number;

export const PERM_TYPE_NAMES: Record<number, string> = { 0: 'READ', 1: 'WRITE', 2: 'READWRITE' };

/** One key permission of a role: a single key (rangeEnd ''), [key, rangeEnd), or from key on (rangeEnd '\0'). */
export interface Permission {
  permType: PermType;
  key: Bytes;
  rangeEnd: Bytes;
}

export interface User {
  name: string;
  /** bcrypt hash. The plaintext never reaches the store: the API layer hashes before proposing. */
  password: string;
  /** Sorted (by UTF-8 bytes, as Go's sort.Strings), without duplicates. */
  roles: string[];
}

export interface Role {
  name: string;
  /** Sorted by key, stably: etcd appends then sorts by key alone (see AuthStore.roleGrantPermission). */
  keyPermission: Permission[];
}

/** Who is asking and at which auth revision their token was issued (etcd's auth.AuthInfo). */
export interface AuthInfo {
  username: string;
  /** 0 means "no credentials": a request that carried no token. */
  revision: number;
}

export const NO_AUTH: AuthInfo = Object.freeze({ username: '', revision: 0 });

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/**
 * The JWT signing key that members share when auth is on without an --auth-token setting (see
 * shared-jwt-key.ts): an Ed25519 seed, proposed with the auth enable that turns auth on and kept in
 * the auth state, so it reaches every member through the log and snapshots.
 */
export interface SharedJwtKey {
  alg: 'EdDSA';
  /** Names the key in tokens' headers, so a rotated key is told apart from the one before. */
  kid: string;
  /** 32 random bytes, base64url. A secret: whoever holds it can sign tokens for any user. */
  seed: string;
}
