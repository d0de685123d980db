import { startProxy, type ProxyConfig } from '../proxy/serve.ts';
import { parseDuration } from './config.ts';
import { FlagError } from './flags.ts';

/**
 * `edgecd proxy`: flags named as etcd's grpc-proxy names them where they apply. Flags of etcd's
 * grpc-proxy that edgecd's proxy does not implement are refused by name, so no flag is silently
 * ignored.
 */
const PROXY_FLAGS = [
  { name: 'endpoints', help: 'Comma-separated client URLs of the cluster members (http:// or https://).', default: 'http://127.0.0.1:2379' },
  { name: 'listen-addr', help: 'host:port the proxy serves on (http).', default: '127.0.0.1:23790' },
  { name: 'redis-url', help: 'Redis URL (redis://host:port/db) for the shared event log and read cache; without it each proxy keeps only its own memory.', default: '' },
  { name: 'event-log-size', help: 'Watch responses kept per watched range in the Redis event log (approximate cap, XADD MAXLEN ~).', default: '10000' },
  { name: 'experimental-watch-progress-notify-interval', help: "Period of progress notifications to gateway watchers that asked for them (the members' flag: give them the same).", default: '10m' },
] as const;

/** etcd grpc-proxy flags edgecd's proxy does not implement (yet). */
const UNSUPPORTED = [
  'advertise-client-url', 'resolver-prefix', 'resolver-ttl', 'cert', 'key', 'cacert', 'insecure-skip-tls-verify', 'cert-file', 'key-file',
  'trusted-ca-file', 'auto-tls', 'namespace', 'leasing', 'enable-pprof', 'metrics-addr', 'max-send-bytes', 'max-recv-bytes', 'debug',
  'data-dir', 'experimental-serializable-ordering', 'experimental-enable-grpc-logging', 'dial-keepalive-time', 'dial-keepalive-timeout',
  'grpc-keepalive-min-time', 'grpc-keepalive-interval', 'grpc-keepalive-timeout', 'listen-cipher-suites', 'discovery-srv',
  'discovery-srv-name', 'client-crl-file', 'permit-without-stream',
];

export function proxyUsage(): string {
  const lines = ['Usage: edgecd proxy [flags]', '', 'A stateless edge proxy in front of an edgecd cluster: the same gateway routes, SSE watches coalesced into one upstream watch per range.', '', 'Flags:'];
  for (const f of PROXY_FLAGS) lines.push(`  --${f.name} <value>`, `      ${f.help} (default "${f.default}")`);
  lines.push('  --help', '      Show this help.');
  return lines.join('\n');
}

export function parseProxyFlags(argv: string[]): ProxyConfig | 'help' {
  const v: Record<string, string> = Object.fromEntries(PROXY_FLAGS.map((f) => [f.name, f.default]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('-')) throw new FlagError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (UNSUPPORTED.includes(name)) throw new FlagError(`--${name} (an etcd grpc-proxy flag) is not supported by edgecd proxy (see edgecd proxy --help)`);
    if (!PROXY_FLAGS.some((f) => f.name === name)) throw new FlagError(`unknown flag: --${name} (see edgecd proxy --help)`);
    if (eq >= 0) v[name] = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
      v[name] = argv[++i];
    }
  }
  const endpoints = v.endpoints.split(',').map((s) => s.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new FlagError('--endpoints needs at least one URL');
  for (const e of endpoints) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new FlagError(`invalid URL "${e}" for --endpoints: want http://host:port or https://host:port`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FlagError(`invalid URL "${e}" for --endpoints: scheme must be http or https`);
    if (u.pathname !== '/' || u.search) throw new FlagError(`invalid URL "${e}" for --endpoints: give the member's client URL without a path`);
  }
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(v['listen-addr']);
  if (!m || Number(m[2]) > 65535) throw new FlagError(`invalid value "${v['listen-addr']}" for --listen-addr: want host:port`);
  if (v['redis-url']) {
    let u: URL;
    try {
      u = new URL(v['redis-url']);
    } catch {
      throw new FlagError(`invalid URL "${v['redis-url']}" for --redis-url`);
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new FlagError(`invalid URL "${v['redis-url']}" for --redis-url: scheme must be redis or rediss`);
  }
  if (!/^\d+$/.test(v['event-log-size']) || Number(v['event-log-size']) < 1) throw new FlagError(`invalid value "${v['event-log-size']}" for --event-log-size: want a positive integer`);
  const progressMs = parseDuration('experimental-watch-progress-notify-interval', v['experimental-watch-progress-notify-interval']);
  if (!(progressMs > 0)) throw new FlagError('--experimental-watch-progress-notify-interval must be greater than 0');
  return { endpoints, listenAddr: v['listen-addr'], redisUrl: v['redis-url'] || undefined, eventLogSize: Number(v['event-log-size']), watchProgressIntervalMs: progressMs };
}

export async function proxyCommand(argv: string[]): Promise<void> {
  const cfg = parseProxyFlags(argv);
  if (cfg === 'help') {
    console.log(proxyUsage());
    return;
  }
  const p = await startProxy(cfg);
  console.error(JSON.stringify({ level: 'info', msg: 'proxy serving', url: p.url, endpoints: cfg.endpoints, redis: cfg.redisUrl ? 'on' : 'off' }));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await p.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
