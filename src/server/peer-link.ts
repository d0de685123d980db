import type { Hono } from 'hono';
import type { Logger } from '../logging/logger.ts';
import { Errors, EtcdError } from '../errors.ts';
import type { PeerHttp } from '../transport/peer-http.ts';
import { peerApp } from '../transport/peer-server.ts';
import { PEER_HEADERS } from '../transport/peers.ts';
import type { MemberRow } from '../storage/rows.ts';
import type { PeerHash } from './corruption.ts';
import type { HashKV } from './maintenance.ts';
import type { Member } from './member.ts';

/**
 * What members ask of each other beyond raft messages: the member list a joining member reads,
 * promotions and lease questions that only the leader can answer, and the peer routes serving them.
 */

/** The peer listener's routes for this member. */
export function peerRoutes(member: Member, snapshotDir: string, log?: Logger): Hono {
  return peerApp(
    {
      log,
      clusterId: () => member.clusterId,
      selfNodeId: () => member.selfNodeId,
      step: (m) => member.step(m),
      snapshotReceived: (index, file) => member.receivedSnapshots.set(index, file),
      members: () => member.memberList().map((m) => ({ ...m, id: m.id.toString() })),
      promote: async (id) => (await member.cluster.promote(id)).map((m) => m.id.toString()),
      lease: async (kind, id) => {
        if (!member.isLeader) throw Errors.notLeader();
        return { ttl: kind === 'renew' ? await member.leases.renew(id) : (await member.leases.timeToLive(id)).ttl };
      },
      hashKV: (revision) => member.maintenance.hashKV(revision),
    },
    snapshotDir,
  );
}

/** Asks a member's peer endpoint; its refusal comes back as that member's etcd error. */
async function askPeer(m: Member, peers: PeerHttp, to: MemberRow | undefined, route: string, body: unknown, timeoutMs?: number): Promise<Record<string, unknown>> {
  if (!to || to.peerUrls.length === 0) throw Errors.noLeader();
  const r = await peers.request('POST', `${to.peerUrls[0]}${route}`, { [PEER_HEADERS.cluster]: m.clusterId.toString(), 'content-type': 'application/json' }, JSON.stringify(body), timeoutMs);
  const answer = JSON.parse(r.body) as { ok: boolean; code?: number; message?: string };
  if (!answer.ok) throw new EtcdError((answer.code ?? 2) as 2, answer.message ?? `${route} failed`);
  return answer;
}

const askLeader = (m: Member, peers: PeerHttp, route: string, body: unknown, timeoutMs?: number) => askPeer(m, peers, m.members.get(m.leaderId), route, body, timeoutMs);

/** Every other member's key-space hash at a revision (a member that cannot answer is left out with its error). */
export function peerHashes(m: Member, peers: PeerHttp, revision: number): Promise<PeerHash[]> {
  const others = m.memberList().filter((p) => p.id !== m.memberId);
  return Promise.all(
    others.map((p) =>
      askPeer(m, peers, p, '/raft/hashkv', { revision: String(revision) }, m.requestTimeoutMs).then(
        (r) => ({ id: p.id, result: r as unknown as HashKV }),
        (error: unknown) => ({ id: p.id, error }),
      ),
    ),
  );
}

/** A follower cannot answer for the leader's clock: keep-alives and TTL questions go to the leader. */
export async function forwardLease(m: Member, peers: PeerHttp, kind: 'renew' | 'ttl', id: bigint): Promise<{ ttl: number }> {
  const body = await askLeader(m, peers, '/raft/lease', { kind, id: id.toString() }, m.requestTimeoutMs);
  return { ttl: (body.ttl as number | undefined) ?? 0 };
}

/** Only the leader knows whether a learner has caught up. */
export async function promoteOnLeader(m: Member, peers: PeerHttp, id: bigint): Promise<void> {
  await askLeader(m, peers, '/raft/promote', { id: id.toString() });
}

/** A stopping leader hands leadership to another voter first, so the cluster does not wait out an election. */
export async function handOver(member: Member): Promise<void> {
  if (!member.isLeader || member.members.size <= 1) return;
  const next = member.memberList().find((m) => m.id !== member.memberId && !m.isLearner);
  if (!next) return;
  member.maintenance.transfer(next.id);
  const deadline = Date.now() + member.electionTimeoutMs;
  while (member.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
