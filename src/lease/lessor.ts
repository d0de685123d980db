import { Errors } from '../server/errors.ts';

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

export interface Lease {
  id: bigint;
  /** Granted TTL in seconds (after the minimum-TTL rule). */
  ttl: number;
  keys: Set<string>;
}

/**
 * Lease bookkeeping applied from the log: which leases exist and which keys each holds. Pure:
 * time-based expiry is decided elsewhere and arrives here as a revoke entry.
 */
export class Lessor {
  readonly leases = new Map<bigint, Lease>();

  constructor(private readonly minTtl: number) {}

  exists(id: bigint): boolean {
    return this.leases.has(id);
  }

  get(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  grant(id: bigint, ttl: number): Lease {
    if (id === 0n) throw Errors.leaseNotFound();
    if (ttl > MAX_LEASE_TTL) throw Errors.leaseTTLTooLarge();
    if (this.leases.has(id)) throw Errors.leaseExist();
    const lease: Lease = { id, ttl: Math.max(ttl, this.minTtl), keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  /** Restores a lease at start-up, exactly as it was granted. */
  restore(id: bigint, ttl: number): void {
    this.leases.set(id, { id, ttl, keys: new Set() });
  }

  /** Forgets the lease; returns its keys in key order, for the caller to delete. */
  revoke(id: bigint): string[] {
    const lease = this.leases.get(id);
    if (!lease) throw Errors.leaseNotFound();
    this.leases.delete(id);
    return [...lease.keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  attach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }
}
