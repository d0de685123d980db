import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from './pg.ts';
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
