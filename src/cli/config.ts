import { FlagError, type FlagValues } from './flags.ts';

/** The member's settings, typed and checked. */
export interface Config {
  name: string;
  dataDir: string;
  databaseUrl: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenPeerUrls: string[];
  initialAdvertisePeerUrls: string[];
  initialCluster: string;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  quotaBackendBytes: number;
  snapshotCount: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  authToken: string;
  cors: string;
  logLevel: string;
}

export function toConfig(v: FlagValues): Config {
  const positive = (name: string) => {
    const n = v[name] as number;
    if (!(n > 0)) throw new FlagError(`--${name} must be greater than 0 (got ${n})`);
    return n;
  };
  const name = v['name'] as string;
  if (!name) throw new FlagError('--name must not be empty');
  const cfg: Config = {
    name,
    dataDir: (v['data-dir'] as string) || `${name}.edgecd`,
    databaseUrl: v['database-url'] as string,
    listenClientUrls: v['listen-client-urls'] as string[],
    advertiseClientUrls: v['advertise-client-urls'] as string[],
    listenPeerUrls: v['listen-peer-urls'] as string[],
    initialAdvertisePeerUrls: v['initial-advertise-peer-urls'] as string[],
    initialCluster: (v['initial-cluster'] as string) || `${name}=${(v['initial-advertise-peer-urls'] as string[]).join(',')}`,
    initialClusterState: v['initial-cluster-state'] as 'new' | 'existing',
    initialClusterToken: v['initial-cluster-token'] as string,
    heartbeatIntervalMs: positive('heartbeat-interval'),
    electionTimeoutMs: positive('election-timeout'),
    quotaBackendBytes: positive('quota-backend-bytes'),
    snapshotCount: positive('snapshot-count'),
    maxRequestBytes: positive('max-request-bytes'),
    maxTxnOps: positive('max-txn-ops'),
    authToken: v['auth-token'] as string,
    cors: v['cors'] as string,
    logLevel: v['log-level'] as string,
  };
  if (cfg.electionTimeoutMs < 5 * cfg.heartbeatIntervalMs) {
    throw new FlagError(`--election-timeout[${cfg.electionTimeoutMs}ms] should be at least 5 times as --heartbeat-interval[${cfg.heartbeatIntervalMs}ms]`);
  }
  if (cfg.databaseUrl && !/^postgres(ql)?:\/\//.test(cfg.databaseUrl)) {
    throw new FlagError(`--database-url must be a postgres:// URL`);
  }
  if (!/^(jwt|simple)(,.*)?$/.test(cfg.authToken)) throw new FlagError(`--auth-token must be jwt or simple (got "${cfg.authToken}")`);
  if (cfg.listenClientUrls.some((u) => u.startsWith('https:'))) {
    const cert = v['cert-file'] as string;
    const key = v['key-file'] as string;
    if (!cert || !key) throw new FlagError('https client URLs need --cert-file and --key-file');
  }
  return cfg;
}
