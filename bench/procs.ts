import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { unixSocket } from '../src/storage/db.ts';

/** CPU seconds (user + system) a process has used so far; 0 if it is gone. */
export function cpuSeconds(pid: number): number {
  return statSeconds(`/proc/${pid}/stat`);
}

/** User + system CPU seconds from a /proc stat file (a process's or one thread's); 0 if it is gone. */
export function statSeconds(file: string): number {
  try {
    const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The machine's Postgres server processes (edgecd members on DATABASE_URL spend CPU there too). */
export function postgresPids(): number[] {
  try {
    return execFileSync('pgrep', ['-x', 'postgres'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The Postgres processes that work for these databases: their backends, and the server's shared
 * background processes (WAL writer, checkpointer, ...), without the backends of anyone else's
 * databases (tests running beside a benchmark would otherwise count).
 */
/** A client for a member's database URL, whether it names a TCP address or a Unix socket (?host=/dir). */
export function pgClient(url: string): postgres.Sql {
  const { url: u, path } = unixSocket(url);
  return postgres(u, { max: 1, path, onnotice: () => {} });
}

export async function postgresPidsFor(databaseUrls: string[]): Promise<number[]> {
  if (databaseUrls.length === 0) return [];
  const names = databaseUrls.map((u) => new URL(u).pathname.slice(1));
  const sql = pgClient(databaseUrls[0]);
  try {
    const rows = await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ANY(${names}) OR backend_type <> 'client backend'`;
    return rows.map((r) => r.pid);
  } finally {
    await sql.end();
  }
}
