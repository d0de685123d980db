// npm run bench:anatomy [-- --members 3 --store postgres|pglite --workload put --clients 64 --seconds 8 --member-args '--flag value']
// Where a write's cost goes: runs one workload with wrk and prints, per 1,000 requests, the CPU
// seconds of each member process and of each member's Postgres backends, the database
// transactions, rows and WAL bytes each member's database took, and each member's log syncs
// (etcd_disk_wal_fsync) and applied-state commits (etcd_disk_backend_commit).
import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds, pgClient, postgresPids, postgresPidsFor, statSeconds } from './procs.ts';
import { startEdgecdTarget } from './targets.ts';
import { drive, preload, type Workload } from './workloads.ts';

/** A process's CPU seconds in the kernel (system time); 0 if it is gone. */
function systemSeconds(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[12]) / 100;
  } catch {
    return 0;
  }
}
/** A process's read and write system calls so far (/proc/<pid>/io); zeros if it is gone. */
function syscalls(pid: number): { r: number; w: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
    return { r: get('syscr'), w: get('syscw') };
  } catch {
    return { r: 0, w: 0 };
  }
}
/** A process's context switches so far, summed over its threads: voluntary (it waited) and not (it was preempted). */
function switches(pid: number): { v: number; n: number } {
  let v = 0;
  let n = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const st = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      v += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      n += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
    }
  } catch {
    // gone
  }
  return { v, n };
}

/** CPU seconds of each thread of a process, by thread id (the main thread's id is the pid). */
function threadSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(Number(tid), statSeconds(`/proc/${pid}/task/${tid}/stat`));
  } catch {
    // gone
  }
  return out;
}

/** The main thread, the busiest other thread (the embedded database's, when there is one) and the rest. */
function threadSplit(before: Map<number, number>, after: Map<number, number>, pid: number): { main: number; top: number; rest: number } {
  const d = [...after].map(([tid, s]) => [tid, s - (before.get(tid) ?? 0)] as const);
  const main = d.find(([tid]) => tid === pid)?.[1] ?? 0;
  const others = d.filter(([tid]) => tid !== pid).map(([, s]) => s).sort((a, b) => b - a);
  return { main, top: others[0] ?? 0, rest: others.slice(1).reduce((a, b) => a + b, 0) };
}

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

interface DbStats {
  commits: number;
  inserted: number;
  updated: number;
  deleted: number;
}

async function dbStats(url: string): Promise<DbStats> {
  const name = new URL(url).pathname.slice(1);
  const sql = pgClient(url);
  try {
    const [r] = await sql<{ c: string; i: string; u: string; d: string }[]>`SELECT xact_commit AS c, tup_inserted AS i, tup_updated AS u, tup_deleted AS d FROM pg_stat_database WHERE datname = ${name}`;
    return { commits: Number(r.c), inserted: Number(r.i), updated: Number(r.u), deleted: Number(r.d) };
  } finally {
    await sql.end();
  }
}

async function walBytes(url: string): Promise<number> {
  const sql = pgClient(url);
  try {
    const [r] = await sql<{ b: string }[]>`SELECT wal_bytes AS b FROM pg_stat_wal`;
    return Number(r.b);
  } finally {
    await sql.end();
  }
}

/** The count and sum of a histogram in a member's /metrics. */
async function histogram(url: string, name: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (part: string) => Number(new RegExp(`^${name}_${part}(?:\\{[^}]*\\})? ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? 0);
  return { count: read('count'), sum: read('sum') };
}

async function main(): Promise<void> {
  const members = Number(arg('members', '3'));
  const store = arg('store', 'postgres') as 'postgres' | 'pglite';
  const workload = arg('workload', 'put') as Workload;
  const clients = Number(arg('clients', '64'));
  const seconds = Number(arg('seconds', '8'));
  if (arg('member-args', '')) process.env.EDGECD_MEMBER_ARGS = arg('member-args', '');
  const t = await startEdgecdTarget(members, store);
  try {
    await preload(t.urls[0]);
    const dbs = t.databaseUrls?.() ?? [];
    // Each member's own backends, by database; the server's background processes apart.
    const backends = await Promise.all(dbs.map((u) => postgresPidsFor([u])));
    const background = postgresPids().filter((p) => !backends.flat().includes(p));
    const own = backends.map((pids, i) => pids.filter((p) => !backends.some((o, j) => j !== i && o.includes(p))));
    const cpu = () => ({
      members: t.pids().map(cpuSeconds),
      system: t.pids().map(systemSeconds),
      calls: t.pids().map(syscalls),
      threads: t.pids().map(threadSeconds),
      switches: t.pids().map(switches),
      dbs: own.map((pids) => pids.reduce((s, p) => s + cpuSeconds(p), 0)),
      background: background.reduce((s, p) => s + cpuSeconds(p), 0),
    });
    const counters = async () => ({
      db: await Promise.all(dbs.map(dbStats)),
      wal: dbs.length ? await walBytes(dbs[0]) : 0,
      fsyncs: await Promise.all(t.urls.map((u) => histogram(u, 'etcd_disk_wal_fsync_duration_seconds'))),
      commits: await Promise.all(t.urls.map((u) => histogram(u, 'etcd_disk_backend_commit_duration_seconds'))),
    });
    const c0 = cpu();
    const k0 = await counters();
    const r = await drive(t.urls, workload, clients, seconds, 'wrk');
    const c1 = cpu();
    const k1 = await counters();
    const n = (r.rps * seconds) / 1000;
    const per = (x: number) => (x / n).toFixed(3);
    const ms = (a: { count: number; sum: number }, b: { count: number; sum: number }) => ((1000 * (a.sum - b.sum)) / Math.max(1, a.count - b.count)).toFixed(2);
    console.log(`${t.system} x${members} ${workload} ${clients} clients: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.errors} errors)`);
    console.log('per 1,000 requests:');
    let total = 0;
    t.urls.forEach((u, i) => {
      const m = c1.members[i] - c0.members[i];
      const d = dbs[i] ? c1.dbs[i] - c0.dbs[i] : 0;
      const th = threadSplit(c0.threads[i], c1.threads[i], t.pids()[i]);
      total += m + d;
      const db = dbs[i] ? k1.db[i] : undefined;
      const db0 = dbs[i] ? k0.db[i] : undefined;
      console.log(
        `  member ${i + 1}: CPU-s member ${per(m)} (main thread ${per(th.main)}, busiest other thread ${per(th.top)}, the rest ${per(th.rest)}; kernel ${per(c1.system[i] - c0.system[i])}; syscalls read ${per((c1.calls[i].r - c0.calls[i].r) / 1000)}k write ${per((c1.calls[i].w - c0.calls[i].w) / 1000)}k; context switches voluntary ${per((c1.switches[i].v - c0.switches[i].v) / 1000)}k preempted ${per((c1.switches[i].n - c0.switches[i].n) / 1000)}k)${dbs[i] ? ` + its backends ${per(d)}` : ''}; log syncs ${per(k1.fsyncs[i].count - k0.fsyncs[i].count)} (${ms(k1.fsyncs[i], k0.fsyncs[i])} ms each), applied commits ${per(k1.commits[i].count - k0.commits[i].count)} (${ms(k1.commits[i], k0.commits[i])} ms each)` +
          (db && db0 ? `; db transactions ${per(db.commits - db0.commits)}, rows ins ${per(db.inserted - db0.inserted)} upd ${per(db.updated - db0.updated)} del ${per(db.deleted - db0.deleted)}` : ''),
      );
    });
    const bg = c1.background - c0.background;
    total += bg;
    if (dbs.length) console.log(`  Postgres background (WAL writer, checkpointer, ...): CPU-s ${per(bg)}; WAL ${((k1.wal - k0.wal) / n / 1024).toFixed(1)} KiB`);
    console.log(`  whole system: ${per(total)} CPU-s`);
  } finally {
    await t.stop();
  }
}

await main();
