// @ts-check
/**
 * The embedded database's worker thread: PGlite (Postgres compiled to WebAssembly) made durable,
 * served over the Postgres wire protocol by pglite-socket on 127.0.0.1.
 *
 * Why a plain .mjs file and not TypeScript: this file is loaded by `new Worker(url)`. Under
 * `node --import tsx` a worker inherits the `--import tsx` flag, but under the `tsx` CLI, under a
 * future compiled build, or when a caller passes its own execArgv, whether a worker thread can load
 * `.ts` depends on how the parent was started (tsx's loader is registered per thread via flags).
 * A .mjs file that imports only packages and node builtins loads the same way everywhere, so the
 * parent starts it with `execArgv: []` and no loader at all. `// @ts-check` + JSDoc keeps it typed
 * (`npx tsc --allowJs --checkJs --noEmit ...` checks it; the project tsconfig does not include .mjs).
 *
 * Everything here that touches PGlite internals is tied to @electric-sql/pglite 0.5.14 (pinned):
 *  - Emscripten's NODEFS has no `fsync` stream operation, so `fsync()` inside Postgres is a no-op.
 *    We add one that calls fs.fsyncSync on the real descriptor (`stream.nfd`).
 *  - Emscripten's fdatasync() syscall never reaches the stream ops at all, so Postgres must use
 *    `wal_sync_method=fsync` (fsync() -> WASI fd_sync -> stream_ops.fsync).
 *  - PGlite starts Postgres with `-F` (fsync=off); we pass startParams without it.
 * test/storage/embedded.test.ts fails if a commit stops causing an fsync.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * @typedef {{
 *   dataDir: string,
 *   host: string,
 *   port: number,
 *   fsyncCounter: SharedArrayBuffer,
 *   maxWalSize: string,
 *   checkpointIntervalMs: number,
 * }} WorkerInput
 */

if (!parentPort) throw new Error('embedded/worker.mjs must run in a worker thread');
const port = parentPort;
const input = /** @type {WorkerInput} */ (workerData);
/** fsyncCounter[0]: fsync calls made so far, shared with the main thread (readable while we are busy). */
const fsyncCounter = new BigInt64Array(input.fsyncCounter);

/** Postgres' startup arguments: PGlite's defaults minus `-F`, plus durable settings. */
function startParams() {
  const defaults = PGlite.defaultStartParams;
  if (!defaults.includes('-F')) {
    // The durability patch was written against a PGlite that passes -F; if that changed, re-check it.
    throw new Error('PGlite.defaultStartParams no longer contains -F: re-verify src/storage/embedded for this PGlite version');
  }
  return [
    ...defaults.filter((p) => p !== '-F'),
    '-c', 'fsync=on',
    '-c', 'wal_sync_method=fsync', // fdatasync/open_datasync never reach the disk under Emscripten
    '-c', 'synchronous_commit=on',
    '-c', 'full_page_writes=on',
    '-c', `max_wal_size=${input.maxWalSize}`,
    '-c', 'min_wal_size=32MB',
  ];
}

/** PGlite's NodeFS whose files can be fsynced. */
class DurableNodeFS extends NodeFS {
  /**
   * @param {any} pg
   * @param {any} opts
   */
  async init(pg, opts) {
    const res = await super.init(pg, opts);
    const eo = res.emscriptenOpts;
    eo.preRun = [
      ...(eo.preRun || []),
      /** @param {any} mod */
      (mod) => {
        const NODEFS = mod.FS.filesystems.NODEFS;
        const ops = NODEFS.stream_ops;
        if (typeof ops.fsync === 'function') {
          throw new Error('NODEFS already has an fsync stream op: re-verify src/storage/embedded for this PGlite version');
        }
        // Reached through fsync() -> WASI fd_sync -> stream.stream_ops.fsync(stream). Errors become
        // an errno, which Postgres turns into a PANIC for WAL (the right answer to a failed fsync).
        /** @param {{ nfd: number }} stream */
        ops.fsync = (stream) => {
          NODEFS.tryFSOperation(() => fs.fsyncSync(stream.nfd));
          Atomics.add(fsyncCounter, 0, 1n);
          return 0;
        };
      },
    ];
    return res;
  }
}

/** fsync a file or directory by path, counting it like Postgres' own fsyncs. */
/** @param {string} p */
function fsyncPath(p) {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
    Atomics.add(fsyncCounter, 0, 1n);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync every file and directory under dir (children before parents), then dir itself. */
/** @param {string} dir */
function fsyncTree(dir) {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) fsyncTree(p);
    else if (ent.isFile()) fsyncPath(p);
  }
  fsyncPath(dir);
}

/** @param {string} dataDir */
function openPGlite(dataDir) {
  return PGlite.create({ fs: new DurableNodeFS(dataDir), startParams: startParams() });
}

/**
 * Creates a new database atomically: initdb writes files without fsyncing them and a crash in the
 * middle would leave a directory that has PG_VERSION but cannot start. So build it in a sibling
 * directory, shut it down cleanly, fsync every file, and rename it into place.
 * @param {string} dataDir
 */
async function createDatabase(dataDir) {
  const tmp = `${dataDir}.creating`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const db = await openPGlite(tmp);
  await db.exec('CHECKPOINT');
  await db.close();
  fsyncTree(tmp);
  if (fs.existsSync(dataDir)) fs.rmdirSync(dataDir); // only ever an empty directory here
  fs.renameSync(tmp, dataDir);
  fsyncPath(path.dirname(dataDir));
}

/** A simple-protocol Query message. */
function queryMessage(/** @type {string} */ text) {
  const body = Buffer.from(text + '\0', 'utf8');
  const msg = Buffer.alloc(5 + body.length);
  msg.write('Q', 0, 'latin1');
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return new Uint8Array(msg);
}

/**
 * Checkpoints on our own: Postgres in single-user mode (which PGlite is) never checkpoints by itself
 * (XLogWrite asks the checkpointer only under a postmaster), so without this the WAL since the last
 * checkpoint grows without bound (measured: 320 MB after 300 MB of inserts, max_wal_size ignored)
 * and crash recovery replays all of it.
 *
 * A checkpoint may run only while the single backend session is idle: at a message boundary right
 * after a ReadyForQuery with status 'I' (outside a transaction block, not between an extended-
 * protocol Parse/Bind/Execute and its Sync). We observe that by wrapping execProtocolRawStream,
 * the one method pglite-socket's queue calls for every client message, and we run our own SQL while
 * holding the same mutex the queue takes (db.runExclusive), so no client message can slip in.
 * Our SQL goes through execProtocolStream, which routes the output to PGlite's own parser, never to
 * the client's socket.
 *
 * @param {PGlite} db
 */
function startCheckpointer(db) {
  const anyDb = /** @type {any} */ (db);
  const maxWalBytes = parseSize(input.maxWalSize);
  const walTrigger = Math.max(16 * 1024 * 1024, Math.floor(maxWalBytes / 2));
  const timeTriggerMs = 5 * 60 * 1000; // checkpoint_timeout's default
  let idle = true;
  let activity = 0;
  let lastCheckpoint = Date.now();

  const rawStream = db.execProtocolRawStream.bind(db);
  /** @type {typeof db.execProtocolRawStream} */
  anyDb.execProtocolRawStream = async (message, opts) => {
    if (message[0] === 0x58) return rawStream(message, opts); // Terminate: PGlite ignores it
    idle = false;
    activity++;
    /** @type {number[]} */
    let tail = [];
    await rawStream(message, {
      ...opts,
      onRawData: (data) => {
        const take = Math.min(6, data.length);
        tail = tail.concat(Array.from(data.subarray(data.length - take))).slice(-6);
        opts.onRawData(data);
      },
    });
    // ReadyForQuery: 'Z', int32 length 5, status byte ('I' idle, 'T' in transaction, 'E' failed)
    idle = tail.length === 6 && tail[0] === 0x5a && tail[1] === 0 && tail[2] === 0 && tail[3] === 0 && tail[4] === 5 && tail[5] === 0x49;
  };

  /** @param {string} text */
  const run = async (text) => /** @type {any[]} */ (await anyDb.execProtocolStream(queryMessage(text), { syncToFs: false }));

  let seenActivity = 0;
  let walPending = false; // WAL written since the last checkpoint (as of the last look)
  let busy = false;
  const tick = async () => {
    const due = walPending && Date.now() - lastCheckpoint >= timeTriggerMs;
    if (busy || (activity === seenActivity && !due)) return;
    busy = true;
    try {
      await db.runExclusive(async () => {
        if (!idle || db.isInTransaction()) return; // try again next tick
        seenActivity = activity;
        const res = await run('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::bigint FROM pg_control_checkpoint()');
        const row = res.find((m) => m && m.name === 'dataRow');
        const walBytes = Number(row?.fields?.[0] ?? 0);
        // a checkpoint record itself is ~100 bytes of WAL: not worth another checkpoint
        walPending = walBytes > 4096;
        if (walBytes >= walTrigger || (walPending && Date.now() - lastCheckpoint >= timeTriggerMs)) {
          await run('CHECKPOINT');
          lastCheckpoint = Date.now();
          walPending = false;
        }
      });
    } catch (err) {
      console.error('embedded database: background checkpoint failed:', err);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), input.checkpointIntervalMs);
  return {
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

/**
 * pglite-socket with maxConnections: 1 refuses a connection that arrives while the previous one is
 * still open (Node's net.Server.maxConnections resets it), and a closed socket is released only a
 * few event-loop turns later. So a client that drops its connection and reconnects at once
 * (postgres.js after an error or `sql.end({ timeout: 0 })`) was refused with ECONNRESET (measured:
 * 49 of 50 immediate reconnects). We let pglite-socket accept up to 8 sockets and admit one at a time.
 * Wrap its private handleConnection (pinned pglite-socket 0.2.17): wait up to 2 s for the slot,
 * and if it is still taken, answer with a real Postgres ErrorResponse (53300 too_many_connections)
 * instead of pglite-socket's plain-text line, so the client reports something meaningful.
 * @param {PGLiteSocketServer} server
 */
function admitOneConnectionAtATime(server) {
  const anyServer = /** @type {any} */ (server);
  if (typeof anyServer.handleConnection !== 'function' || !(anyServer.handlers instanceof Set)) {
    throw new Error('pglite-socket internals changed: re-verify src/storage/embedded for this version');
  }
  const handleConnection = anyServer.handleConnection.bind(server);
  /** every client socket, so that stop() can close them all (net.Server.close waits for each) */
  const sockets = new Set();
  anyServer.handleConnection = async (/** @type {import('node:net').Socket} */ socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const deadline = Date.now() + 2000;
    while (anyServer.handlers.size > 0 && anyServer.active && !socket.destroyed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
    }
    if (anyServer.handlers.size > 0 && anyServer.active) {
      socket.end(errorResponse('FATAL', '53300', 'the embedded database serves one connection at a time (use postgres.js max: 1)'));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    return handleConnection(socket);
  };
  return {
    /** Stops accepting, closes every client socket and waits for the listener to close. */
    async stop() {
      const closed = server.stop();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * @param {string} severity
 * @param {string} code
 * @param {string} message
 */
function errorResponse(severity, code, message) {
  const fields = Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${message}\0\0`, 'utf8');
  const msg = Buffer.alloc(5 + fields.length);
  msg.write('E', 0, 'latin1');
  msg.writeInt32BE(4 + fields.length, 1);
  fields.copy(msg, 5);
  return msg;
}

/** '64MB' -> bytes (Postgres units kB, MB, GB; a bare number is MB as for max_wal_size). */
function parseSize(/** @type {string} */ s) {
  const m = /^\s*(\d+)\s*(kB|MB|GB|TB)?\s*$/.exec(s);
  if (!m) throw new Error(`bad size: ${s}`);
  const unit = { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[m[2] ?? 'MB'] ?? 1024 ** 2;
  return Number(m[1]) * unit;
}

async function main() {
  const dataDir = path.resolve(input.dataDir);
  const exists = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!exists) {
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} is not empty and holds no database (no PG_VERSION): refusing to use it`);
    }
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    await createDatabase(dataDir);
  }
  const db = await openPGlite(dataDir);

  // One client connection at a time: every connection to pglite-socket shares PGlite's single
  // backend session (prepared statements, transaction state), and messages of different connections
  // interleave. admitOneConnectionAtATime enforces that; maxConnections here is only the cap on
  // sockets (pglite-socket also sets it as net.Server.maxConnections, which resets connections
  // beyond it without a word), leaving room for a reconnect to wait for the previous socket to end.
  const server = new PGLiteSocketServer({
    db,
    host: input.host,
    port: input.port,
    maxConnections: 8,
    debug: !!process.env.EMBEDDED_DEBUG,
  });
  const admission = admitOneConnectionAtATime(server);
  await server.start();
  const conn = server.getServerConn();
  const boundPort = Number(conn.slice(conn.lastIndexOf(':') + 1));

  const checkpointer = startCheckpointer(db);

  let stopping = false;
  port.on('message', async (/** @type {{ type: string }} */ msg) => {
    if (msg.type !== 'stop' || stopping) return;
    stopping = true;
    try {
      await checkpointer.stop();
      await admission.stop();
      await db.exec('CHECKPOINT');
      await db.close();
      port.postMessage({ type: 'stopped' });
    } catch (err) {
      port.postMessage({ type: 'stopped', error: String(err && /** @type {any} */ (err).stack || err) });
    }
    port.close();
  });

  port.postMessage({ type: 'ready', port: boundPort, host: input.host });
}

main().catch((err) => {
  port.postMessage({ type: 'error', error: String((err && err.stack) || err) });
  port.close();
});
