// Records etcd 3.4's answers to the conformance cases as golden files.
//   npx tsx scripts/record-golden.ts
// Starts a fresh single-member etcd on loopback (temporary --data-dir, free ports), runs every case
// of test/conformance/cases.ts in order against it, and rewrites test/conformance/golden/*.json.
// Set ETCD_BIN to use an etcd binary that is not on PATH.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cases, { checkCases } from '../test/conformance/cases.ts';
import { goldenName, runCase, send, type GoldenFile } from '../test/conformance/http.ts';
import type { RunVars } from '../test/conformance/normalise.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GOLDEN_DIR = path.join(ROOT, 'test/conformance/golden');
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

async function main(): Promise<void> {
  checkCases();
  const version = etcdVersion();
  if (!version.startsWith('3.4.')) console.warn(`record-golden: warning: etcd ${version} is not 3.4; golden files are meant to come from 3.4`);

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-golden-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  let log = '';
  const proc = spawn(
    ETCD,
    [
      // edgecd's test member is called 'default' too: member lists compare names as they are.
      '--name', 'default',
      '--data-dir', dataDir,
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
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
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));

  try {
    await waitHealthy(clientUrl, proc, () => log);
    console.log(`record-golden: etcd ${version} healthy at ${clientUrl}; recording ${cases.length} cases`);
    mkdirSync(GOLDEN_DIR, { recursive: true });
    for (const f of readdirSync(GOLDEN_DIR)) if (f.endsWith('.json')) rmSync(path.join(GOLDEN_DIR, f));
    const vars: RunVars = { PEER_URL: peerUrl, CLIENT_URL: clientUrl };
    for (const [i, c] of cases.entries()) {
      const golden: GoldenFile = { case: c.name, ...(c.note ? { note: c.note } : {}), requests: await runCase(clientUrl, c, vars) };
      writeFileSync(path.join(GOLDEN_DIR, goldenName(i, c.name)), JSON.stringify(golden, null, 2) + '\n');
    }
    console.log(`record-golden: wrote ${cases.length} golden files to ${path.relative(ROOT, GOLDEN_DIR)}/`);
  } finally {
    await stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
