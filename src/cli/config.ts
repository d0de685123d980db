import { authTokenOptions, type AutoCompaction } from '../server/boot.ts';
import { FlagError, type FlagValues } from './flags.ts';

/** The member's settings, typed and checked. */
export interface Config {
  name: string;
  dataDir: string;
  databaseUrl: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenPeerUrls: string[];
  listenMetricsUrls: string[];
  /** --join: client URLs of a running cluster to join when the database is empty. */
  join: string[];
  /** --remove-vanished-members-after, in ms (0: off). */
  removeVanishedAfterMs: number;
  initialAdvertisePeerUrls: string[];
  initialCluster: string;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  quotaBackendBytes: number;
  /** Off when undefined (retention 0). */
  autoCompaction?: AutoCompaction;
  initialCorruptCheck: boolean;
  corruptCheckTimeMs: number;
  strictReconfigCheck: boolean;
  maxLearners: number;
  snapshotCount: number;
  logWrites: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  authToken: string;
  authTokenTtlMs: number;
  bcryptCost: number;
  cors: string;
  logLevel: string;
  logOutputs: string[];
  watchProgressIntervalMs: number;
  watchBufferBytes: number;
  watchSlowTimeoutMs: number;
  clientTls: TlsFiles;
  autoTls: boolean;
  peerTls: TlsFiles;
  /** Test-only peer fault rules file ('' = off). */
  peerFaultsFile: string;
}

/** Paths of TLS material (empty = none). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  clientCertAuth: boolean;
}

/**
 * --auto-compaction-retention as etcd 3.4 reads it: in periodic mode a whole number is hours and
 * anything else a duration; in revision mode a whole number of revisions. 0 turns it off.
 */
export function autoCompactionOf(mode: string, retention: string): AutoCompaction | undefined {
  if (mode === 'revision') {
    if (!/^\d+$/.test(retention)) throw new FlagError(`invalid value "${retention}" for --auto-compaction-retention: want a whole number of revisions in revision mode`);
    const n = Number(retention);
    return n > 0 ? { mode: 'revision', retention: n } : undefined;
  }
  const ms = /^\d+$/.test(retention) ? Number(retention) * 3_600_000 : parseDuration('auto-compaction-retention', retention);
  return ms > 0 ? { mode: 'periodic', retentionMs: ms } : undefined;
}

/** A Go duration ("10m", "1.5s", "500ms", "1m30s") in milliseconds. */
export function parseDuration(flag: string, s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  if (s === '' || at !== s.length) throw new FlagError(`invalid value "${s}" for --${flag}: want a duration such as 10m, 30s or 500ms`);
  return total;
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
    listenMetricsUrls: (v['listen-metrics-urls'] as string)
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    initialAdvertisePeerUrls: v['initial-advertise-peer-urls'] as string[],
    initialCluster: (v['initial-cluster'] as string) || `${name}=${(v['initial-advertise-peer-urls'] as string[]).join(',')}`,
    initialClusterState: v['initial-cluster-state'] as 'new' | 'existing',
    initialClusterToken: v['initial-cluster-token'] as string,
    heartbeatIntervalMs: positive('heartbeat-interval'),
    electionTimeoutMs: positive('election-timeout'),
    quotaBackendBytes: positive('quota-backend-bytes'),
    initialCorruptCheck: v['experimental-initial-corrupt-check'] as boolean,
    strictReconfigCheck: v['strict-reconfig-check'] as boolean,
    maxLearners: v['experimental-max-learners'] as number,
    join: (v['join'] as string).split(',').map((u) => u.trim()).filter(Boolean),
    removeVanishedAfterMs: (v['remove-vanished-members-after'] as number) * 1000,
    corruptCheckTimeMs: (v['experimental-corrupt-check-time'] as string) === '0' ? 0 : parseDuration('experimental-corrupt-check-time', v['experimental-corrupt-check-time'] as string),
    autoCompaction: autoCompactionOf(v['auto-compaction-mode'] as string, v['auto-compaction-retention'] as string),
    snapshotCount: positive('snapshot-count'),
    logWrites: positive('experimental-log-writes'),
    maxRequestBytes: positive('max-request-bytes'),
    maxTxnOps: positive('max-txn-ops'),
    authToken: v['auth-token'] as string,
    authTokenTtlMs: positive('auth-token-ttl') * 1000,
    bcryptCost: positive('bcrypt-cost'),
    cors: v['cors'] as string,
    logLevel: v['log-level'] as string,
    logOutputs: (v['log-outputs'] as string).split(',').map((s) => s.trim()).filter(Boolean),
    watchProgressIntervalMs: parseDuration('experimental-watch-progress-notify-interval', v['experimental-watch-progress-notify-interval'] as string),
    watchBufferBytes: positive('watch-stream-buffer-bytes'),
    watchSlowTimeoutMs: parseDuration('watch-slow-timeout', v['watch-slow-timeout'] as string),
    autoTls: v['auto-tls'] as boolean,
    clientTls: {
      certFile: v['cert-file'] as string,
      keyFile: v['key-file'] as string,
      trustedCaFile: v['trusted-ca-file'] as string,
      clientCertAuth: v['client-cert-auth'] as boolean,
    },
    peerTls: {
      certFile: v['peer-cert-file'] as string,
      keyFile: v['peer-key-file'] as string,
      trustedCaFile: v['peer-trusted-ca-file'] as string,
      clientCertAuth: v['peer-client-cert-auth'] as boolean,
    },
    peerFaultsFile: v['experimental-peer-faults'] as string,
  };
  for (const [what, t] of [['client', cfg.clientTls], ['peer', cfg.peerTls]] as const) {
    if (!!t.certFile !== !!t.keyFile) throw new FlagError(`${what} TLS needs both a certificate and a key file`);
    const prefix = what === 'peer' ? 'peer-' : '';
    if (t.clientCertAuth && !t.trustedCaFile) throw new FlagError(`--${prefix}client-cert-auth needs --${prefix}trusted-ca-file`);
  }
  if (cfg.listenPeerUrls.some((u) => u.startsWith('https:')) && !cfg.peerTls.certFile) {
    throw new FlagError('https peer URLs need --peer-cert-file and --peer-key-file');
  }
  if (!(cfg.watchProgressIntervalMs > 0)) throw new FlagError('--experimental-watch-progress-notify-interval must be greater than 0');
  if (!(cfg.watchSlowTimeoutMs > 0)) throw new FlagError('--watch-slow-timeout must be greater than 0');
  if (cfg.electionTimeoutMs < 5 * cfg.heartbeatIntervalMs) {
    throw new FlagError(`--election-timeout[${cfg.electionTimeoutMs}ms] should be at least 5 times as --heartbeat-interval[${cfg.heartbeatIntervalMs}ms]`);
  }
  for (const u of cfg.join) {
    if (!/^https?:\/\/[^/]+/.test(u)) throw new FlagError(`invalid URL "${u}" for --join: want http:// or https://`);
  }
  if (cfg.maxLearners < 1) throw new FlagError('--experimental-max-learners must be at least 1');
  if (cfg.removeVanishedAfterMs < 0) throw new FlagError('--remove-vanished-members-after must be 0 or more seconds');
  for (const u of cfg.listenMetricsUrls) {
    if (!/^https?:\/\/[^/]+/.test(u)) throw new FlagError(`invalid URL "${u}" for --listen-metrics-urls: want http:// or https://`);
  }
  if (cfg.databaseUrl && !/^postgres(ql)?:\/\//.test(cfg.databaseUrl)) {
    throw new FlagError(`--database-url must be a postgres:// URL`);
  }
  try {
    authTokenOptions(cfg.authToken);
  } catch (err) {
    throw new FlagError(`--auth-token ${JSON.stringify(cfg.authToken)}: ${(err as Error).message}`);
  }
  // Answers carry their CORS headers from lists built once at start: a per-origin answer is not built yet.
  if (cfg.cors.trim() !== '*') throw new FlagError(`--cors ${JSON.stringify(cfg.cors)} is not supported yet: only '*' (every origin) is`);
  if (cfg.bcryptCost < 4 || cfg.bcryptCost > 31) throw new FlagError(`--bcrypt-cost must be between 4 and 31 (got ${cfg.bcryptCost})`);
  if (cfg.listenClientUrls.some((u) => u.startsWith('https:'))) {
    const cert = v['cert-file'] as string;
    const key = v['key-file'] as string;
    if ((!cert || !key) && !cfg.autoTls) throw new FlagError('https client URLs need --cert-file and --key-file (or --auto-tls)');
  }
  return cfg;
}
