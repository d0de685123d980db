import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { inspectSnapshot, restoreMember, type SnapshotStatus } from '../server/boot.ts';
import { FlagError } from './flags.ts';

const USAGE = `Usage:
  edgecd snapshot save <file> [--endpoints http://127.0.0.1:2379]
  edgecd snapshot restore <file> --name <name> [--data-dir <dir> | --database-url <url>]
      --initial-cluster <name=peerURL,...> --initial-cluster-token <token> --initial-advertise-peer-urls <urls> [--skip-hash-check]
  edgecd snapshot status <file> [--write-out table|json]`;

/** --flag value / --flag=value pairs after the positional arguments, by etcdctl's names. */
function options(argv: string[], known: string[], bools: string[] = []): { args: string[]; opts: Record<string, string> } {
  const args: string[] = [];
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      args.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s);
    if (!known.includes(name) && !bools.includes(name)) throw new FlagError(`unknown flag: --${name}\n${USAGE}`);
    if (bools.includes(name)) opts[name] = inline ?? 'true';
    else if (inline !== undefined) opts[name] = inline;
    else if (i + 1 < argv.length) opts[name] = argv[++i];
    else throw new FlagError(`flag needs an argument: --${name}`);
  }
  return { args, opts };
}

function status(s: SnapshotStatus, format: string): string {
  const row = { hash: s.sha256.slice(0, 8), revision: s.revision, totalKey: s.totalKeys, totalSize: s.totalSize };
  if (format === 'json') return JSON.stringify({ ...row, sha256: s.sha256, intact: s.intact, totalRevisions: s.totalRevisions, compactRevision: s.compactRevision });
  const cells = [row.hash, String(row.revision), String(row.totalKey), String(row.totalSize)];
  const head = ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'];
  const w = head.map((h, i) => Math.max(h.length, cells[i].length));
  const line = (xs: string[]) => `| ${xs.map((x, i) => x.padStart(w[i])).join(' | ')} |`;
  const rule = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+`;
  return [rule, line(head), rule, line(cells), rule, s.intact ? '' : 'warning: the file does not match its sha256'].filter(Boolean).join('\n');
}

/** Fetches a member's snapshot over its gateway (etcd's streamed {"result":{"blob":...}} lines). */
async function save(file: string, endpoint: string): Promise<SnapshotStatus> {
  const r = await fetch(`${endpoint.replace(/\/$/, '')}/v3/maintenance/snapshot`, { method: 'POST', body: '{}' });
  if (r.status !== 200 || !r.body) throw new Error(`snapshot request failed: ${r.status} ${await r.text()}`);
  const out = createWriteStream(file);
  const decoder = new TextDecoder();
  let buf = '';
  const take = async (line: string) => {
    if (!line.trim()) return;
    const msg = JSON.parse(line);
    if (msg.error) throw new Error(`snapshot failed: ${msg.error.message ?? JSON.stringify(msg.error)}`);
    if (msg.result?.blob && !out.write(Buffer.from(msg.result.blob, 'base64'))) await once(out, 'drain');
  };
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      await take(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  await take(buf);
  out.end();
  await once(out, 'close');
  const s = await inspectSnapshot(file);
  if (!s.intact) throw new Error(`the snapshot saved at ${file} does not match its sha256 (the stream was cut?)`);
  return s;
}

/** `edgecd snapshot ...`: save a member's state, restore a new cluster from it, or inspect a file. */
export async function snapshotCommand(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb === 'save') {
    const { args, opts } = options(rest, ['endpoints']);
    if (args.length !== 1) throw new FlagError(USAGE);
    const s = await save(args[0], (opts.endpoints ?? 'http://127.0.0.1:2379').split(',')[0]);
    console.log(`Snapshot saved at ${args[0]} (revision ${s.revision}, ${s.totalKeys} keys)`);
  } else if (verb === 'restore') {
    const { args, opts } = options(rest, ['name', 'data-dir', 'database-url', 'initial-cluster', 'initial-cluster-token', 'initial-advertise-peer-urls'], ['skip-hash-check']);
    if (args.length !== 1) throw new FlagError(USAGE);
    const name = opts.name ?? 'default';
    const peerUrls = (opts['initial-advertise-peer-urls'] ?? 'http://127.0.0.1:2380').split(',');
    const s = await restoreMember({
      file: args[0],
      name,
      dataDir: opts['data-dir'] ?? `${name}.edgecd`,
      databaseUrl: opts['database-url'] ?? process.env.DATABASE_URL,
      initialCluster: opts['initial-cluster'] ?? `${name}=${peerUrls.join(',')}`,
      initialClusterToken: opts['initial-cluster-token'] ?? 'etcd-cluster',
      initialAdvertisePeerUrls: peerUrls,
      skipHashCheck: opts['skip-hash-check'] === 'true',
    });
    console.log(`Restored ${s.totalKeys} keys at revision ${s.revision} into member ${name}; start it with the same --name and --initial-cluster`);
  } else if (verb === 'status') {
    const { args, opts } = options(rest, ['write-out']);
    if (args.length !== 1) throw new FlagError(USAGE);
    console.log(status(await inspectSnapshot(args[0]), opts['write-out'] ?? 'table'));
  } else throw new FlagError(USAGE);
}
