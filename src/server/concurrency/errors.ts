import { Code, EtcdError } from '../../errors.ts';
export { viaClient } from '../../errors.ts';

/** concurrency.ErrElectionNotLeader. */
export const notLeader = () => new EtcdError(Code.Unknown, 'election: not leader');
/** concurrency.ErrElectionNoLeader. */
export const noLeader = () => new EtcdError(Code.Unknown, 'election: no leader');
/** v3election.ErrMissingLeaderKey. */
export const missingLeaderKey = () => new EtcdError(Code.Unknown, '"leader" field must be provided');

/** concurrency.ErrSessionExpired (etcd 3.5): the waiter's lease ended before it got the lock. */
export const sessionExpired = () => new EtcdError(Code.Unknown, 'mutex: session is expired');
