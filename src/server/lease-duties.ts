import { Errors, EtcdError } from '../errors.ts';
import type { Lessor } from '../lease/lessor.ts';
import { type Clock, withDeadline } from './clock.ts';
import type { RaftRequest } from './raft-request.ts';

export interface LeaseDutiesOptions {
  lessor: Lessor;
  clock: Clock;
  /** Whether raft names this member leader (the member's view, from the last Ready). */
  isLeader(): boolean;
  /** Raft's role right now, which may run ahead of isLeader. */
  raftLeading(): boolean;
  /** Resolves once this member has applied everything committed when it was asked (ReadIndex). */
  readBarrier(): Promise<void>;
  /** Proposes an entry and resolves once it applied. */
  propose(req: Omit<RaftRequest, 'id'>): Promise<unknown>;
  /** Asks the leader (a follower cannot answer for the leader's clock). */
  forward?: (kind: 'renew' | 'ttl', id: bigint) => Promise<{ ttl: number }>;
  heartbeatMs: number;
  electionTimeoutMs: number;
  requestTimeoutMs: number;
  /** How often the leader records leases' remaining TTLs in the log. */
  checkpointMs?: number;
  /** Most leases revoked per second when many expire at once. */
  revokeRate?: number;
}

export interface TimeToLive {
  ttl: number;
  granted: number;
  keys: string[];
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * What leases ask of the member beyond applying entries: the leader revokes expired leases and
 * checkpoints remaining TTLs through the log, and answers keep-alives and time-to-live questions
 * (a follower forwards them to it). The lessor follows raft's role on every tick.
 */
export class LeaseDuties {
  private readonly revoking = new Set<bigint>();
  private lastCheckpoint = 0;

  constructor(private readonly o: LeaseDutiesOptions) {}

  /** Called every heartbeat. */
  tick(): void {
    const { lessor, clock } = this.o;
    // The lessor follows raft's role at once, not when the loop next handles a Ready: a deposed leader
    // stuck on its database would otherwise revoke leases the new leader renews (its revoke is
    // forwarded to the new leader and committed). And a leader that was demoted so leads again.
    const leading = this.o.raftLeading();
    if (lessor.isPrimary && !leading) lessor.demote();
    else if (!lessor.isPrimary && leading && this.o.isLeader()) lessor.promote(clock.now(), this.o.electionTimeoutMs);
    if (lessor.isPrimary) this.duties(clock.now());
  }

  /** The member's view of leadership changed (a Ready's soft state). */
  leadershipChanged(leading: boolean): void {
    if (leading) this.o.lessor.promote(this.o.clock.now(), this.o.electionTimeoutMs);
    else this.o.lessor.demote();
  }

  /**
   * Revokes expired leases through the log, a bounded number per tick so a burst of expiries never
   * crowds out writes, and now and then checkpoints remaining TTLs.
   */
  private duties(now: number): void {
    const perTick = Math.max(1, Math.ceil(((this.o.revokeRate ?? 1000) * this.o.heartbeatMs) / 1000));
    for (const id of this.o.lessor.expired(now, perTick + this.revoking.size)) {
      if (this.revoking.has(id) || this.revoking.size >= perTick) continue;
      this.revoking.add(id);
      this.o
        .propose({ leaseRevoke: { ID: id }, internal: true })
        .catch(() => {})
        .finally(() => this.revoking.delete(id));
    }
    const every = this.o.checkpointMs ?? 60_000;
    if (now - this.lastCheckpoint >= every) {
      this.lastCheckpoint = now;
      const due = this.o.lessor.checkpointsDue(now, 1000);
      if (due.length) this.o.propose({ leaseCheckpoint: { checkpoints: due.map((d) => ({ ID: d.id, remaining: d.remaining })) } }).catch(() => {});
    }
  }

  /** A keep-alive: answered by the leader (forwarded there from a follower). Returns the TTL, 0 if unknown. */
  async renew(id: bigint): Promise<number> {
    const { lessor } = this.o;
    for (;;) {
      if (!this.o.isLeader()) {
        if (!this.o.forward) throw Errors.notLeader();
        return (await this.o.forward('renew', id)).ttl;
      }
      // The lease may have been granted by an entry this new leader has not applied yet.
      await this.o.readBarrier();
      // Raft's role moved before the member saw it: the client retries with whoever leads next.
      if (!lessor.isPrimary) throw Errors.notLeader();
      let ttl: number | 'expired';
      try {
        ttl = lessor.renew(id, this.o.clock.now());
      } catch (err) {
        if (err instanceof EtcdError && err.message === Errors.leaseNotFound().message) return 0;
        throw err;
      }
      if (ttl !== 'expired') return ttl;
      // Past its expiry: its revoke is due or in flight. Renewing now would answer a TTL for a lease
      // whose keys are about to go (etcd's lessor waits too): wait for the revoke, or for the next
      // leader to decide.
      if ((await this.gone(id)) === 'revoked') return 0;
      if (this.o.isLeader()) throw Errors.notLeader();
    }
  }

  /** Remaining and granted TTL of a lease (TTL -1 when it does not exist, as etcd answers). */
  async timeToLive(id: bigint): Promise<TimeToLive> {
    const { lessor } = this.o;
    const local = () => {
      const l = lessor.get(id);
      return l ? { granted: l.ttl, keys: [...l.keys].sort(byKey) } : undefined;
    };
    for (;;) {
      if (!this.o.isLeader() && this.o.forward) {
        const r = await this.o.forward('ttl', id);
        await this.o.readBarrier();
        const l = local();
        if (!l || r.ttl < 0) return { ttl: -1, granted: 0, keys: [] };
        return { ttl: r.ttl, granted: l.granted, keys: l.keys };
      }
      await this.o.readBarrier();
      // An expired lease is answered once its revoke applied, like a renewal.
      if (lessor.isExpired(id, this.o.clock.now()) && (await this.gone(id)) === 'demoted') {
        if (this.o.isLeader() || !this.o.forward) throw Errors.notLeader();
        continue;
      }
      const l = local();
      if (!l) return { ttl: -1, granted: 0, keys: [] };
      return { ttl: lessor.remainingTtl(id, this.o.clock.now()), granted: l.granted, keys: l.keys };
    }
  }

  private gone(id: bigint) {
    return withDeadline(this.o.clock, this.o.lessor.whenGone(id), this.o.requestTimeoutMs, Errors.requestTimeout);
  }
}
