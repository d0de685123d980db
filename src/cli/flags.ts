/**
 * etcd's command-line flags (and their ETCD_* environment variables) that edgecd understands.
 * Unknown flags and bad values are refused at start, with the flag's name in the message.
 */

export type FlagType = 'string' | 'int' | 'bool' | 'enum' | 'urls';

export interface FlagSpec {
  name: string;
  type: FlagType;
  default: string;
  help: string;
  choices?: string[];
  /** Environment variable that also sets it (default ETCD_<NAME>). */
  env?: string;
}

export const FLAGS: FlagSpec[] = [
  { name: 'name', type: 'string', default: 'default', help: 'Human-readable name for this member.' },
  { name: 'data-dir', type: 'string', default: '', help: 'Path to the data directory (default: ${name}.edgecd).' },
  { name: 'database-url', type: 'string', default: '', help: 'Postgres URL for this member; without it an embedded PGlite database lives under --data-dir.', env: 'DATABASE_URL' },
  { name: 'listen-client-urls', type: 'urls', default: 'http://127.0.0.1:2379', help: 'URLs to listen on for client traffic.' },
  { name: 'advertise-client-urls', type: 'urls', default: 'http://127.0.0.1:2379', help: "This member's client URLs to advertise to the cluster." },
  { name: 'listen-metrics-urls', type: 'string', default: '', help: 'More URLs to serve /metrics and /health on (comma-separated; /metrics is also on the client URLs).' },
  { name: 'listen-peer-urls', type: 'urls', default: 'http://127.0.0.1:2380', help: 'URLs to listen on for peer traffic.' },
  { name: 'initial-advertise-peer-urls', type: 'urls', default: 'http://127.0.0.1:2380', help: "This member's peer URLs to advertise to the cluster." },
  { name: 'initial-cluster', type: 'string', default: '', help: 'Initial cluster configuration, name=peerURL,... (default: ${name}=<initial-advertise-peer-urls>).' },
  { name: 'initial-cluster-state', type: 'enum', default: 'new', choices: ['new', 'existing'], help: "Initial cluster state ('new' or 'existing')." },
  { name: 'initial-cluster-token', type: 'string', default: 'etcd-cluster', help: 'Initial cluster token, keeps clusters apart.' },
  { name: 'heartbeat-interval', type: 'int', default: '100', help: 'Time (in milliseconds) of a heartbeat interval.' },
  { name: 'election-timeout', type: 'int', default: '1000', help: 'Time (in milliseconds) for an election to timeout.' },
  { name: 'join', type: 'string', default: '', help: "edgecd's own: client URLs of a running cluster (comma-separated; a host name stands for all its addresses, as Fly's <app>.internal). A member with an empty database adds itself as a learner and starts as an existing member; with no other machine there it starts a new cluster. Ignored once the member has data." },
  { name: 'remove-vanished-members-after', type: 'int', default: '0', help: "edgecd's own: seconds after which the leader removes a member whose peer URL's host name no longer resolves (a machine destroyed by a scale-down); 0: never." },
  { name: 'experimental-max-learners', type: 'int', default: '1', help: 'Most learner members at once (etcd 3.5; a multi-region deploy keeps one per far region).' },
  { name: 'strict-reconfig-check', type: 'bool', default: 'true', help: 'Reject reconfiguration requests that would cause quorum loss.' },
  { name: 'snapshot-count', type: 'int', default: '100000', help: 'Number of committed transactions to trigger a snapshot.' },
  { name: 'experimental-log-writes', type: 'int', default: '1', help: 'Raft log writes to Postgres in flight at once. More than one pays when each commit waits on a distant database; on a local one a single larger batch wins. The embedded store always writes one at a time.' },
  { name: 'quota-backend-bytes', type: 'int', default: '2147483648', help: 'Raise alarms when the database size exceeds the given quota.' },
  { name: 'max-request-bytes', type: 'int', default: '1572864', help: 'Maximum client request size in bytes the server will accept.' },
  { name: 'max-txn-ops', type: 'int', default: '128', help: 'Maximum number of operations permitted in a transaction.' },
  { name: 'auto-compaction-retention', type: 'string', default: '0', help: 'Auto compaction retention (0 = off): in periodic mode hours (a whole number) or a duration such as 30m; in revision mode a number of revisions. Only the leader compacts.' },
  { name: 'auto-compaction-mode', type: 'enum', default: 'periodic', choices: ['periodic', 'revision'], help: "Interpret retention as 'periodic' or 'revision'." },
  { name: 'experimental-initial-corrupt-check', type: 'bool', default: 'false', help: "Compare this member's key-space hash with its peers' before serving; refuse to start on a difference." },
  { name: 'experimental-corrupt-check-time', type: 'string', default: '0s', help: "How often the leader compares every member's key-space hash and raises the CORRUPT alarm for one that differs (0s: never)." },
  { name: 'auth-token', type: 'string', default: 'jwt', help: "Auth tokens: 'jwt' (edgecd's default: JWTs signed with a key the members share through the log), etcd's 'jwt,pub-key=PATH,priv-key=PATH,sign-method=RS256,ttl=5m', or 'simple'." },
  { name: 'auth-token-ttl', type: 'int', default: '300', help: 'Seconds a simple token lives without use.' },
  { name: 'bcrypt-cost', type: 'int', default: '10', help: 'bcrypt cost of stored password hashes (4 to 31).' },
  { name: 'cors', type: 'string', default: '*', help: "Origins allowed for CORS: '*' (every origin, etcd's default) is the only setting supported yet." },
  { name: 'cert-file', type: 'string', default: '', help: 'Path to the client server TLS cert file.' },
  { name: 'key-file', type: 'string', default: '', help: 'Path to the client server TLS key file.' },
  { name: 'client-cert-auth', type: 'bool', default: 'false', help: 'Enable client cert authentication.' },
  { name: 'auto-tls', type: 'bool', default: 'false', help: 'Client TLS with a generated self-signed certificate (kept under --data-dir), when https client URLs have no --cert-file.' },
  { name: 'trusted-ca-file', type: 'string', default: '', help: 'Path to the client server TLS trusted CA file.' },
  { name: 'peer-cert-file', type: 'string', default: '', help: 'Path to the peer server TLS cert file.' },
  { name: 'peer-key-file', type: 'string', default: '', help: 'Path to the peer server TLS key file.' },
  { name: 'peer-client-cert-auth', type: 'bool', default: 'false', help: 'Enable peer client cert authentication.' },
  { name: 'peer-trusted-ca-file', type: 'string', default: '', help: 'Path to the peer server TLS trusted CA file.' },
  { name: 'experimental-watch-progress-notify-interval', type: 'string', default: '10m', help: 'Duration of periodic watch progress notifications.' },
  { name: 'watch-stream-buffer-bytes', type: 'int', default: '1048576', help: 'Bytes a watch stream may hold unsent before its watchers fall behind and catch up from history.' },
  { name: 'watch-slow-timeout', type: 'string', default: '60s', help: 'How long a watch stream may stay over its buffer before it is cut off.' },
  { name: 'log-level', type: 'enum', default: 'info', choices: ['debug', 'info', 'warn', 'error'], help: 'Log level: structured JSON lines at this level and above.' },
  { name: 'log-outputs', type: 'string', default: 'default', help: "Where logs go, comma-separated: 'default' or 'stderr', 'stdout', or file paths (appended to)." },
  { name: 'experimental-peer-faults', type: 'string', default: '', help: 'For tests only: a JSON file of drop/delay rules for outgoing peer requests, re-read when it changes (see src/transport/peer-faults.ts).', env: 'EDGECD_PEER_FAULTS' },
];

export class FlagError extends Error {}

export type FlagValues = Record<string, string | number | boolean | string[]>;

const envName = (f: FlagSpec) => f.env ?? `ETCD_${f.name.toUpperCase().replace(/-/g, '_')}`;

function convert(f: FlagSpec, raw: string, from: string): string | number | boolean | string[] {
  switch (f.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new FlagError(`invalid value "${raw}" for ${from}: want an integer`);
      return Number(raw.trim());
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', ''].includes(v)) return true;
      if (['false', '0'].includes(v)) return false;
      throw new FlagError(`invalid value "${raw}" for ${from}: want true or false`);
    }
    case 'enum':
      if (!f.choices!.includes(raw)) throw new FlagError(`invalid value "${raw}" for ${from}: want one of ${f.choices!.join(', ')}`);
      return raw;
    case 'urls': {
      const urls = raw.split(',').map((u) => u.trim()).filter(Boolean);
      for (const u of urls) {
        let parsed: URL;
        try {
          parsed = new URL(u);
        } catch {
          throw new FlagError(`invalid URL "${u}" for ${from}`);
        }
        if (!['http:', 'https:'].includes(parsed.protocol)) throw new FlagError(`invalid URL "${u}" for ${from}: scheme must be http or https`);
      }
      if (urls.length === 0) throw new FlagError(`${from} needs at least one URL`);
      return urls;
    }
    default:
      return raw;
  }
}

export interface ParsedArgs {
  values: FlagValues;
  help: boolean;
  version: boolean;
}

/** Flags on the command line win over ETCD_* variables, which win over defaults. */
export function parseFlags(argv: string[], env: Record<string, string | undefined>): ParsedArgs {
  const byName = new Map(FLAGS.map((f) => [f.name, f]));
  const values: FlagValues = {};
  for (const f of FLAGS) {
    const e = env[envName(f)];
    values[f.name] = e !== undefined && e !== '' ? convert(f, e, envName(f)) : f.type === 'urls' || f.type === 'int' || f.type === 'bool' ? convert(f, f.default, `--${f.name}`) : f.default;
  }
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--version') {
      version = true;
      continue;
    }
    if (!arg.startsWith('-')) throw new FlagError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const f = byName.get(name);
    if (!f) throw new FlagError(`unknown flag: --${name} (see --help)`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (f.type === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('-') || !/^(true|false|1|0)$/i.test(argv[i + 1]))) raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
      raw = argv[++i];
    }
    values[name] = convert(f, raw, `--${name}`);
  }
  return { values, help, version };
}

export function usage(): string {
  const lines = ['Usage: edgecd [flags]', '', 'An etcd-compatible key-value store served as etcd v3 JSON over HTTP.', '', 'Flags:'];
  for (const f of FLAGS) {
    lines.push(`  --${f.name}${f.type === 'bool' ? '' : ` <${f.type === 'urls' ? 'urls' : f.type}>`}`);
    lines.push(`      ${f.help} (default "${f.default}"; env ${envName(f)})`);
  }
  lines.push('  --help', '      Show this help.', '  --version', '      Print the version.');
  return lines.join('\n');
}
