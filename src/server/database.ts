import { existsSync, mkdirSync } from 'node:fs';
import { type Logger, silentLogger } from '../logging/logger.ts';
import path from 'node:path';
import { connect, type Connection } from '../storage/db.ts';
import { EMBEDDED_CLIENT_OPTIONS, startEmbedded, type EmbeddedPostgres } from '../storage/embedded/index.ts';

export interface Database {
  conn: Connection;
  /** The embedded server, when the member has no Postgres of its own. */
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

/** The member's database: its Postgres at databaseUrl, or an embedded PGlite under the data dir. */
export async function openDatabase(dataDir: string, databaseUrl: string | undefined, log: Logger = silentLogger): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  let embedded: EmbeddedPostgres | undefined;
  let url = databaseUrl;
  // The log lane and the applied lane each commit on a connection of their own; reads (history, snapshots) share two more.
  let opts: { max: number; appliedLane?: boolean } = { max: 2, appliedLane: true };
  if (!url) {
    const pg = path.join(dataDir, 'pg');
    if (!existsSync(path.join(pg, 'PG_VERSION'))) log.info({ dir: pg }, 'creating the embedded database (the first start takes 5-10 s)');
    embedded = await startEmbedded(pg);
    url = embedded.url;
    opts = EMBEDDED_CLIENT_OPTIONS;
  }
  try {
    const conn = await connect(url, opts);
    return {
      conn,
      embedded,
      async close() {
        await conn.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
