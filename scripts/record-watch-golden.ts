// Records etcd 3.4's answers to the watch cases (test/watch/golden-cases.ts) as golden files.
//   npx tsx scripts/record-watch-golden.ts
// Starts a fresh single-member etcd on loopback (temporary --data-dir, free ports), runs every case
// in order, and rewrites test/watch/golden/*.json (identity fields and huge values normalised).
// Set ETCD_BIN to use an etcd binary that is not on PATH.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cases, { checkCases } from '../test/watch/golden-cases.ts';
import { goldenFileName, normaliseLine, runCase } from '../test/watch/golden-run.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'test/watch/golden');
const ETCD = process.env.ETCD_BIN ?? 'etcd';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

async function main(): Promise<void> {
  checkCases();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-watch-golden-'));
  const [cp, pp] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${cp}`;
  const peer = `http://127.0.0.1:${pp}`;
  let log = '';
  const proc = spawn(
    ETCD,
    ['--name', 'golden', '--data-dir', dataDir, '--listen-client-urls', client, '--advertise-client-urls', client, '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer, '--initial-cluster', `golden=${peer}`, '--initial-cluster-state', 'new'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout?.on('data', (d: Buffer) => (log += d));
  proc.stderr?.on('data', (d: Buffer) => (log += d));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`etcd exited:\n${log}`);
      const ok = await fetch(`${client}/health`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`etcd did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    mkdirSync(DIR, { recursive: true });
    for (const f of readdirSync(DIR)) if (f.endsWith('.json')) rmSync(path.join(DIR, f));
    const state = { rev: 1 };
    for (const [i, c] of cases.entries()) {
      const t = await runCase(client, c, state);
      t.lines = t.lines.map(normaliseLine);
      if (t.request.body.length > 2000) t.request.body = t.request.body.slice(0, 200) + `...(${t.request.body.length} chars)`;
      writeFileSync(path.join(DIR, goldenFileName(i, c.name)), JSON.stringify(t, null, 2) + '\n');
      console.log(`record-watch-golden: ${c.name}: ${t.status}, ${t.lines.length} lines`);
    }
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('record-watch-golden:', err);
  process.exit(1);
});
