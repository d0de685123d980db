import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/helpers/cluster.ts';
import { freePort, startEdgecd } from '../test/helpers/server.ts';

/** A running system under test: its client URLs and the processes whose CPU and memory count. */
export interface Target {
  system: 'edgecd' | 'edgecd-embedded' | 'edgecd-auth' | 'edgecd-metrics' | 'etcd' | 'antietcd';
  /** Headers every request carries (edgecd-auth: a fresh token, asked for before each run). */
  headers?: () => Promise<Record<string, string>>;
  members: number;
  urls: string[];
  pids: () => number[];
  /** Whether the machine's Postgres works for this target (its CPU is then counted too). */
  usesPostgres: boolean;
  /** The members' databases on the machine's Postgres (their backends' CPU is counted). */
  databaseUrls?: () => string[];
  stop(): Promise<void>;
}

export function haveEtcd(): boolean {
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function waitUp(url: string, body = '{"key":"AA=="}'): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/v3/kv/range`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      if (r.status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

/** edgecd on the machine's Postgres (a database per member), or on its embedded store (PGlite in each member's process). */
export async function startEdgecdTarget(members: number, store: 'postgres' | 'pglite' = 'postgres'): Promise<Target> {
  const system = store === 'pglite' ? 'edgecd-embedded' : 'edgecd';
  const usesPostgres = store === 'postgres';
  if (members === 1) {
    const m = await startEdgecd({ store });
    return { system, members, urls: [m.url], pids: () => [m.proc.pid!], usesPostgres, databaseUrls: () => (m.databaseUrl ? [m.databaseUrl] : []), stop: () => m.stop() };
  }
  const c = await startCluster({ size: members, store });
  return {
    system,
    members,
    urls: c.members.map((m) => m!.url),
    pids: () => c.members.map((m) => m!.proc.pid!),
    usesPostgres,
    databaseUrls: () => c.members.flatMap((m) => (m?.databaseUrl ? [m.databaseUrl] : [])),
    stop: () => c.stop(),
  };
}

/**
 * edgecd with auth on (its default JWTs): a user with READWRITE on every key, whose token every
 * request carries, so an authenticated put or range is measured beside an anonymous one.
 */
export async function startEdgecdAuthTarget(members: number): Promise<Target> {
  const t = await startEdgecdTarget(members);
  const url = t.urls[0];
  const post = async (p: string, body: unknown, token?: string) => {
    const r = await fetch(`${url}${p}`, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body) });
    const j = (await r.json()) as { token?: string };
    if (r.status !== 200) throw new Error(`${p}: ${JSON.stringify(j)}`);
    return j;
  };
  await post('/v3/auth/user/add', { name: 'root', password: 'root' });
  await post('/v3/auth/user/grant', { user: 'root', role: 'root' });
  await post('/v3/auth/user/add', { name: 'bench', password: 'bench' });
  await post('/v3/auth/role/add', { name: 'bench' });
  await post('/v3/auth/role/grant', { name: 'bench', perm: { permType: 'READWRITE', key: 'AA==', range_end: 'AA==' } });
  await post('/v3/auth/user/grant', { user: 'bench', role: 'bench' });
  await post('/v3/auth/enable', {});
  const headers = async () => ({ authorization: (await post('/v3/auth/authenticate', { name: 'bench', password: 'bench' })).token! });
  return { ...t, system: 'edgecd-auth', headers };
}

/**
 * edgecd with a Prometheus-like scraper reading /metrics from every member once a second for the
 * whole run (Prometheus scrapes every 15 s to 1 min by default: this is harsher), so collecting is
 * measured beside the same member unscraped.
 */
export async function startEdgecdMetricsTarget(members: number, everyMs = 1000): Promise<Target> {
  const t = await startEdgecdTarget(members);
  let scrapes = 0;
  let failures = 0;
  const timer = setInterval(() => {
    for (const u of t.urls)
      fetch(`${u}/metrics`)
        .then(async (r) => {
          const text = await r.text();
          if (r.status === 200 && text.includes('etcd_server_has_leader')) scrapes++;
          else failures++;
        })
        .catch(() => failures++);
  }, everyMs);
  return {
    ...t,
    system: 'edgecd-metrics',
    stop: async () => {
      clearInterval(timer);
      console.log(`edgecd-metrics x${members}: ${scrapes} scrapes of /metrics, ${failures} failed`);
      await t.stop();
    },
  };
}

function spawnAll(cmds: { cmd: string; args: string[] }[]): ChildProcess[] {
  return cmds.map(({ cmd, args }) => spawn(cmd, args, { stdio: 'ignore' }));
}

async function killAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}

/** Real etcd 3.4 (Debian's etcd-server), data on the same disk, fsync as it ships. */
export async function startEtcdTarget(members: number): Promise<Target> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-etcd-'));
  const ports = await Promise.all(Array.from({ length: members }, async () => ({ client: await freePort(), peer: await freePort() })));
  const cluster = ports.map((p, i) => `e${i}=http://127.0.0.1:${p.peer}`).join(',');
  const procs = spawnAll(
    ports.map((p, i) => ({
      cmd: 'etcd',
      args: [
        '--name', `e${i}`,
        '--data-dir', path.join(dir, `e${i}`),
        '--listen-client-urls', `http://127.0.0.1:${p.client}`,
        '--advertise-client-urls', `http://127.0.0.1:${p.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
        '--initial-cluster', cluster,
        '--log-level', 'error',
      ],
    })),
  );
  const urls = ports.map((p) => `http://127.0.0.1:${p.client}`);
  await Promise.all(urls.map((u) => waitUp(u)));
  return {
    system: 'etcd',
    members,
    urls,
    pids: () => procs.map((p) => p.pid!),
    usesPostgres: false,
    async stop() {
      await killAll(procs);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** antietcd: etcd's REST API in Node.js, in memory (no persistence): an upper bound for a Node server. */
export async function startAntietcdTarget(members: number): Promise<Target> {
  const bin = path.resolve('node_modules/antietcd/antietcd-app.js');
  const ports = await Promise.all(Array.from({ length: members }, () => freePort()));
  const cluster = ports.map((p, i) => `a${i}=http://127.0.0.1:${p}`).join(',');
  const procs = spawnAll(
    ports.map((p, i) => ({
      cmd: process.execPath,
      args: [bin, '--port', String(p), '--ip', '127.0.0.1', ...(members > 1 ? ['--node_id', `a${i}`, '--cluster_key', 'bench', '--cluster', cluster] : [])],
    })),
  );
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  await Promise.all(urls.map((u) => waitUp(u)));
  return {
    system: 'antietcd',
    members,
    urls,
    pids: () => procs.map((p) => p.pid!),
    usesPostgres: false,
    stop: () => killAll(procs),
  };
}
