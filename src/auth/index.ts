/**
 * edgecd's auth: etcd 3.4's users, roles, permissions and tokens, pure and deterministic (no
 * I/O, no timers; time and randomness are handed in). README.md beside this file says how the
 * member, the storage and the gateway use it.
 */
export { AuthStore, type TokenLifecycle } from './auth-store.ts';
export { AuthErrors, AuthConfigError, AuthConfigErrors } from './errors.ts';
export { PermType, PERM_TYPE_NAMES, NO_AUTH, ROOT_ROLE, ROOT_USER, type AuthInfo, type Permission, type Role, type SharedJwtKey, type User } from './types.ts';
export { emptyAuthSnapshot, type AuthSnapshot, type SnapshotPermission, type SnapshotRole } from './snapshot.ts';
export { applyAuthRequest, type AuthRequest, type AuthResult } from './requests.ts';
export { checkDeleteRange, checkLeaseRevoke, checkPut, checkRange, checkTxn, type DeleteLike, type KeyRange, type LeaseKeys, type PutLike, type RequestOpLike, type TxnLike } from './request-perms.ts';
export { verifyPassword } from './authenticate.ts';
export { BCRYPT_DEFAULT_COST, BCRYPT_MAX_COST, BCRYPT_MIN_COST, bcryptCostOrDefault, checkPassword, dummyHash, hashPassword } from './password.ts';
export { checkRevisionAfterRead, checkTokenRevision, NoTokens, type MaybePromise, type TokenGrant, type TokenInfo, type TokenProvider } from './tokens.ts';
export { SimpleTokens, SIMPLE_TOKEN_TTL_DEFAULT_MS } from './simple-tokens.ts';
export { JwtTokens } from './jwt-tokens.ts';
export { JWT_SIGN_METHODS, loadJwtKeys, type JwtKeys, type JwtSignMethod } from './jwt-keys.ts';
export { JWT_DEFAULT_TTL_MS, parseAuthTokenFlag, type AuthTokenFlag } from './token-flag.ts';
export { generateSharedJwtKey, SharedKeyTokens, sharedJwtKeys, sharedJwtPublicJwk } from './shared-jwt-key.ts';
export { createTokenProvider } from './token-provider.ts';
