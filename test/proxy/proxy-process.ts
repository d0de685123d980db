import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** An `edgecd proxy` process in front of endpoints, answering once its /metrics does. */
export async function startProxyProcess(endpoints: string[], redisUrl: string, extraArgs: string[] = []): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const args = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'proxy', '--endpoints', endpoints.join(','), '--listen-addr', `127.0.0.1:${port}`, '--redis-url', redisUrl, ...extraArgs];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/metrics`)).ok) return { url, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('proxy did not start');
}

/** A counter or gauge of the proxy's /metrics. */
export async function metric(url: string, name: string): Promise<number> {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${url}/metrics`)).text());
  return m ? Number(m[1]) : NaN;
}
