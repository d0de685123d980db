import type { MemberRow } from '../storage/rows.ts';
import type { PeerHttp } from '../transport/peer-http.ts';
import { parseInitialCluster, sameUrls } from './cluster-ids.ts';
import type { Identity } from './recovery.ts';

/** What a member starting from an empty database knows of itself. */
export interface JoiningOptions {
  name: string;
  initialCluster: string;
  initialAdvertisePeerUrls: string[];
  advertiseClientUrls: string[];
}

/**
 * A member that starts a "new" cluster with an empty database, while its peers already know it
 * as started, lost its data: starting would forget its votes and log. Refuse, as etcd does.
 */
export async function refuseIfBootstrapped(o: JoiningOptions, self: MemberRow, peers: PeerHttp): Promise<void> {
  const cluster = parseInitialCluster(o.initialCluster);
  for (const [name, urls] of cluster) {
    if (name === o.name) continue;
    for (const url of urls) {
      let body: { members: { id: string; clientUrls: string[] }[] };
      try {
        const r = await peers.request('GET', `${url}/raft/members`, {}, undefined, 2000);
        body = JSON.parse(r.body) as typeof body;
      } catch {
        continue; // a peer that is down cannot tell
      }
      const me = body.members.find((m) => m.id === self.id.toString());
      if (me && me.clientUrls.length > 0) {
        throw new Error(
          `member ${self.id.toString(16)} has already been bootstrapped: its database is empty but the cluster knows it as started. ` +
            'Remove it (member remove), add it again (member add) and start it with --initial-cluster-state existing.',
        );
      }
    }
  }
}

/** A member joining a running cluster learns its id (given by `member add`) from a peer. */
export async function joiningIdentity(o: JoiningOptions, peers: PeerHttp): Promise<Identity> {
  const cluster = parseInitialCluster(o.initialCluster);
  const errors: string[] = [];
  for (const [name, urls] of cluster) {
    if (name === o.name) continue;
    for (const url of urls) {
      try {
        const r = await peers.request('GET', `${url}/raft/members`, {}, undefined, 3000);
        const body = JSON.parse(r.body) as { clusterId: string; members: (Omit<MemberRow, 'id'> & { id: string })[] };
        const me = body.members.find((m) => sameUrls(m.peerUrls, o.initialAdvertisePeerUrls));
        if (!me) throw new Error(`the cluster has no member with peer URLs ${o.initialAdvertisePeerUrls.join(',')}: add it with member add first`);
        const id = BigInt(me.id);
        const knownMembers = body.members.map((m) => ({ ...m, id: BigInt(m.id) }));
        return {
          memberId: id,
          clusterId: BigInt(body.clusterId),
          self: { id, name: o.name, peerUrls: o.initialAdvertisePeerUrls, clientUrls: o.advertiseClientUrls, isLearner: false },
          knownMembers,
        };
      } catch (err) {
        errors.push(`${url}: ${(err as Error).message}`);
      }
    }
  }
  throw new Error(`could not join the cluster: ${errors.join('; ')}`);
}
