/**
 * The embedded database a member uses when no DATABASE_URL is given: durable PGlite in a worker
 * thread, served as a Postgres server on 127.0.0.1 so the rest of the code talks to it through
 * postgres.js exactly as to a real Postgres.
 *
 *   const db = await startEmbedded(dataDir);
 *   const sql = postgres(db.url, { ...EMBEDDED_CLIENT_OPTIONS });   // max: 1 is required
 *   ...
 *   await sql.end();
 *   await db.stop();
 *
 * See docs/embedded.md for what is guaranteed and why.
 */
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  host: string;
  port: number;
  /** Clean shutdown: closes client sockets, checkpoints, closes PGlite; the worker ends. */
  stop(): Promise<void>;
  /** fsync calls the database's file system has made so far (durability tests). */
  fsyncCount(): Promise<number>;
}

export interface EmbeddedOptions {
  /** TCP port on 127.0.0.1; 0 or absent = ephemeral. */
  port?: number;
  /**
   * Postgres max_wal_size (default 64MB). Single-user Postgres never checkpoints by itself, so the
   * worker checks every checkpointIntervalMs and checkpoints once the WAL since the last
   * checkpoint reaches half of this (or after 5 minutes with any WAL).
   */
  maxWalSize?: string;
  /** How often the worker checks whether to checkpoint (default 1000 ms). */
  checkpointIntervalMs?: number;
}

/**
 * postgres.js options a client of the embedded server must use.
 * - max: 1: pglite-socket serves one connection; all connections would share PGlite's single
 *   backend session anyway, so a second one could clobber the first's statements.
 * - max_lifetime: null: postgres.js otherwise recycles the connection every 30-60 minutes; the
 *   server handles reconnects, but a reconnect racing the old socket's close could be refused.
 */
export const EMBEDDED_CLIENT_OPTIONS = Object.freeze({
  max: 1,
  max_lifetime: null,
  idle_timeout: 0,
  onnotice: () => {},
});

type FromWorker =
  | { type: 'ready'; port: number; host: string }
  | { type: 'error'; error: string }
  | { type: 'stopped'; error?: string };

/** Data directories this process has open (the lock file alone cannot tell two of ours apart). */
const openHere = new Set<string>();

/**
 * Two PGlite instances on one data directory would corrupt it, and PGlite's single-user Postgres
 * does not stop that. So hold `<dataDir>.lock` (holding our pid) while the database is open; a lock
 * left by a process that no longer runs (SIGKILL, power loss) is taken over.
 */
function lockDataDir(dir: string): () => void {
  if (openHere.has(dir)) throw new Error(`embedded database ${dir} is already open in this process`);
  const lockPath = `${dir}.lock`;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
      if (pid > 0 && pid !== process.pid && isRunning(pid)) {
        throw new Error(`embedded database ${dir} is in use by process ${pid} (${lockPath})`);
      }
      fs.rmSync(lockPath, { force: true }); // stale
    }
  }
  openHere.add(dir);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    openHere.delete(dir);
    fs.rmSync(lockPath, { force: true });
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function startEmbedded(dataDir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  const dir = path.resolve(dataDir);
  const unlock = lockDataDir(dir);
  try {
    return await start(dir, opts, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function start(dataDir: string, opts: EmbeddedOptions, unlock: () => void): Promise<EmbeddedPostgres> {
  const fsyncCounter = new SharedArrayBuffer(8);
  const counter = new BigInt64Array(fsyncCounter);
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
    // The worker is plain JavaScript (see worker.mjs for why): it needs no TypeScript loader, so do
    // not let it inherit the parent's --import tsx / test-runner flags.
    execArgv: [],
    workerData: {
      dataDir,
      host: '127.0.0.1',
      port: opts.port ?? 0,
      fsyncCounter,
      maxWalSize: opts.maxWalSize ?? '64MB',
      checkpointIntervalMs: opts.checkpointIntervalMs ?? 1000,
    },
  });

  let exited = false;
  const exitedPromise = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      exited = true;
      resolve(code);
    });
  });

  const ready = await new Promise<{ port: number; host: string }>((resolve, reject) => {
    const onMessage = (msg: FromWorker) => {
      if (msg.type === 'ready') {
        cleanup();
        resolve({ port: msg.port, host: msg.host });
      } else if (msg.type === 'error') {
        cleanup();
        reject(new Error(`embedded database failed to start in ${dataDir}: ${msg.error}`));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`embedded database worker exited with code ${code} before it was ready`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  }).catch(async (err) => {
    await worker.terminate();
    throw err;
  });

  let stopping: Promise<void> | undefined;
  worker.once('exit', () => {
    if (!stopping) unlock(); // died on its own: the directory is free again
  });
  worker.on('error', (err) => {
    // After start-up an error in the worker means the database is gone; clients will see their
    // connection drop. Say so loudly rather than silently.
    console.error(`embedded database (${dataDir}) worker failed:`, err);
  });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exited) return;
      const stopped = new Promise<string | undefined>((resolve) => {
        const onMessage = (msg: FromWorker) => {
          if (msg.type === 'stopped') {
            worker.off('message', onMessage);
            resolve(msg.error);
          }
        };
        worker.on('message', onMessage);
        void exitedPromise.then(() => resolve(undefined));
      });
      worker.postMessage({ type: 'stop' });
      const error = await stopped;
      await exitedPromise;
      if (error) throw new Error(`embedded database did not stop cleanly: ${error}`);
    })().finally(unlock);
    return stopping;
  };

  return {
    url: `postgres://postgres@${ready.host}:${ready.port}/postgres`,
    host: ready.host,
    port: ready.port,
    stop,
    fsyncCount: async () => Number(Atomics.load(counter, 0)),
  };
}
