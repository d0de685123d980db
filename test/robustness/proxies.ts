import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/server.ts';

/**
 * The edge tier of a robustness run (--proxies N): N `edgecd proxy` processes in front of the
 * cluster, sharing the machine's Redis (127.0.0.1:6379) through a TCP relay the harness cuts and
 * restores (the redis-down fault) instead of touching the real Redis. A proxy is SIGKILLed and
 * restarted on the same port (the kill-proxy fault).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Proxy {
  index: number;
  url: string;
  port: number;
  proc?: ChildProcess;
  state: 'running' | 'down';
  starts: number;
}

/** A relay to the machine's Redis that can be cut (connections reset, new ones refused) and restored. */
export class RedisRelay {
  private server: net.Server | undefined;
  private readonly socks = new Set<net.Socket>();
  up = false;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisRelay> {
    const r = new RedisRelay(await freePort());
    await r.restore();
    return r;
  }

  restore(): Promise<void> {
    if (this.up) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const server = net.createServer((c) => {
        const r = net.connect(6379, '127.0.0.1');
        this.socks.add(c).add(r);
        c.pipe(r).pipe(c);
        const drop = () => {
          c.destroy();
          r.destroy();
          this.socks.delete(c);
          this.socks.delete(r);
        };
        c.on('error', drop).on('close', drop);
        r.on('error', drop).on('close', drop);
      });
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.server = server;
        this.up = true;
        resolve();
      });
    });
  }

  async cut(): Promise<void> {
    if (!this.up || !this.server) return;
    this.up = false;
    const closed = new Promise<void>((r) => this.server!.close(() => r()));
    for (const s of this.socks) s.destroy();
    this.socks.clear();
    await closed;
  }
}

export class ProxyTier {
  readonly proxies: Proxy[] = [];
  private readonly logs = new Map<number, WriteStream>();

  private constructor(
    readonly relay: RedisRelay,
    private readonly endpoints: string[],
    private readonly runDir: string,
  ) {}

  static async start(n: number, endpoints: string[], runDir: string): Promise<ProxyTier> {
    const t = new ProxyTier(await RedisRelay.start(), endpoints, runDir);
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      t.proxies.push({ index: i, port, url: `http://127.0.0.1:${port}`, state: 'down', starts: 0 });
    }
    await Promise.all(t.proxies.map((p) => t.restart(p.index)));
    return t;
  }

  /** Starts proxy i (on its port) and waits until it answers, up to 20 s. */
  async restart(i: number): Promise<boolean> {
    const p = this.proxies[i];
    if (p.state !== 'down') return true;
    let log = this.logs.get(i);
    if (!log) this.logs.set(i, (log = createWriteStream(path.join(this.runDir, `proxy${i}.log`), { flags: 'a' })));
    log.write(`--- start ${++p.starts} at ${new Date().toISOString()}\n`);
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'proxy', '--endpoints', this.endpoints.join(','), '--listen-addr', `127.0.0.1:${p.port}`, '--redis-url', `redis://127.0.0.1:${this.relay.port}/0`, '--event-log-size', '2000'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    p.proc = proc;
    p.state = 'running';
    proc.once('exit', (code, sig) => {
      log!.write(`--- exit ${code ?? sig}\n`);
      if (p.proc === proc) p.state = 'down';
    });
    for (let k = 0; k < 200 && p.proc === proc && p.state === 'running'; k++) {
      try {
        if ((await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(1000) })).ok) return true;
      } catch {
        // not yet
      }
      await sleep(100);
    }
    return false;
  }

  async kill(i: number): Promise<void> {
    const p = this.proxies[i];
    if (!p.proc || p.state === 'down') return;
    const exited = new Promise<void>((r) => p.proc!.once('exit', () => r()));
    p.proc.kill('SIGKILL');
    await exited;
    p.state = 'down';
  }

  /** Every proxy up, Redis reachable. */
  async healAll(): Promise<void> {
    await this.relay.restore();
    await Promise.all(this.proxies.map((p) => this.restart(p.index)));
  }

  async metric(i: number, name: string): Promise<number | undefined> {
    try {
      const text = await (await fetch(`${this.proxies[i].url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
      const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.proxies.map((p) => this.kill(p.index)));
    await this.relay.cut();
    for (const l of this.logs.values()) l.end();
  }
}
