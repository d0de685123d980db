import type { MemberRow } from '../storage/rows.ts';
import { Code, Errors, EtcdError } from '../errors.ts';

/**
 * etcd 3.4's strict reconfiguration checks (--strict-reconfig-check, on by default), made before a
 * membership change is proposed so that a change cannot cost the cluster its quorum. Pure: the
 * member list, this member's id, the transport's view of its peers and the time are handed in.
 *
 * Two kinds of member count. A member is *started* once it has published its name (etcd's
 * IsStarted); too few started ones refuse with `not enough started members`. A peer is *connected*
 * when the transport has exchanged messages with it without a failure for at least HealthInterval
 * (etcd's rafthttp ActiveSince, reset when a send fails); too few connected ones refuse with
 * `unhealthy cluster`.
 */

/** etcd's HealthInterval: how long a peer must have been active to count as connected. */
export const HEALTH_INTERVAL_MS = 5000;

/** What the checks look at. */
export interface ReconfigView {
  members: Iterable<MemberRow>;
  /** This member's id: it always counts as connected to itself. */
  self: bigint;
  /** Since when (ms) the transport has been exchanging messages with the peer, 0 when it is not. */
  activeSince(id: bigint): number;
  now: number;
}

const started = (m: MemberRow) => m.name !== '';
const voters = (ms: Iterable<MemberRow>) => [...ms].filter((m) => !m.isLearner);
const quorum = (n: number) => Math.floor(n / 2) + 1;

/** etcd's IsReadyToAddVotingMember: a quorum of the voters, the new one counted as not started. */
export function readyToAddVoter(ms: Iterable<MemberRow>): boolean {
  const vs = voters(ms);
  const nmembers = vs.length + 1;
  const nstarted = vs.filter(started).length;
  // Adding a second member to a lone started one is allowed: it is how a cluster grows from one.
  if (nstarted === 1 && nmembers === 2) return true;
  return nstarted >= quorum(nmembers);
}

/** etcd's IsReadyToRemoveVotingMember: the voters left must still hold a started quorum. */
export function readyToRemoveVoter(ms: Iterable<MemberRow>, id: bigint): boolean {
  const left = voters(ms).filter((m) => m.id !== id);
  return left.filter(started).length >= quorum(left.length);
}

/** etcd's IsReadyToPromoteMember: the learner counts as a started voter, and a started quorum remains. */
export function readyToPromote(ms: Iterable<MemberRow>, id: bigint): boolean {
  const vs = voters(ms).filter((m) => m.id !== id);
  return vs.filter(started).length + 1 >= quorum(vs.length + 1);
}

/** etcd's numConnectedSince: the voters this member has been connected to since `since` (itself included). */
export function connectedSince(v: ReconfigView, since: number): number {
  return voters(v.members).filter((m) => {
    if (m.id === v.self) return true;
    const t = v.activeSince(m.id);
    return t !== 0 && t < since;
  }).length;
}

/**
 * etcd's mayAddMember: a voter needs a started quorum counting itself as not started; and any new
 * member, learner or voter, needs this member connected to every voter for HealthInterval.
 */
export function mayAddMember(v: ReconfigView, isLearner: boolean): EtcdError | undefined {
  const members = [...v.members];
  if (!isLearner && !readyToAddVoter(members)) return notEnoughStarted();
  if (connectedSince({ ...v, members }, v.now - HEALTH_INTERVAL_MS) !== voters(members).length) return Errors.unhealthy();
  return undefined;
}

/**
 * etcd's mayRemoveMember: a learner goes freely. A voter needs a started quorum left; a peer the
 * transport sees down is safe to remove (it is not part of the active quorum); otherwise the voters
 * connected for HealthInterval, less the one removed, must still be a quorum of the voters.
 */
export function mayRemoveMember(v: ReconfigView, id: bigint): EtcdError | undefined {
  const members = [...v.members];
  if (members.find((m) => m.id === id)?.isLearner) return undefined;
  if (!readyToRemoveVoter(members, id)) return notEnoughStarted();
  if (id !== v.self && v.activeSince(id) === 0) return undefined;
  const active = connectedSince({ ...v, members }, v.now - HEALTH_INTERVAL_MS);
  // As etcd counts it: the removed member is taken off the active ones even when it was active
  // for less than HealthInterval (and so was not counted).
  if (active - 1 < 1 + Math.floor((voters(members).length - 1) / 2)) return Errors.unhealthy();
  return undefined;
}

/** etcd 3.4's mayPromoteMember, after the leader judged the learner in sync: a started quorum once promoted. */
export function mayPromoteMember(members: Iterable<MemberRow>, id: bigint): EtcdError | undefined {
  return readyToPromote(members, id) ? undefined : notEnoughStarted();
}

/**
 * etcd 3.4's gateway answers this refusal with code 2 (Unknown), status 500: its error table maps
 * it to the client-side error value, which gRPC does not recognise as a status.
 */
export const notEnoughStarted = (): EtcdError => new EtcdError(Code.Unknown, Errors.notEnoughStarted().message);
