import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from './pg.ts';
import { parsePrometheus } from './prom-text.ts';
import { freePort, startEdgecd, type EdgecdProcess } from './server.ts';

export interface TestCluster {
  members: (EdgecdProcess | undefined)[];
  names: string[];
  /** Restarts member i on its own store (after a kill), or starts it fresh when wiped. */
  restart(i: number): Promise<EdgecdProcess>;
  databaseUrl(i: number): string | undefined;
  initialCluster: string;
  stop(): Promise<void>;
}

export interface ClusterSpec {
  size: number;
  store?: 'postgres' | 'pglite';
  args?: string[];
  peerScheme?: 'http' | 'https';
}

/** n members on loopback, each with its own database, started together. */
export async function startCluster(spec: ClusterSpec): Promise<TestCluster> {
  const names = Array.from({ length: spec.size }, (_, i) => `m${i}`);
  const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
  const initialCluster = names.map((n, i) => `${n}=${spec.peerScheme ?? 'http'}://127.0.0.1:${ports[i].peer}`).join(',');
  const stores = await Promise.all(
    names.map(async () => ({
      db: spec.store === 'pglite' ? undefined : await createTestDatabase(),
      dataDir: mkdtempSync(path.join(os.tmpdir(), 'edgecd-cluster-')),
    })),
  );
  const start = (i: number) =>
    startEdgecd({
      name: names[i],
      store: spec.store ?? 'postgres',
      databaseUrl: stores[i].db?.url,
      dataDir: stores[i].dataDir,
      port: ports[i].client,
      peerPort: ports[i].peer,
      initialCluster,
      args: spec.args,
      peerScheme: spec.peerScheme,
    });
  const members: (EdgecdProcess | undefined)[] = await Promise.all(names.map((_, i) => start(i)));
  return {
    members,
    names,
    initialCluster,
    databaseUrl: (i) => stores[i].db?.url,
    async restart(i) {
      await members[i]?.kill();
      members[i] = await start(i);
      return members[i]!;
    },
    async stop() {
      await Promise.all(members.map((m) => m?.kill()));
      await Promise.all(stores.map((s) => s.db?.drop()));
    },
  };
}

export const b64 = (s: string) => Buffer.from(s).toString('base64');
export const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

export async function post(url: string, route: string, body: unknown, timeoutMs = 15_000): Promise<{ status: number; json: any }> {
  const r = await fetch(url + route, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, json: await r.json() };
}

/** Member ids (hex, as the metrics label them) this member's transport reports active (etcd_network_active_peers). */
export async function activePeers(url: string): Promise<string[]> {
  const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  const fam = parsePrometheus(await r.text()).get('etcd_network_active_peers');
  return (fam?.samples ?? []).filter((s) => s.value > 0).map((s) => s.labels.Remote).sort();
}

/** etcd's HealthInterval: a peer counts as connected for membership changes once active this long. */
export const HEALTH_INTERVAL_MS = 5000;

/**
 * Waits until each member's transport has `peers` peers active, then for etcd's HealthInterval
 * and a little more: membership changes are refused as 'unhealthy cluster' until every voter has
 * been connected that long (etcd 3.4's strict reconfiguration check).
 */
export async function waitConnected(urls: string[], peers = urls.length - 1, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await Promise.all(urls.map((u) => activePeers(u).catch(() => [])));
    if (seen.every((s) => s.length >= peers)) break;
    if (Date.now() > deadline) throw new Error(`peers not connected within ${timeoutMs} ms: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, HEALTH_INTERVAL_MS + 500));
}

/**
 * Sends a membership change, retrying while the member answers 'unhealthy cluster' (peers not yet
 * connected for HealthInterval after a start or a restart), as an etcdctl user would.
 */
export async function postReconfig(url: string, route: string, body: unknown, timeoutMs = 20_000): Promise<{ status: number; json: any }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await post(url, route, body);
    if (!(r.status === 503 && r.json?.error === 'etcdserver: unhealthy cluster') || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}
