import { createApp } from '../api/app.ts';
import { closeServers, serveNode } from '../api/serve-node.ts';
import { bootMember } from '../server/boot.ts';
import { readFileSync } from 'node:fs';
import { toConfig, type TlsFiles } from './config.ts';
import { FlagError, parseFlags, usage } from './flags.ts';
import { snapshotCommand } from './snapshot.ts';
import pkg from '../../package.json' with { type: 'json' };

function loadTls(t: TlsFiles) {
  const read = (f: string) => (f ? readFileSync(f) : undefined);
  return { cert: read(t.certFile), key: read(t.keyFile), ca: read(t.trustedCaFile), clientCertAuth: t.clientCertAuth };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'snapshot') {
    try {
      await snapshotCommand(process.argv.slice(3));
    } catch (err) {
      console.error(`edgecd: ${(err as Error).message}`);
      process.exit(err instanceof FlagError ? 2 : 1);
    }
    return;
  }
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
    autoCompaction: cfg.autoCompaction,
    quotaBackendBytes: cfg.quotaBackendBytes,
    initialCorruptCheck: cfg.initialCorruptCheck,
    corruptCheckTimeMs: cfg.corruptCheckTimeMs,
    peerTls: loadTls(cfg.peerTls),
    peerFaultsFile: cfg.peerFaultsFile || undefined,
  });
  const member = booted.member;
  const peers = await serveNode(booted.peerApp, cfg.listenPeerUrls, loadTls(cfg.peerTls));
  // A peer's message stream is one request that lasts as long as the peer runs.
  for (const s of peers) (s as import('node:http').Server).requestTimeout = 0;
  const app = createApp(member, {
    maxRequestBytes: cfg.maxRequestBytes,
    maxTxnOps: cfg.maxTxnOps,
    watch: { progressIntervalMs: cfg.watchProgressIntervalMs, highWaterMark: cfg.watchBufferBytes, slowTimeoutMs: cfg.watchSlowTimeoutMs },
    cluster: {
      clusterToken: cfg.initialClusterToken,
      dbSize: () => member.maintenance.databaseSize(),
      promoteOnLeader: (id) => booted.promoteOnLeader(id),
    },
  });
  const clients = await serveNode(app, cfg.listenClientUrls, loadTls(cfg.clientTls));
  console.log(`edgecd: member ${cfg.name} (${member.memberId.toString(16)}) serving clients on ${cfg.listenClientUrls.join(', ')}, peers on ${cfg.listenPeerUrls.join(', ')}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`edgecd: ${signal}, shutting down`);
    await booted.handOver();
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
