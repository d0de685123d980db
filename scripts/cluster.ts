// npm run cluster [-- --members 3 --store pglite|postgres --dir .cluster --client-ports 2379,22379,32379 --peer-ports 2380,22380,32380
//                     --proxies 2 --proxy-ports 23790,23791 --redis-url redis://127.0.0.1:6379]
// A local cluster without containers, the topology of docker-compose.yml: every member in its own
// process with its own database (embedded under --dir, or DATABASE_URL's server with a database
// per member), and edge proxies in front sharing Redis; output prefixed with each one's name.
// Ctrl-C stops them all. Prints "ready" with the URLs once every member answers /health and every
// proxy its /metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const n = Number(arg('members', '3'));
const store = arg('store', 'pglite');
const dir = path.resolve(arg('dir', '.cluster'));
const clientPorts = arg('client-ports', '2379,22379,32379').split(',').map(Number);
const peerPorts = arg('peer-ports', '2380,22380,32380').split(',').map(Number);
const proxies = Number(arg('proxies', '2'));
const proxyPorts = arg('proxy-ports', '23790,23791').split(',').map(Number);
const redisUrl = arg('redis-url', 'redis://127.0.0.1:6379');
if (!(proxies >= 0) || proxyPorts.length < proxies) {
  console.error('cluster: want --proxies N with N --proxy-ports');
  process.exit(2);
}
if (!(n >= 1) || clientPorts.length < n || peerPorts.length < n || !['pglite', 'postgres'].includes(store)) {
  console.error('cluster: want --members N with N client and peer ports, --store pglite|postgres');
  process.exit(2);
}

/** One database per member on the server DATABASE_URL names (created if missing). */
async function databases(): Promise<(string | undefined)[]> {
  if (store !== 'postgres') return Array.from({ length: n }, () => undefined);
  const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    return await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const name = `edgecd_cluster_m${i + 1}`;
        const exists = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
        if (exists.length === 0) await admin.unsafe(`CREATE DATABASE ${name}`);
        const u = new URL(base);
        u.pathname = `/${name}`;
        return u.toString();
      }),
    );
  } finally {
    await admin.end();
  }
}

async function answers(url: string, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: n }, (_, i) => `m${i + 1}`);
  const initialCluster = names.map((m, i) => `${m}=http://127.0.0.1:${peerPorts[i]}`).join(',');
  const dbs = await databases();
  const urls = names.map((_, i) => `http://127.0.0.1:${clientPorts[i]}`);
  const start = (name: string, args: string[], env: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (chunk: Buffer) => chunk.toString().replace(/^(?=.)/gm, `${name} | `);
    child.stdout!.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
    child.stderr!.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
    return child;
  };
  const members = names.map((name, i) => {
    const env = { ...process.env };
    if (dbs[i]) env.DATABASE_URL = dbs[i];
    else delete env.DATABASE_URL;
    return start(
      name,
      [
        '--name', name,
        '--data-dir', path.join(dir, name),
        '--listen-client-urls', `http://127.0.0.1:${clientPorts[i]}`,
        '--advertise-client-urls', `http://127.0.0.1:${clientPorts[i]}`,
        '--listen-peer-urls', `http://127.0.0.1:${peerPorts[i]}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPorts[i]}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
      ],
      env,
    );
  });
  const proxyUrls = proxyPorts.slice(0, proxies).map((p) => `http://127.0.0.1:${p}`);
  const edge = proxyPorts.slice(0, proxies).map((p, i) =>
    start(`proxy${i + 1}`, ['proxy', '--endpoints', urls.join(','), '--listen-addr', `127.0.0.1:${p}`, '--redis-url', redisUrl], process.env),
  );
  const children = [...members, ...edge];
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r))))).then(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  for (const c of children) c.once('exit', (code) => !stopping && (console.error(`cluster: a process exited with ${code}: stopping`), stop(1)));
  await Promise.all([...urls.map((u, i) => answers(`${u}/health`, members[i])), ...proxyUrls.map((u, i) => answers(`${u}/metrics`, edge[i]))]);
  console.log(`cluster: ready, ${n} members (${store}): ${urls.join(',')}${proxies ? `; ${proxies} proxies (${redisUrl}): ${proxyUrls.join(',')}` : ''}`);
}

main().catch((err) => {
  console.error(`cluster: ${(err as Error).message}`);
  process.exit(1);
});
