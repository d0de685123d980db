// Records etcd 3.4's answers to the conformance cases as golden files.
//   npx tsx scripts/record-golden.ts [all|single|cluster] [--new-only]
// Starts a fresh single-member etcd on loopback (temporary --data-dir, free ports), runs every case
// of test/conformance/cases.ts in order against it, and rewrites test/conformance/golden/*.json;
// then starts three members (m0, m1, m2) and does the same with test/conformance/cluster-cases.ts
// into test/conformance/golden-cluster/.
// --new-only runs every case as usual but writes only cases that have no golden file yet, so
// appending cases does not rewrite the ids and ports of every recorded answer.
// Set ETCD_BIN to use an etcd binary that is not on PATH.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cases, { checkCases, type Case } from '../test/conformance/cases.ts';
import clusterCases from '../test/conformance/cluster-cases.ts';
import { clusterTarget, followerToStop, goldenName, runCase, send, type GoldenFile } from '../test/conformance/http.ts';
import type { RunVars } from '../test/conformance/normalise.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GOLDEN_DIR = path.join(ROOT, 'test/conformance/golden');
const CLUSTER_DIR = path.join(ROOT, 'test/conformance/golden-cluster');
const ETCD = process.env.ETCD_BIN ?? 'etcd';

function fail(msg: string): never {
  console.error(`record-golden: ${msg}`);
  process.exit(1);
}

function etcdVersion(): string {
  const r = spawnSync(ETCD, ['--version'], { encoding: 'utf8' });
  if (r.error) {
    fail(
      `cannot run '${ETCD}' (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}). ` +
        `etcd 3.4 must be installed to record golden files (Debian: apt-get install -y etcd-server etcd-client), ` +
        `or point ETCD_BIN at an etcd binary.`,
    );
  }
  const m = /etcd Version: (\S+)/.exec(r.stdout);
  if (!m) fail(`'${ETCD} --version' printed no version:\n${r.stdout}${r.stderr}`);
  return m[1];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) fail(`etcd exited with code ${proc.exitCode} while starting:\n${log()}`);
    try {
      const r = await send(url, { method: 'GET', path: '/health' }, 2_000);
      if (r.status === 200 && r.body.includes('"true"')) return;
    } catch {
      // not listening yet
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  fail(`etcd did not become healthy within 30 s:\n${log()}`);
}

interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  stop(): Promise<void>;
}

/** Starts etcd members on loopback (fresh data dirs, free ports) as one new cluster; resolves once each is healthy. */
async function startEtcd(names: string[]): Promise<EtcdMember[]> {
  const ports: { client: number; peer: number }[] = [];
  for (const _ of names) ports.push({ client: await freePort(), peer: await freePort() });
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i].peer}`).join(',');
  const members = names.map((name, i) => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-golden-etcd-'));
    const clientUrl = `http://127.0.0.1:${ports[i].client}`;
    const peerUrl = `http://127.0.0.1:${ports[i].peer}`;
    let log = '';
    const proc = spawn(
      ETCD,
      [
        '--name', name,
        '--data-dir', dataDir,
        '--listen-client-urls', clientUrl,
        '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peerUrl,
        '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const stop = async (): Promise<void> => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((res) => proc.once('exit', res));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    };
    return { name, clientUrl, peerUrl, stop, proc, log: () => log };
  });
  process.once('SIGINT', () => void Promise.all(members.map((m) => m.stop())).then(() => process.exit(130)));
  try {
    await Promise.all(members.map((m) => waitHealthy(m.clientUrl, m.proc, m.log)));
  } catch (err) {
    await Promise.all(members.map((m) => m.stop()));
    throw err;
  }
  return members;
}

const NEW_ONLY = process.argv.includes('--new-only');

function rewrite(dir: string, golden: GoldenFile[]): void {
  mkdirSync(dir, { recursive: true });
  const existing = new Set(readdirSync(dir).filter((f) => f.endsWith('.json')));
  if (!NEW_ONLY) for (const f of existing) rmSync(path.join(dir, f));
  let written = 0;
  golden.forEach((g, i) => {
    const name = goldenName(i, g.case);
    if (NEW_ONLY && existing.has(name)) return;
    writeFileSync(path.join(dir, name), JSON.stringify(g, null, 2) + '\n');
    written++;
  });
  console.log(`record-golden: wrote ${written} golden files to ${path.relative(ROOT, dir)}/`);
}

async function record(list: Case[], target: Parameters<typeof runCase>[0], vars: RunVars, stopFollower?: () => Promise<void>): Promise<GoldenFile[]> {
  const out: GoldenFile[] = [];
  for (const c of list) out.push({ case: c.name, ...(c.note ? { note: c.note } : {}), requests: await runCase(target, c, vars, stopFollower) });
  return out;
}

async function main(): Promise<void> {
  checkCases();
  checkCases(clusterCases);
  const version = etcdVersion();
  if (!version.startsWith('3.4.')) console.warn(`record-golden: warning: etcd ${version} is not 3.4; golden files are meant to come from 3.4`);
  const which = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'all';
  if (!['all', 'single', 'cluster'].includes(which)) fail(`usage: record-golden.ts [all|single|cluster] [--new-only] (got ${which})`);

  if (which !== 'cluster') {
    // edgecd's test member is called 'default' too: member lists compare names as they are.
    const [m] = await startEtcd(['default']);
    try {
      console.log(`record-golden: etcd ${version} healthy at ${m.clientUrl}; recording ${cases.length} cases`);
      rewrite(GOLDEN_DIR, await record(cases, m.clientUrl, { PEER_URL: m.peerUrl, CLIENT_URL: m.clientUrl }));
    } finally {
      await m.stop();
    }
  }
  if (which !== 'single') {
    const ms = await startEtcd(['m0', 'm1', 'm2']);
    try {
      // etcd refuses membership changes until every voter has been connected for 5 s.
      await new Promise((r) => setTimeout(r, 6_000));
      console.log(`record-golden: 3 etcd members healthy; recording ${clusterCases.length} cluster cases`);
      const urls = ms.map((m) => m.clientUrl);
      // Cases that stop a follower (the last ones) kill its etcd.
      const stopFollower = async () => {
        const url = await followerToStop(urls);
        await ms.find((m) => m.clientUrl === url)!.stop();
      };
      rewrite(CLUSTER_DIR, await record(clusterCases, clusterTarget(urls), {}, stopFollower));
    } finally {
      await Promise.all(ms.map((m) => m.stop()));
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
