import { Code, EtcdError, Errors } from '../errors.ts';

/**
 * etcd 3.4's auth errors as a client sees them (rpctypes/error.go: gRPC code and message), each
 * checked against a live etcd 3.4.23 (test/auth/fixtures/etcd-3.4.23-auth.json). The four that
 * src/errors.ts already has are reused, so one error has one definition.
 */
const e = (code: Code, msg: string) => () => new EtcdError(code, msg);

export const AuthErrors = {
  rootUserNotExist: e(Code.FailedPrecondition, 'etcdserver: root user does not exist'),
  rootRoleNotExist: e(Code.FailedPrecondition, 'etcdserver: root user does not have root role'),
  userAlreadyExist: e(Code.FailedPrecondition, 'etcdserver: user name already exists'),
  userEmpty: e(Code.InvalidArgument, 'etcdserver: user name is empty'),
  userNotFound: e(Code.FailedPrecondition, 'etcdserver: user name not found'),
  roleAlreadyExist: e(Code.FailedPrecondition, 'etcdserver: role name already exists'),
  roleNotFound: e(Code.FailedPrecondition, 'etcdserver: role name not found'),
  roleEmpty: e(Code.InvalidArgument, 'etcdserver: role name is empty'),
  authFailed: Errors.authFailed,
  permissionDenied: Errors.permissionDenied,
  roleNotGranted: e(Code.FailedPrecondition, 'etcdserver: role is not granted to the user'),
  permissionNotGranted: e(Code.FailedPrecondition, 'etcdserver: permission is not granted to the role'),
  authNotEnabled: Errors.authNotEnabled,
  invalidAuthToken: Errors.invalidAuthToken,
  invalidAuthMgmt: e(Code.InvalidArgument, 'etcdserver: invalid auth management'),
  authOldRevision: e(Code.InvalidArgument, 'etcdserver: revision of auth store is old'),
  /** etcd 3.5's answer to a grant without a permission; etcd 3.4.23 dereferences nil and crashes. */
  permissionNotGiven: e(Code.InvalidArgument, 'etcdserver: permission not given'),
  /** Not in etcd's error table, so the gateway answers it as code 2 (HTTP 500) with auth's own text. */
  verifyOnly: e(Code.Unknown, 'auth: token signing attempted with verify-only key'),
};

/** A bad --auth-token setting or key file: stops the member at start-up, never reaches a client. */
export class AuthConfigError extends Error {}

export const AuthConfigErrors = {
  invalidAuthOpts: () => new AuthConfigError('auth: invalid auth options'),
  invalidAuthMethod: () => new AuthConfigError('auth: invalid auth signature method'),
  missingKey: () => new AuthConfigError('auth: missing key data'),
  keyMismatch: () => new AuthConfigError("auth: public and private keys don't match"),
};
