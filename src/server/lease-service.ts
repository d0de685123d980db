import { randomBytes } from 'node:crypto';
import type { AuthInfo } from '../auth/index.ts';
import type { Lessor } from '../lease/lessor.ts';
import type { AuthService } from './auth-service.ts';
import type { LeaseGrantResult } from './applier.ts';
import { headerOf } from './kv-service.ts';
import type { LeaseDuties, TimeToLive } from './lease-duties.ts';
import type { Proposals } from './proposals.ts';
import type { ReadBarrier } from './read-barrier.ts';

export interface LeaseServiceOptions {
  lessor: Lessor;
  duties: LeaseDuties;
  proposals: Proposals;
  reads: ReadBarrier;
  auth: AuthService;
}

/** A fresh positive int64 lease id, as etcd's request id generator gives one when the client asks for 0. */
function newLeaseId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn;
    if (id !== 0n) return id;
  }
}

/** etcd's Lease service as the member answers it. */
export class LeaseService {
  constructor(private readonly o: LeaseServiceOptions) {}

  /** ID 0: the member picks a fresh one. */
  async grant(ID: bigint, TTL: number, ai: AuthInfo): Promise<LeaseGrantResult> {
    if (ID === 0n) ID = newLeaseId();
    return (await this.o.proposals.propose<LeaseGrantResult>({ leaseGrant: { ID, TTL }, header: headerOf(ai) })).resp;
  }

  /** Revoking needs write permission on every key the lease holds (checked at apply). */
  async revoke(ID: bigint, ai: AuthInfo): Promise<{ header: { revision: number } }> {
    return (await this.o.proposals.propose<{ header: { revision: number } }>({ leaseRevoke: { ID }, header: headerOf(ai) })).resp;
  }

  /** A keep-alive: the TTL granted again, 0 when the lease is gone (etcd checks no token here). */
  renew(ID: bigint): Promise<number> {
    return this.o.duties.renew(ID);
  }

  /**
   * With auth on, the keys of a lease are shown only to a caller who may read every one of them:
   * etcd 3.4.23 answers them to anyone (fixed in etcd 3.4.26 and 3.5.9, CVE-2023-32082).
   */
  async timeToLive(ID: bigint, ai?: AuthInfo): Promise<TimeToLive> {
    const t = await this.o.duties.timeToLive(ID);
    const { auth } = this.o;
    // A follower's forwarded question comes without a caller: the follower checks the keys itself.
    if (ai && auth.enabled && t.keys.length) for (const key of t.keys) auth.checkRead(ai, { key, rangeEnd: '' });
    return t;
  }

  /** The leases that exist, as of a linearizable read. */
  async list(): Promise<bigint[]> {
    await this.o.reads.wait();
    return [...this.o.lessor.leases.keys()];
  }
}

