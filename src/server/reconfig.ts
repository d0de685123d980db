import type { MemberRow } from '../storage/rows.ts';
import { Code, Errors, EtcdError } from '../errors.ts';

/**
 * etcd's strict reconfiguration checks (on by default), made before a membership change is
 * proposed so that a change cannot cost the cluster its quorum of started members. A member is
 * started once it has published its name, as in etcd.
 */

const started = (m: MemberRow) => m.name !== '';
const voters = (ms: Iterable<MemberRow>) => [...ms].filter((m) => !m.isLearner);

/** etcd's IsReadyToAddVotingMember: a quorum of the voters, the new one counted as not started. */
export function readyToAddVoter(ms: Iterable<MemberRow>): boolean {
  const vs = voters(ms);
  const nmembers = vs.length + 1;
  const nstarted = vs.filter(started).length;
  // Adding a second member to a lone started one is allowed: it is how a cluster grows from one.
  if (nstarted === 1 && nmembers === 2) return true;
  return nstarted >= Math.floor(nmembers / 2) + 1;
}

/** etcd's IsReadyToRemoveVotingMember: the voters left must still hold a started quorum. */
export function readyToRemoveVoter(ms: Iterable<MemberRow>, id: bigint): boolean {
  const left = voters(ms).filter((m) => m.id !== id);
  return left.filter(started).length >= Math.floor(left.length / 2) + 1;
}

/**
 * etcd 3.4's gateway answers this refusal with code 2 (Unknown), status 500: its error table maps
 * it to the client-side error value, which gRPC does not recognise as a status.
 */
export const notEnoughStarted = (): EtcdError => new EtcdError(Code.Unknown, Errors.notEnoughStarted().message);
