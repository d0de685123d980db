import type { AuthInfo } from '../auth/index.ts';
import { Errors } from '../errors.ts';
import type { MemberRow } from '../storage/rows.ts';
import type { AuthService } from './auth-service.ts';
import type { Clock } from './clock.ts';
import { memberIdFor } from './cluster-ids.ts';
import type { Membership } from './membership.ts';
import type { ReadBarrier } from './read-barrier.ts';
import { mayAddMember, mayPromoteMember, mayRemoveMember, type ReconfigView } from './reconfig.ts';

export interface ClusterServiceOptions {
  membership: Membership;
  reads: ReadBarrier;
  auth: AuthService;
  clock: Clock;
  /** --initial-cluster-token: new members' ids hash it with their peer URLs. */
  clusterToken: string;
  isLeader(): boolean;
  /** Only the leader knows whether a learner caught up: a follower asks it. */
  promoteOnLeader?: (id: bigint) => Promise<void>;
  /** --strict-reconfig-check: make etcd's checks before a change (reconfig.ts). */
  strictReconfigCheck: boolean;
  memberId(): bigint;
  /** Since when (ms, on the clock) the transport has been exchanging messages with the peer, 0 when not. */
  peerActiveSince(id: bigint): number;
}

/**
 * etcd's Cluster service: changes need the root role with auth on, and etcd's strict
 * reconfiguration checks (a change may not cost the cluster its quorum of started or of connected
 * members), made on the member asked, with its own transport's view of its peers, as etcd does.
 */
export class ClusterService {
  constructor(private readonly o: ClusterServiceOptions) {}

  private view(): ReconfigView {
    return { members: this.o.membership.list(), self: this.o.memberId(), activeSince: (id) => this.o.peerActiveSince(id), now: this.o.clock.now() };
  }

  private check(refusal: () => Error | undefined): void {
    if (!this.o.strictReconfigCheck) return;
    const err = refusal();
    if (err) throw err;
  }

  /** The member list as of a linearizable read. */
  async list(): Promise<MemberRow[]> {
    await this.o.reads.wait();
    return this.o.membership.list();
  }

  get(id: bigint): MemberRow | undefined {
    return this.o.membership.get(id);
  }

  async add(peerUrls: string[], isLearner: boolean, ai: AuthInfo): Promise<{ added: MemberRow; members: MemberRow[] }> {
    this.o.auth.checkAdmin(ai);
    const { membership } = this.o;
    this.check(() => mayAddMember(this.view(), isLearner));
    // etcd hashes the second the member was added: the same URLs twice within one second collide on the id.
    const id = memberIdFor(peerUrls, this.o.clusterToken, Math.floor(this.o.clock.now() / 1000));
    const members = await membership.add(id, peerUrls, isLearner);
    return { added: { id, name: '', peerUrls, clientUrls: [], isLearner }, members };
  }

  async remove(id: bigint, ai: AuthInfo): Promise<MemberRow[]> {
    this.o.auth.checkAdmin(ai);
    this.check(() => mayRemoveMember(this.view(), id));
    return this.o.membership.remove(id);
  }

  /** The member itself removes a member whose machine is gone (--remove-vanished-members-after): no caller to check, etcd's safety checks still apply. */
  async removeVanished(id: bigint): Promise<MemberRow[]> {
    this.check(() => mayRemoveMember(this.view(), id));
    return this.o.membership.remove(id);
  }

  async update(id: bigint, peerUrls: string[], ai: AuthInfo): Promise<MemberRow[]> {
    this.o.auth.checkAdmin(ai);
    return this.o.membership.update(id, peerUrls);
  }

  /**
   * Promotes a learner on the leader (asked there from a follower); answers the list after it. A
   * follower's forwarded promotion comes without a caller: the follower checked it.
   */
  async promote(id: bigint, ai?: AuthInfo): Promise<MemberRow[]> {
    if (ai) this.o.auth.checkAdmin(ai);
    const { membership } = this.o;
    // On the leader, once it judged the learner in sync (etcd 3.4's mayPromoteMember).
    if (this.o.isLeader() || !this.o.promoteOnLeader) await membership.promote(id, () => this.check(() => mayPromoteMember(membership.list(), id)));
    else {
      const m = membership.get(id);
      if (!m) throw Errors.memberNotFound();
      if (!m.isLearner) throw Errors.memberNotLearner();
      await this.o.promoteOnLeader(id);
    }
    return this.list();
  }
}
