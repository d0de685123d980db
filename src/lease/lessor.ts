import { Errors } from '../errors.ts';
import type { Change } from '../mvcc/types.ts';

/** Why a wait on an expired lease ended: its revoke applied, or this member stopped leading. */
export type LeaseGone = 'revoked' | 'demoted';

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

export interface Lease {
  id: bigint;
  /** Granted TTL in seconds (after the minimum-TTL rule). */
  ttl: number;
  /** TTL left at the last checkpoint (seconds; 0 = none): a new leader resumes from it. */
  remaining: number;
  keys: Set<string>;
  /** When the lease runs out (ms, the caller's clock). Only the leader keeps real expiries. */
  expiry: number;
}

/**
 * Leases: which exist, which keys each holds (applied from the log on every member), and on the
 * leader, when each runs out. Pure: the caller passes the time in, and expiry turns into a revoke
 * entry the leader proposes.
 */
export class Lessor {
  readonly leases = new Map<bigint, Lease>();
  private primary = false;
  /** Callers waiting for an expired lease's revoke to apply, or for this lessor to lose its role. */
  private readonly goneWaiters = new Map<bigint, ((why: LeaseGone) => void)[]>();

  constructor(private readonly minTtl: number) {}

  get isPrimary(): boolean {
    return this.primary;
  }

  exists(id: bigint): boolean {
    return this.leases.has(id);
  }

  get(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  grant(id: bigint, ttl: number, now: number): Lease {
    if (id === 0n) throw Errors.leaseNotFound();
    if (ttl > MAX_LEASE_TTL) throw Errors.leaseTTLTooLarge();
    if (this.leases.has(id)) throw Errors.leaseExist();
    const granted = Math.max(ttl, this.minTtl);
    const lease: Lease = { id, ttl: granted, remaining: 0, keys: new Set(), expiry: this.primary ? now + granted * 1000 : Infinity };
    this.leases.set(id, lease);
    return lease;
  }

  /** Restores a lease at start-up, exactly as it was granted and last checkpointed. */
  restore(id: bigint, ttl: number, remaining = 0): void {
    this.leases.set(id, { id, ttl, remaining, keys: new Set(), expiry: Infinity });
  }

  /** Forgets the lease; returns its keys in key order, for the caller to delete. */
  revoke(id: bigint): string[] {
    const lease = this.leases.get(id);
    if (!lease) throw Errors.leaseNotFound();
    this.leases.delete(id);
    this.wake(id, 'revoked');
    return [...lease.keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Forgets every lease (the state is about to be loaded again); whoever waits on one looks again. */
  reset(): void {
    this.leases.clear();
    for (const id of [...this.goneWaiters.keys()]) this.wake(id, 'demoted');
  }

  /**
   * Settles once an expired lease is revoked, or once this lessor stops being the leader's (its
   * revoke may then never come from here). A renewal or a TTL question about an expired lease waits
   * on it, as etcd's lessor does: answering before the revoke applies would promise the client a
   * lease whose keys are about to be deleted.
   */
  whenGone(id: bigint): Promise<LeaseGone> {
    if (!this.leases.has(id)) return Promise.resolve('revoked');
    if (!this.primary) return Promise.resolve('demoted');
    return new Promise((resolve) => {
      const list = this.goneWaiters.get(id);
      if (list) list.push(resolve);
      else this.goneWaiters.set(id, [resolve]);
    });
  }

  private wake(id: bigint, why: LeaseGone): void {
    const list = this.goneWaiters.get(id);
    if (!list) return;
    this.goneWaiters.delete(id);
    for (const w of list) w(why);
  }

  attach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /** Follows a write's changes: a key leaves the lease it had and joins the one it has now. */
  track(changes: Change[]): void {
    for (const c of changes) {
      const prevLease = c.prev?.lease ?? 0n;
      if (prevLease !== 0n && (c.tombstone || prevLease !== c.kv.lease)) this.detach(prevLease, c.kv.key);
      if (!c.tombstone && c.kv.lease !== 0n) this.attach(c.kv.lease, c.kv.key);
    }
  }

  /**
   * This member became leader: every lease gets its remaining (or full) TTL plus `extendMs`, so no
   * lease expires early because leadership changed hands.
   */
  promote(now: number, extendMs: number): void {
    this.primary = true;
    for (const l of this.leases.values()) l.expiry = now + (l.remaining > 0 ? l.remaining : l.ttl) * 1000 + extendMs;
  }

  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) l.expiry = Infinity;
    for (const id of [...this.goneWaiters.keys()]) this.wake(id, 'demoted');
  }

  /** Whether the leader holds the lease as past its expiry (its revoke is due or on its way). */
  isExpired(id: bigint, now: number): boolean {
    const l = this.leases.get(id);
    return !!l && this.primary && l.expiry <= now;
  }

  /**
   * A keep-alive: the lease lives a full TTL from now. Only the leader can renew, and never a lease
   * already past its expiry: that answers 'expired', and the caller waits for whenGone.
   */
  renew(id: bigint, now: number): number | 'expired' {
    if (!this.primary) throw Errors.notLeader();
    const l = this.leases.get(id);
    if (!l) throw Errors.leaseNotFound();
    if (l.expiry <= now) return 'expired';
    l.expiry = now + l.ttl * 1000;
    return l.ttl;
  }

  /** Seconds left, as the leader sees it (whole seconds, truncated, as etcd reports it). */
  remainingTtl(id: bigint, now: number): number {
    const l = this.leases.get(id);
    if (!l) throw Errors.leaseNotFound();
    if (!this.primary || l.expiry === Infinity) return l.remaining > 0 ? l.remaining : l.ttl;
    return Math.max(0, Math.floor((l.expiry - now) / 1000));
  }

  /** Leases past their expiry, at most `limit` of them (revoking is rate-limited by the caller). */
  expired(now: number, limit: number): bigint[] {
    const out: bigint[] = [];
    if (!this.primary) return out;
    for (const l of this.leases.values()) {
      if (l.expiry <= now) {
        out.push(l.id);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /** Applied from the log on every member: the lease has `remaining` seconds left. */
  checkpoint(id: bigint, remaining: number, now: number): void {
    const l = this.leases.get(id);
    if (!l) return;
    l.remaining = remaining;
    if (this.primary) l.expiry = now + remaining * 1000;
  }

  /** What the leader should checkpoint: leases whose remaining TTL moved below the granted one. */
  checkpointsDue(now: number, limit: number): { id: bigint; remaining: number }[] {
    const out: { id: bigint; remaining: number }[] = [];
    if (!this.primary) return out;
    for (const l of this.leases.values()) {
      if (l.expiry === Infinity) continue;
      const left = Math.max(1, Math.ceil((l.expiry - now) / 1000));
      if (left < l.ttl && left !== l.remaining) out.push({ id: l.id, remaining: left });
      if (out.length >= limit) break;
    }
    return out;
  }
}
