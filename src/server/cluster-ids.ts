import { createHash } from 'node:crypto';
import type { MemberRow } from '../storage/rows.ts';

/**
 * Member and cluster ids derived as etcd derives them, so every member of a new cluster computes
 * the same ids from the same flags without talking: a member's id hashes its sorted peer URLs and
 * the cluster token; the cluster's id hashes its members' ids.
 */

const first8 = (h: Buffer) => h.readBigUInt64BE(0);

export function memberIdFor(peerUrls: string[], token: string, addedAt?: number): bigint {
  const parts = [...peerUrls].sort().join('') + token + (addedAt !== undefined ? String(addedAt) : '');
  // Kept below 2^63 so ids also fit Postgres' signed bigint.
  return first8(createHash('sha1').update(parts).digest()) & 0x7fffffffffffffffn;
}

export function clusterIdFor(memberIds: bigint[]): bigint {
  const buf = Buffer.alloc(8 * memberIds.length);
  [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).forEach((id, i) => buf.writeBigUInt64BE(id, i * 8));
  return first8(createHash('sha1').update(buf).digest()) & 0x7fffffffffffffffn;
}

/** raft's NodeId for a member id: 16 hex digits. */
export const nodeIdOf = (id: bigint): string => id.toString(16).padStart(16, '0');
export const memberIdOf = (nodeId: string): bigint => BigInt(`0x${nodeId}`);

/** Parses --initial-cluster: name=url,name=url (a name may appear with several URLs). */
export function parseInitialCluster(s: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`--initial-cluster: "${part}" is not name=url`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    new URL(url);
    out.set(name, [...(out.get(name) ?? []), url]);
  }
  return out;
}

/** Who this member is and, for a brand-new member, how its cluster starts. */
export interface Identity {
  memberId: bigint;
  clusterId: bigint;
  self: MemberRow;
  /** Members of a new cluster (this one included): bootstraps the log on first start. */
  initialMembers?: MemberRow[];
  /** A joining member's view of the cluster, until a snapshot brings the real one. */
  knownMembers?: MemberRow[];
}

export const sameUrls = (a: string[], b: string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

/** Who this member is in a new cluster: every member computes the same ids from the same flags. */
export function newClusterIdentity(o: { name: string; initialCluster: string; initialClusterToken: string; initialAdvertisePeerUrls: string[] }): Identity {
  const cluster = parseInitialCluster(o.initialCluster);
  const initialMembers: MemberRow[] = [...cluster].map(([name, urls]) => ({
    id: memberIdFor(urls, o.initialClusterToken),
    name,
    peerUrls: urls,
    // Client URLs are published through the log once the member runs, so every member agrees.
    clientUrls: [],
    isLearner: false,
  }));
  const self = initialMembers.find((m) => m.name === o.name);
  if (!self) throw new Error(`--initial-cluster has no member named "${o.name}"`);
  if (!sameUrls(self.peerUrls, o.initialAdvertisePeerUrls)) {
    throw new Error(`--initial-cluster gives ${o.name} the peer URLs ${self.peerUrls.join(',')} but --initial-advertise-peer-urls says ${o.initialAdvertisePeerUrls.join(',')}`);
  }
  return { memberId: self.id, clusterId: clusterIdFor(initialMembers.map((m) => m.id)), self, initialMembers };
}
