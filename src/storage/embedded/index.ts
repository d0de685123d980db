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

export async function startEmbedded(dataDir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  const fsyncCounter = new SharedArrayBuffer(8);
  const counter = new BigInt64Array(fsyncCounter);
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
    // The worker is plain JavaScript (see worker.mjs for why): it needs no TypeScript loader, so do
    // not let it inherit the parent's --import tsx / test-runner flags.
    execArgv: [],
    workerData: {
      dataDir: path.resolve(dataDir),
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

  worker.on('error', (err) => {
    // After start-up an error in the worker means the database is gone; clients will see their
    // connection drop. Say so loudly rather than silently.
    console.error(`embedded database (${dataDir}) worker failed:`, err);
  });

  let stopping: Promise<void> | undefined;
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
    })();
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
