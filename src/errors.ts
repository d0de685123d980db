/** gRPC status codes, as etcd's gateway reports them in an error body's "code". */
export const Code = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** An error a client sees: etcd's message text and its gRPC code. */
export class EtcdError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

const e = (code: Code, msg: string) => () => new EtcdError(code, msg);

export const Errors = {
  emptyKey: e(Code.InvalidArgument, 'etcdserver: key is not provided'),
  keyNotFound: e(Code.InvalidArgument, 'etcdserver: key not found'),
  valueProvided: e(Code.InvalidArgument, 'etcdserver: value is provided'),
  leaseProvided: e(Code.InvalidArgument, 'etcdserver: lease is provided'),
  tooManyOps: e(Code.InvalidArgument, 'etcdserver: too many operations in txn request'),
  duplicateKey: e(Code.InvalidArgument, 'etcdserver: duplicate key given in txn request'),
  compacted: e(Code.OutOfRange, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: e(Code.OutOfRange, 'etcdserver: mvcc: required revision is a future revision'),
  noSpace: e(Code.ResourceExhausted, 'etcdserver: mvcc: database space exceeded'),
  corrupt: e(Code.DataLoss, 'etcdserver: corrupt cluster'),
  leaseNotFound: e(Code.NotFound, 'etcdserver: requested lease not found'),
  leaseExist: e(Code.FailedPrecondition, 'etcdserver: lease already exists'),
  leaseTTLTooLarge: e(Code.OutOfRange, 'etcdserver: too large lease TTL'),
  requestTooLarge: e(Code.InvalidArgument, 'etcdserver: request is too large'),
  requestTimeout: e(Code.Unavailable, 'etcdserver: request timed out'),
  noLeader: e(Code.Unavailable, 'etcdserver: no leader'),
  leaderChanged: e(Code.Unavailable, 'etcdserver: leader changed'),
  stopped: e(Code.Unavailable, 'etcdserver: server stopped'),
  notCapable: e(Code.Unavailable, 'etcdserver: not capable'),
  memberNotFound: e(Code.NotFound, 'etcdserver: member not found'),
  memberExist: e(Code.FailedPrecondition, 'etcdserver: member ID already exist'),
  peerURLExist: e(Code.FailedPrecondition, 'etcdserver: Peer URLs already exists'),
  memberBadURLs: e(Code.InvalidArgument, 'etcdserver: given member URLs are invalid'),
  memberNotLearner: e(Code.FailedPrecondition, 'etcdserver: can only promote a learner member'),
  learnerNotReady: e(Code.FailedPrecondition, 'etcdserver: can only promote a learner member which is in sync with leader'),
  tooManyLearners: e(Code.FailedPrecondition, 'etcdserver: too many learner members in cluster'),
  notEnoughStarted: e(Code.FailedPrecondition, 'etcdserver: re-configuration failed due to not enough started members'),
  notLeader: e(Code.FailedPrecondition, 'etcdserver: not leader'),
  badLeaderTransferee: e(Code.FailedPrecondition, 'etcdserver: bad leader transferee'),
  unhealthy: e(Code.Unavailable, 'etcdserver: unhealthy cluster'),
  permissionDenied: e(Code.PermissionDenied, 'etcdserver: permission denied'),
  invalidAuthToken: e(Code.Unauthenticated, 'etcdserver: invalid auth token'),
  authNotEnabled: e(Code.FailedPrecondition, 'etcdserver: authentication is not enabled'),
  authFailed: e(Code.InvalidArgument, 'etcdserver: authentication failed, invalid user ID or password'),
};

/**
 * etcd's lock and election servers call the KV and lease services through an in-process client,
 * which turns a gRPC status into a plain error: the caller gets code 2 (HTTP 500) with the same
 * text. Recorded from etcd 3.4.23 (a lock with an unknown lease: 500, code 2).
 */
export function viaClient(err: unknown): unknown {
  return err instanceof EtcdError && err.code !== Code.Unknown ? new EtcdError(Code.Unknown, err.message) : err;
}
