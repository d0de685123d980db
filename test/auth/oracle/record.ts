/**
 * Records etcd's answers to the scenarios of scenario.ts, one fresh etcd per scenario, into
 * ../fixtures/etcd-3.4.23-auth.json. Needs `etcd` on PATH (Debian's etcd-server); `npm test` does
 * not: the replay reads the file.
 *
 *   npx tsx test/auth/oracle/record.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarios, type Step } from './scenario.ts';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface RecordedStep extends Step {
  /** etcd's answer to the authenticate made for `as`, when it failed (the call then went without a token). */
  authError?: Answer;
  answer: Answer;
}

export interface Fixture {
  etcd: string;
  flags: string[];
  scenarios: Record<string, RecordedStep[]>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, '../fixtures/etcd-3.4.23-auth.json');
// Cost 4 keeps the recording fast; the cost changes no answer.
const FLAGS = ['--auth-token', 'simple', '--bcrypt-cost', '4'];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function startEtcd(): Promise<{ url: string; proc: ChildProcess; dir: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-oracle-'));
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = spawn('etcd', ['--data-dir', dir, '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `default=${peerUrl}`, ...FLAGS], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/version`);
      if (r.ok) return { url, proc, dir };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('etcd did not start');
}

async function post(url: string, route: string, body: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = token;
  const r = await fetch(`${url}/v3/${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await r.json()) as Record<string, unknown>;
  delete json.header;
  if (typeof json.token === 'string') json.token = '<token>';
  return { status: r.status, body: json };
}

async function run(steps: Step[]): Promise<RecordedStep[]> {
  const etcd = await startEtcd();
  const passwords = new Map<string, string>();
  const out: RecordedStep[] = [];
  try {
    for (const step of steps) {
      let token: string | undefined;
      let authError: Answer | undefined;
      if (step.as !== undefined) {
        const a = await fetch(`${etcd.url}/v3/auth/authenticate`, { method: 'POST', body: JSON.stringify({ name: step.as, password: passwords.get(step.as) ?? '' }) });
        const j = (await a.json()) as Record<string, unknown>;
        if (typeof j.token === 'string') token = j.token;
        else authError = { status: a.status, body: j };
      }
      const answer = await post(etcd.url, step.call, step.body, token);
      if (answer.status === 200 && (step.call === 'auth/user/add' || step.call === 'auth/user/changepw')) {
        passwords.set(step.body.name as string, step.body.password as string);
      }
      out.push({ ...step, ...(authError ? { authError } : {}), answer });
    }
  } finally {
    etcd.proc.kill();
    rmSync(etcd.dir, { recursive: true, force: true });
  }
  return out;
}

async function main() {
  const version = await new Promise<string>((resolve) => {
    const p = spawn('etcd', ['--version']);
    let s = '';
    p.stdout.on('data', (d) => (s += d));
    p.on('close', () => resolve(/etcd Version: (\S+)/.exec(s)?.[1] ?? 'unknown'));
  });
  const fixture: Fixture = { etcd: version, flags: FLAGS, scenarios: {} };
  for (const [name, steps] of Object.entries(scenarios())) {
    fixture.scenarios[name] = await run(steps);
    console.log(`${name}: ${steps.length} steps`);
  }
  writeFileSync(OUT, JSON.stringify(fixture, null, 1) + '\n');
  console.log(`wrote ${OUT}`);
}

await main();
