import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from './pg.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface EdgecdProcess {
  url: string;
  peerUrl: string;
  /** The member's Postgres database (none on the embedded store). */
  databaseUrl?: string;
  proc: ChildProcess;
  /** Graceful stop, then cleanup of its database and data dir. */
  stop(): Promise<void>;
  /** SIGKILL: no cleanup, the store stays for a restart. */
  kill(): Promise<void>;
  /** Starts a new process on the same store and port. */
  restart(): Promise<EdgecdProcess>;
  output(): string;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** 'postgres' (default): a fresh database on the machine's Postgres; 'pglite': embedded, under a temp data dir. */
  store?: 'postgres' | 'pglite';
  /** Reuse a store (as restart does). */
  databaseUrl?: string;
  dataDir?: string;
  port?: number;
  peerPort?: number;
  name?: string;
  /** name=peerURL,... for a cluster (default: this member alone). */
  initialCluster?: string;
  clusterState?: 'new' | 'existing';
  /** 'https' for TLS between members (pass the certificate flags in args). */
  peerScheme?: 'http' | 'https';
}

async function waitHealthy(url: string, proc: ChildProcess, out: () => string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`edgecd exited with ${proc.exitCode}:\n${out()}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`edgecd did not become healthy in ${timeoutMs} ms:\n${out()}`);
}

/** Starts a fresh, empty single member in a child process. */
export async function startEdgecd(opts: StartOptions = {}): Promise<EdgecdProcess> {
  const store = opts.store ?? 'postgres';
  let db: { url: string; drop(): Promise<void> } | undefined;
  let databaseUrl = opts.databaseUrl;
  if (store === 'postgres' && !databaseUrl) {
    db = await createTestDatabase();
    databaseUrl = db.url;
  }
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'edgecd-test-'));
  const port = opts.port ?? (await freePort());
  const peerPort = opts.peerPort ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const peerUrl = `${opts.peerScheme ?? 'http'}://127.0.0.1:${peerPort}`;
  const name = opts.name ?? 'default';
  const args = [
    // Extra node flags for every member (bench/profile.ts: --cpu-prof, which NODE_OPTIONS refuses).
    ...(process.env.EDGECD_NODE_ARGS ? process.env.EDGECD_NODE_ARGS.split(' ') : []),
    '--import', 'tsx', MAIN,
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', url,
    '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', opts.initialCluster ?? `${name}=${peerUrl}`,
    '--initial-cluster-state', opts.clusterState ?? 'new',
    ...(opts.args ?? []),
    // Extra edgecd flags for every member (bench/anatomy.ts --member-args).
    ...(process.env.EDGECD_MEMBER_ARGS ? process.env.EDGECD_MEMBER_ARGS.split(' ') : []),
  ];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...(opts.env ?? {}) };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const out = () => log;
  await waitHealthy(url, proc, out);
  const self: EdgecdProcess = {
    url,
    peerUrl,
    databaseUrl,
    proc,
    output: out,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      if (proc.exitCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
    async restart() {
      await self.kill();
      const next = await startEdgecd({ ...opts, store, databaseUrl, dataDir, port, peerPort });
      const stopNext = next.stop;
      next.stop = async () => {
        await stopNext();
        await db?.drop();
      };
      return next;
    },
  };
  return self;
}
