import { createApp } from '../api/app.ts';
import { closeServers, serveNode } from '../api/serve-node.ts';
import { bootMember } from '../server/boot.ts';
import { createWatchStore } from '../server/watch-history.ts';
import { EtcdError } from '../server/errors.ts';
import { PEER_HEADERS } from '../transport/peers.ts';
import { peerApp } from '../transport/peer-server.ts';
import { readFileSync } from 'node:fs';
import { toConfig, type TlsFiles } from './config.ts';
import { FlagError, parseFlags, usage } from './flags.ts';
import pkg from '../../package.json' with { type: 'json' };

function loadTls(t: TlsFiles) {
  const read = (f: string) => (f ? readFileSync(f) : undefined);
  return { cert: read(t.certFile), key: read(t.keyFile), ca: read(t.trustedCaFile), clientCertAuth: t.clientCertAuth };
}

async function main(): Promise<void> {
  let cfg;
  try {
    const args = parseFlags(process.argv.slice(2), process.env);
    if (args.help) {
      console.log(usage());
      return;
    }
    if (args.version) {
      console.log(`edgecd Version: ${pkg.version}\nAPI (etcd) Version: 3.4\nNode Version: ${process.version}`);
      return;
    }
    cfg = toConfig(args.values);
  } catch (err) {
    if (err instanceof FlagError) {
      console.error(`edgecd: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const booted = await bootMember({
    name: cfg.name,
    dataDir: cfg.dataDir,
    databaseUrl: cfg.databaseUrl,
    initialCluster: cfg.initialCluster,
    initialClusterState: cfg.initialClusterState,
    initialClusterToken: cfg.initialClusterToken,
    initialAdvertisePeerUrls: cfg.initialAdvertisePeerUrls,
    advertiseClientUrls: cfg.advertiseClientUrls,
    heartbeatMs: cfg.heartbeatIntervalMs,
    electionTimeoutMs: cfg.electionTimeoutMs,
    snapshotCount: cfg.snapshotCount,
    logWrites: cfg.logWrites,
    peerTls: loadTls(cfg.peerTls),
    peerFaultsFile: cfg.peerFaultsFile || undefined,
  });
  const member = booted.member;
  const peers = await serveNode(
    peerApp(
      {
        clusterId: () => member.clusterId,
        selfNodeId: () => member.selfNodeId,
        step: (m) => member.step(m),
        snapshotReceived: (index, file) => member.receivedSnapshots.set(index, file),
        members: () => member.memberList().map((m) => ({ ...m, id: m.id.toString() })),
        promote: async (id) => (await member.promoteMember(id)).map((m) => m.id.toString()),
        lease: async (kind, id) => {
          if (!member.isLeader) throw new EtcdError(9, 'etcdserver: not leader');
          return { ttl: kind === 'renew' ? await member.renewLease(id) : (await member.leaseTimeToLive(id)).ttl };
        },
      },
      booted.snapshotDir,
    ),
    cfg.listenPeerUrls,
    loadTls(cfg.peerTls),
  );
  // A peer's message stream is one request that lasts as long as the peer runs.
  for (const s of peers) (s as import('node:http').Server).requestTimeout = 0;
  const api = createApp(member, {
    maxRequestBytes: cfg.maxRequestBytes,
    watchStore: createWatchStore(member),
    maxTxnOps: cfg.maxTxnOps,
    watch: { progressIntervalMs: cfg.watchProgressIntervalMs, highWaterMark: cfg.watchBufferBytes, slowTimeoutMs: cfg.watchSlowTimeoutMs },
    cluster: {
      clusterToken: cfg.initialClusterToken,
      dbSize: () => member.databaseSize(),
      async promoteOnLeader(id) {
        const leader = member.members.get(member.leaderId);
        if (!leader) throw new EtcdError(14, 'etcdserver: no leader');
        const r = await booted.peerHttp.request(
          'POST',
          `${leader.peerUrls[0]}/raft/promote`,
          { [PEER_HEADERS.cluster]: member.clusterId.toString(), 'content-type': 'application/json' },
          JSON.stringify({ id: id.toString() }),
        );
        const body = JSON.parse(r.body) as { ok: boolean; code?: number; message?: string };
        if (!body.ok) throw new EtcdError((body.code ?? 2) as 2, body.message ?? 'promote failed');
      },
    },
  });
  const clients = await serveNode(api.app, cfg.listenClientUrls, loadTls(cfg.clientTls));
  console.log(`edgecd: member ${cfg.name} (${member.memberId.toString(16)}) serving clients on ${cfg.listenClientUrls.join(', ')}, peers on ${cfg.listenPeerUrls.join(', ')}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`edgecd: ${signal}, shutting down`);
    // A leader hands leadership over first, so the cluster does not wait out an election.
    if (member.isLeader && member.members.size > 1) {
      const next = member.memberList().find((m) => m.id !== member.memberId && !m.isLearner);
      if (next) {
        member.transferLeadership(next.id);
        const deadline = Date.now() + member.electionTimeoutMs;
        while (member.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      }
    }
    api.closeStreams();
    await closeServers(clients);
    await closeServers(peers);
    await booted.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error('edgecd: failed to start:', err);
  process.exit(1);
});
