import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAuthTokenFlag, type AuthTokenFlag } from '../auth/index.ts';
import type { Hono } from 'hono';
import { pgMemberStore } from '../storage/member-store.ts';
import { PeerFaults } from '../transport/peer-faults.ts';
import { PeerHttp, type PeerTls } from '../transport/peer-http.ts';
import { Transport } from '../transport/peers.ts';
import { sendSnapshot } from '../transport/snapshot-sender.ts';
import { newClusterIdentity, nodeIdOf } from './cluster-ids.ts';
import { type Logger, silentLogger } from '../logging/logger.ts';
import { Metrics } from '../metrics/metrics.ts';
import { ETCD_VERSION } from '../version.ts';
import { openDatabase } from './database.ts';
import type { WatchableStore } from '../mvcc/watchable-store.ts';
import { startVanishedJanitor } from './vanished-janitor.ts';
import { joiningIdentity, refuseIfBootstrapped } from './joining.ts';
import { createWatchStore } from './watch-history.ts';
import { Member } from './member.ts';
import { AlarmAction } from './alarms.ts';
import { SHARED_CONNECTION_BATCHES } from './applied-lane.ts';
import { systemClock } from './clock.ts';
import { CorruptionCheck, mismatched } from './corruption.ts';
import { forwardLease, handOver, peerHashes, peerRoutes, promoteOnLeader } from './peer-link.ts';
import type { Identity } from './recovery.ts';
import type { AutoCompaction } from './compactor.ts';

export type { AutoCompaction } from './compactor.ts';

export interface BootOptions {
  name: string;
  dataDir: string;
  databaseUrl: string;
  initialCluster: string;
  initialClusterState: 'new' | 'existing';
  /**
   * For a member whose database holds no member yet: finds its place in a running cluster (or
   * that there is none) and answers the --initial-cluster and state to start with (--join).
   */
  join?: () => Promise<{ initialCluster: string; state: 'new' | 'existing' }>;
  /** The leader removes a member whose peer host name has not resolved for this long (0: never). */
  removeVanishedAfterMs?: number;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
  advertiseClientUrls: string[];
  heartbeatMs: number;
  electionTimeoutMs: number;
  /** Committed entries kept in the log before it is compacted behind a snapshot. */
  snapshotCount: number;
  /** Log writes in flight at once on Postgres (--experimental-log-writes). */
  logWrites?: number;
  autoCompaction?: AutoCompaction;
  /** --quota-backend-bytes. */
  quotaBackendBytes?: number;
  /** --experimental-initial-corrupt-check: compare hashes with the peers before serving. */
  initialCorruptCheck?: boolean;
  /** --experimental-corrupt-check-time (0: off): how often the leader compares hashes. */
  corruptCheckTimeMs?: number;
  /** --auth-token as given ('jwt' alone: JWT signed with a key the members share). */
  authToken?: string;
  /** --auth-token-ttl (simple tokens), --bcrypt-cost. */
  authTokenTtlMs?: number;
  bcryptCost?: number;
  log?: Logger;
  peerTls?: PeerTls;
  /** Test-only: drop/delay rules for outgoing peer requests (--experimental-peer-faults). */
  peerFaultsFile?: string;
  /** --strict-reconfig-check (default true): refuse membership changes that could cost the quorum. */
  strictReconfigCheck?: boolean;
  /** --experimental-max-learners: most learners at once (default 1, as etcd). */
  maxLearners?: number;
}

export interface Booted {
  member: Member;
  /** The member's watchable store, fed every applied write: the gateway's watches read it. */
  watchStore: WatchableStore;
  /** The member's metrics (etcd's names), for /metrics. */
  metrics: Metrics;
  transport: Transport;
  /** The routes the peer listener serves (raft messages, snapshots, leader-only questions). */
  peerApp: Hono;
  /** Asks the leader to promote a learner (member/promote sent to a follower). */
  promoteOnLeader(id: bigint): Promise<void>;
  /** A stopping leader hands leadership to another voter (call before the listeners close). */
  handOver(): Promise<void>;
  /** The member stops and its database closes. */
  close(): Promise<void>;
}


/** Opens the member's database (its Postgres, or embedded PGlite under the data dir), recovers, and wires the transport. */
export async function bootMember(opts: BootOptions): Promise<Booted> {
  let o = opts;
  const log = o.log ?? silentLogger;
  const auth = authTokenOptions(o.authToken);
  // Flags are checked before anything is created: a wrong --initial-cluster leaves no database behind.
  if (o.initialClusterState === 'new' && !o.join) newClusterIdentity(o);
  const db = await openDatabase(o.dataDir, o.databaseUrl, log);
  const embedded = db.embedded;
  try {
    const store = pgMemberStore(db.conn);
    const known = await store.state.getMeta('member_id');
    let identity: Identity | undefined;
    const peerHttp = new PeerHttp(o.peerTls, o.peerFaultsFile ? new PeerFaults(o.peerFaultsFile) : undefined);
    if (!known && o.join) {
      const j = await o.join();
      o = { ...o, initialCluster: j.initialCluster, initialClusterState: j.state };
    }
    if (!known) identity = o.initialClusterState === 'new' ? newClusterIdentity(o) : await joiningIdentity(o, peerHttp);
    if (identity?.initialMembers && identity.initialMembers.length > 1) await refuseIfBootstrapped(o, identity.self, peerHttp);
    let member: Member | undefined;
    const metrics = new Metrics();
    const peerLabel = (nodeId: string) => BigInt(`0x${nodeId}`).toString(16);
    const clusterId = () => (member?.clusterId ?? identity?.clusterId ?? 0n).toString();
    const selfNodeId = nodeIdOf(identity?.memberId ?? BigInt(known!));
    const transport = new Transport(selfNodeId, clusterId, {
      unreachable: (id) => member?.reportUnreachable(id),
      snapshotDone: (id, ok) => member?.reportSnapshot(id, ok),
      sendFailed: (id) => metrics.peerSentFailures.inc({ To: peerLabel(id) }),
      roundTrip: (id, s) => metrics.peerRoundTrip.observe({ To: peerLabel(id) }, s),
      peerActive: (id, active, reason) => {
        const labels = { Local: peerLabel(selfNodeId), Remote: peerLabel(id) };
        if (active) {
          metrics.activePeers.inc(labels);
          log.info({ 'peer-id': peerLabel(id) }, 'peer became active');
        } else {
          metrics.activePeers.dec(labels);
          metrics.disconnectedPeers.inc(labels);
          log.warn({ 'peer-id': peerLabel(id), reason }, 'peer became inactive (message send to peer failed)');
        }
      },
      log,
      sendSnapshot: (peer, m) => sendSnapshot(peer, m, clusterId(), (write) => member!.exportSnapshot(m.snapshot!.metadata.index, write), peerHttp),
    }, peerHttp);
    member = await Member.open(store, {
      name: o.name,
      identity,
      heartbeatMs: o.heartbeatMs,
      electionTimeoutMs: o.electionTimeoutMs,
      minLeaseTtl: Math.ceil((1.5 * o.electionTimeoutMs) / 1000),
      logRetention: o.snapshotCount,
      autoCompaction: o.autoCompaction,
      quotaBytes: o.quotaBackendBytes,
      clusterToken: o.initialClusterToken,
      authToken: auth.flag,
      authKeyFiles: auth.keyFiles,
      authTokenTtlMs: o.authTokenTtlMs,
      bcryptCost: o.bcryptCost,
      promoteOnLeader: (id) => promoteOnLeader(member!, peerHttp, id),
      strictReconfigCheck: o.strictReconfigCheck ?? true,
      maxLearners: o.maxLearners,
      peerActiveSince: (id) => transport.activeSince(nodeIdOf(id)),
      metrics,
      log,
      forwardLease: (kind, id) => forwardLease(member!, peerHttp, kind, id),
      send: (msgs) => transport.send(msgs),
      // pglite-socket loses acknowledged commits of pipelined statements to a kill (the crash test
      // shows it with two): the embedded store writes one log batch at a time.
      logWrites: embedded ? 1 : o.logWrites,
      appliedBatches: embedded ? SHARED_CONNECTION_BATCHES : undefined,
      onMembers: (members) => transport.setPeers(members.map((m) => ({ id: nodeIdOf(m.id), urls: m.peerUrls }))),
    });
    const m = member;
    metrics.watchMember(
      {
        memberIdHex: () => m.memberId.toString(16),
        hasLeader: () => m.leaderId !== 0n,
        isLeader: () => m.isLeader,
        isLearner: () => m.isLearner,
        committed: () => m.raftStatus().commit,
        applied: () => m.appliedIndex,
        pending: () => m.maintenance.pendingProposals(),
        dbSize: () => m.maintenance.databaseSize(),
        dbSizeInUse: () => m.maintenance.databaseSize(),
        quotaBytes: () => m.maintenance.quotaBytes ?? 0,
      },
      ETCD_VERSION.etcdserver,
    );
    // Every second each peer is probed, so that the membership checks know which peers are up (a
    // follower sends the other followers nothing); the round trip is observed every 5 s, as etcd
    // probes for its histogram.
    let probes = 0;
    const prober = setInterval(() => void transport.probe(probes++ % 5 === 4), 1000);
    prober.unref();
    if (o.initialCorruptCheck) await initialCorruptCheck(m, peerHttp);
    const corruption = o.corruptCheckTimeMs
      ? new CorruptionCheck({
          clock: systemClock,
          intervalMs: o.corruptCheckTimeMs,
          leading: () => m.isLeader,
          local: () => m.maintenance.hashKV(),
          peers: (rev) => peerHashes(m, peerHttp, rev),
          raise: (id, alarm) => m.maintenance.alarm(AlarmAction.ACTIVATE, id, alarm),
          log: (msg) => log.error(msg),
        })
      : undefined;
    corruption?.start();
    const janitor = o.removeVanishedAfterMs ? startVanishedJanitor(m, o.removeVanishedAfterMs, log) : undefined;
    void publishWhenLed(m, o.name, o.advertiseClientUrls);
    return {
      member: m,
      watchStore: createWatchStore(m),
      metrics,
      transport,
      peerApp: peerRoutes(m, path.join(o.dataDir, 'snap'), log),
      promoteOnLeader: (id) => promoteOnLeader(m, peerHttp, id),
      handOver: () => handOver(m),
      async close() {
        clearInterval(prober);
        if (janitor) clearInterval(janitor);
        corruption?.stop();
        await m.close();
        transport.close();
        peerHttp.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

async function publishWhenLed(m: Member, name: string, clientUrls: string[]): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await m.publish(name, clientUrls);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** etcd's initial corruption check: a member whose history differs from a peer's at its revision does not start. */
async function initialCorruptCheck(m: Member, peers: PeerHttp): Promise<void> {
  const local = await m.maintenance.hashKV();
  const bad = mismatched(local, await peerHashes(m, peers, local.revision));
  if (bad.length) {
    await m.close();
    throw new Error(`found data inconsistency with peers ${bad.map((id) => id.toString(16)).join(', ')} at revision ${local.revision}: not starting`);
  }
}

export { restoreMember, type RestoreOptions } from './restore.ts';
export { inspectSnapshot, type SnapshotStatus } from '../storage/snapshot-file.ts';

/**
 * --auth-token: 'jwt' alone is edgecd's default (tokens signed with a key the members share through
 * the log); etcd's forms name a provider and, for JWT, the key files, read here. A bad setting stops
 * the start with etcd's message.
 */
export function authTokenOptions(value = 'jwt'): { flag?: AuthTokenFlag; keyFiles?: { privateKey?: Uint8Array; publicKey?: Uint8Array } } {
  if (value === 'jwt') return {};
  const flag = parseAuthTokenFlag(value);
  if (flag.type !== 'jwt') return { flag };
  const read = (p?: string) => (p ? new Uint8Array(readFileSync(p)) : undefined);
  return { flag, keyFiles: { privateKey: read(flag.privKeyPath), publicKey: read(flag.pubKeyPath) } };
}
export { autoTlsCertificate } from './auto-tls.ts';
