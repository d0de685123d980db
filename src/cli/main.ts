import { createApp } from '../api/app.ts';
import { metricsApp } from '../api/routes/health.ts';
import { closeServers, serveNode } from '../api/serve-node.ts';
import { autoTlsCertificate, bootMember } from '../server/boot.ts';
import { readFileSync } from 'node:fs';
import { toConfig, type TlsFiles } from './config.ts';
import { FlagError, parseFlags, usage } from './flags.ts';
import { snapshotCommand } from './snapshot.ts';
import { joinCluster } from './join.ts';
import { proxyCommand } from './proxy.ts';
import { createLogger } from '../logging/logger.ts';
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
  if (process.argv[2] === 'proxy') {
    try {
      await proxyCommand(process.argv.slice(3));
    } catch (err) {
      console.error(`edgecd proxy: ${err instanceof FlagError ? err.message : rootCause(err)}`);
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
  const log = createLogger({ level: cfg.logLevel, outputs: cfg.logOutputs });
  let booted;
  try {
    booted = await bootMember({
      log,
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
      strictReconfigCheck: cfg.strictReconfigCheck,
      maxLearners: cfg.maxLearners,
      removeVanishedAfterMs: cfg.removeVanishedAfterMs,
      join: cfg.join.length
        ? () =>
            joinCluster({
              join: cfg.join,
              selfName: cfg.name,
              selfPeerUrls: cfg.initialAdvertisePeerUrls,
              selfClientUrls: [...cfg.advertiseClientUrls, ...cfg.listenClientUrls],
              timeoutMs: 60_000,
              log: (msg) => log.info(msg),
            })
        : undefined,
      authToken: cfg.authToken,
      authTokenTtlMs: cfg.authTokenTtlMs,
      bcryptCost: cfg.bcryptCost,
      peerTls: loadTls(cfg.peerTls),
      peerFaultsFile: cfg.peerFaultsFile || undefined,
    });
  } catch (err) {
    console.error(`edgecd: failed to start: ${rootCause(err)}`);
    process.exit(1);
  }
  const member = booted.member;
  const peers = await serveNode(booted.peerApp, cfg.listenPeerUrls, loadTls(cfg.peerTls));
  // A peer's message stream is one request that lasts as long as the peer runs.
  for (const s of peers) (s as import('node:http').Server).requestTimeout = 0;
  const api = createApp(member, {
    maxRequestBytes: cfg.maxRequestBytes,
    watchStore: booted.watchStore,
    metrics: booted.metrics,
    slowRequest: (fields) => log.warn(fields, 'request took too long'),
    maxTxnOps: cfg.maxTxnOps,
    watch: { progressIntervalMs: cfg.watchProgressIntervalMs, highWaterMark: cfg.watchBufferBytes, slowTimeoutMs: cfg.watchSlowTimeoutMs },
  });
  const clientTls = loadTls(cfg.clientTls);
  if (cfg.autoTls && !clientTls.cert) Object.assign(clientTls, await autoTlsCertificate(cfg.dataDir, [...new Set(cfg.listenClientUrls.map((u) => new URL(u).hostname.replace(/^\[|\]$/g, '')).concat('localhost', '127.0.0.1'))]));
  const clients = await serveNode(api.app, cfg.listenClientUrls, clientTls);
  // etcd's --listen-metrics-urls: /metrics and /health on a listener of their own (plain http, or https with the client certificate).
  clients.push(...(await serveNode(metricsApp(member, booted.metrics), cfg.listenMetricsUrls, clientTls)));
  log.info({ name: cfg.name, member: member.memberId.toString(16), cluster: member.clusterId.toString(16), clientUrls: cfg.listenClientUrls, peerUrls: cfg.listenPeerUrls }, 'serving');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await booted.handOver();
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
  console.error(`edgecd: failed to start: ${rootCause(err)}`);
  process.exit(1);
});

/** The innermost cause of a start-up failure, in one line: the database that does not answer, the flag that is wrong. */
function rootCause(err: unknown): string {
  let e = err as Error & { cause?: unknown; errors?: unknown[]; code?: string; address?: string; port?: number };
  while (e?.cause) e = e.cause as typeof e;
  if (e?.errors?.length) e = e.errors[0] as typeof e;
  const where = e?.address ? ` (${e.address}${e.port ? `:${e.port}` : ''})` : '';
  if (e?.code === 'ECONNREFUSED') return `the database does not answer${where}: connection refused`;
  if (e?.code === 'ENOTFOUND') return `the database host is not found${where}`;
  if (e?.code === '3D000') return `the database does not exist: ${e.message}`;
  return `${e?.message ?? String(e)}${where}`.split('\n')[0];
}
