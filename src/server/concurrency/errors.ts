import { Code, EtcdError } from '../../errors.ts';
export { viaClient } from '../../errors.ts';

/** concurrency.ErrElectionNotLeader. */
export const notLeader = () => new EtcdError(Code.Unknown, 'election: not leader');
/** concurrency.ErrElectionNoLeader. */
export const noLeader = () => new EtcdError(Code.Unknown, 'election: no leader');
/** v3election.ErrMissingLeaderKey. */
export const missingLeaderKey = () => new EtcdError(Code.Unknown, '"leader" field must be provided');

