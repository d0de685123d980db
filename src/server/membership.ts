import { Errors } from '../errors.ts';
import type { ConfChange, Status } from '../raft/index.ts';
import type { MemberOp, MemberRow } from '../storage/rows.ts';
import { memberIdOf, nodeIdOf } from './cluster-ids.ts';
import type { Answer } from './proposals.ts';
import type { RaftRequest } from './raft-request.ts';

export interface MembershipOptions {
  memberId(): bigint;
  proposeConfChange(cc: ConfChange): Promise<Answer<MemberRow[]>>;
  propose(req: Omit<RaftRequest, 'id'>): Promise<Answer<unknown>>;
  /** Raft's status on this member (a leader's holds every follower's progress). */
  raftStatus(): Status;
  isLeader(): boolean;
  /** The member list changed (the transport follows it). */
  changed?: (members: MemberRow[]) => void;
  /** Applied changes go to the database with the rest of the applied state. */
  record(op: MemberOp): void;
  /** Most learners at once (etcd 3.5's --experimental-max-learners; 3.4 allows 1). */
  maxLearners?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The cluster's members: etcd's checks before a change is proposed, and the changes as they apply. */
export class Membership {
  members = new Map<bigint, MemberRow>();
  /** This member was removed from the cluster. */
  removed = false;

  constructor(private readonly o: MembershipOptions) {}

  /** Replaces the list (at start-up, or from a snapshot). */
  load(rows: MemberRow[]): void {
    this.members = new Map(rows.map((m) => [m.id, m]));
  }

  get(id: bigint): MemberRow | undefined {
    return this.members.get(id);
  }

  list(): MemberRow[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  notify(): void {
    this.o.changed?.([...this.members.values()]);
  }

  /** Adds a member (as a learner or a voter). */
  async add(id: bigint, peerUrls: string[], isLearner: boolean): Promise<MemberRow[]> {
    for (const m of this.members.values()) {
      if (m.id === id) throw Errors.memberExist();
      if (m.peerUrls.some((u) => peerUrls.includes(u))) throw Errors.peerURLExist();
    }
    if (isLearner && [...this.members.values()].filter((m) => m.isLearner).length >= (this.o.maxLearners ?? 1)) throw Errors.tooManyLearners();
    const context = encoder.encode(JSON.stringify({ name: '', peerUrls, clientUrls: [] }));
    return (await this.o.proposeConfChange({ type: isLearner ? 'addLearner' : 'addNode', nodeId: nodeIdOf(id), context })).resp;
  }

  async remove(id: bigint): Promise<MemberRow[]> {
    if (!this.members.has(id)) throw Errors.memberNotFound();
    return (await this.o.proposeConfChange({ type: 'removeNode', nodeId: nodeIdOf(id) })).resp;
  }

  /**
   * Promotes a learner once it has caught up with the leader (only the leader can tell); `ready`
   * may refuse after that (the strict reconfiguration check).
   */
  async promote(id: bigint, ready?: () => void): Promise<MemberRow[]> {
    const m = this.members.get(id);
    if (!m) throw Errors.memberNotFound();
    if (!m.isLearner) throw Errors.memberNotLearner();
    if (!this.o.isLeader()) throw Errors.notLeader();
    const st = this.o.raftStatus();
    const p = st.progress?.[nodeIdOf(id)];
    const leaderMatch = st.progress?.[st.id]?.match ?? st.commit;
    // etcd's rule: the learner's log must reach 90% of the leader's.
    if (!p || p.match < leaderMatch * 0.9) throw Errors.learnerNotReady();
    ready?.();
    return (await this.o.proposeConfChange({ type: 'addNode', nodeId: nodeIdOf(id) })).resp;
  }

  async update(id: bigint, peerUrls: string[]): Promise<MemberRow[]> {
    if (!this.members.has(id)) throw Errors.memberNotFound();
    for (const m of this.members.values()) if (m.id !== id && m.peerUrls.some((u) => peerUrls.includes(u))) throw Errors.peerURLExist();
    return (await this.o.propose({ memberAttrs: { id: id.toString(), peerUrls } })).resp as MemberRow[];
  }

  /** Publishes this member's name and client URLs through the log, unless the list has them already. */
  async publish(name: string, clientUrls: string[]): Promise<void> {
    const m = this.members.get(this.o.memberId());
    if (m && m.name === name && JSON.stringify(m.clientUrls) === JSON.stringify(clientUrls)) return;
    await this.o.propose({ memberAttrs: { id: this.o.memberId().toString(), name, clientUrls } });
  }

  /** A committed conf change, applied to the list. Returns the request id it carried, if any. */
  applyConfChange(cc: ConfChange): string | undefined {
    const ctx = cc.context && cc.context.length ? JSON.parse(decoder.decode(cc.context)) : {};
    const id = memberIdOf(cc.nodeId);
    if (cc.type === 'removeNode') {
      this.members.delete(id);
      this.o.record({ id });
      if (id === this.o.memberId()) this.removed = true;
    } else {
      const prev = this.members.get(id);
      const m: MemberRow = {
        id,
        name: ctx.name ?? prev?.name ?? '',
        peerUrls: ctx.peerUrls ?? prev?.peerUrls ?? [],
        clientUrls: ctx.clientUrls ?? prev?.clientUrls ?? [],
        isLearner: cc.type === 'addLearner',
      };
      this.members.set(id, m);
      this.o.record({ id, member: m });
    }
    this.notify();
    return ctx.requestId;
  }

  /** A committed change of a member's name or URLs. */
  applyAttrs(a: NonNullable<RaftRequest['memberAttrs']>): MemberRow[] {
    const id = BigInt(a.id);
    const m = this.members.get(id);
    if (!m) throw Errors.memberNotFound();
    const next: MemberRow = { ...m, name: a.name ?? m.name, clientUrls: a.clientUrls ?? m.clientUrls, peerUrls: a.peerUrls ?? m.peerUrls };
    this.members.set(id, next);
    this.o.record({ id, member: next });
    this.notify();
    return [...this.members.values()];
  }
}
