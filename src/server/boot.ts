import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { connect } from '../storage/db.ts';
import { EMBEDDED_CLIENT_OPTIONS, startEmbedded, type EmbeddedPostgres } from '../storage/embedded/index.ts';
import { MemberStore } from '../storage/member-store.ts';
import { Member } from './member.ts';

export interface BootOptions {
  name: string;
  dataDir: string;
  databaseUrl: string;
}

export interface Booted {
  member: Member;
  close(): Promise<void>;
}

/** Opens the member's database (its Postgres, or embedded PGlite under the data dir) and recovers. */
export async function bootMember(opts: BootOptions): Promise<Booted> {
  let embedded: EmbeddedPostgres | undefined;
  let url = opts.databaseUrl;
  let clientOpts = {};
  if (!url) {
    mkdirSync(opts.dataDir, { recursive: true });
    embedded = await startEmbedded(path.join(opts.dataDir, 'pg'));
    url = embedded.url;
    clientOpts = EMBEDDED_CLIENT_OPTIONS;
  }
  try {
    const conn = await connect(url, clientOpts);
    const member = await Member.open(new MemberStore(conn), { name: opts.name });
    return {
      member,
      async close() {
        await member.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
