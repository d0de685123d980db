import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { PG_ADMIN_URL } from '../helpers/pg.ts';
import { freePort } from '../helpers/server.ts';
import type { PeerFaultRule } from '../../src/transport/peer-faults.ts';

/**
 * The cluster under test: member processes on loopback, each with its own Postgres database and a
 * peer-fault file, and the levers the nemesis pulls: SIGKILL and restart, SIGSTOP/SIGCONT, link
 * rules, a database that stops answering (a lock on every table the member uses), a database
 * connection cut (pg_terminate_backend), a database wiped (the member is then removed, added back
 * as a learner on an empty database, and promoted, as an operator would).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const TABLES = ['raft_log', 'raft_state', 'raft_snapshot', 'meta', 'kv', 'leases', 'members'];

export type MemberState = 'running' | 'paused' | 'down';

export interface Member {
  index: number;
  name: string;
  url: string;
  peerUrl: string;
  dbName: string;
  dbUrl: string;
  dataDir: string;
  faultsFile: string;
  proc?: ChildProcess;
  state: MemberState;
  /** Set just before the harness kills it, so the exit is not reported as a crash. */
  expectExit: boolean;
  /** The storage failed and the member stopped serving: a supervisor should restart it. */
  storageFailed: boolean;
  /** It joined a running cluster (after a wipe): restarts use --initial-cluster-state existing. */
  joined?: boolean;
  /** Its database was wiped and it has not rejoined: it must not start as if nothing happened. */
  wipePending: boolean;
  starts: number;
}

export interface ClusterOptions {
  size: number;
  runDir: string;
  args?: string[];
  electionTimeoutMs?: number;
  heartbeatMs?: number;
  snapshotCount?: number;
  /** Called for anything worth writing down (unexpected exits, storage failures). */
  note?: (msg: string) => void;
  /**
   * 'postgres' (default): a database per member on the machine's Postgres. 'pglite': the embedded
   * database under each member's data dir; it runs in a worker thread of the member, so the
   * database faults (stall, cut) do not apply, and a wipe removes the data dir.
   */
  store?: 'postgres' | 'pglite';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function post(url: string, route: string, body: unknown, timeoutMs = 3000): Promise<{ status: number; json: any }> {
  const r = await fetch(url + route, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: text };
  }
  return { status: r.status, json };
}

export interface Status {
  memberId: string;
  leader: string;
  term: number;
  revision: number;
  raftIndex: number;
}

export class Cluster {
  readonly members: Member[] = [];
  readonly electionTimeoutMs: number;
  readonly heartbeatMs: number;
  private readonly logs = new Map<number, WriteStream>();
  private readonly admin = postgres(PG_ADMIN_URL, { max: 2, onnotice: () => {} });
  private readonly stalls = new Set<Promise<void>>();
  /** Member ids by index, as the members report them (a wiped member comes back with a new one). */
  readonly memberIds = new Map<number, string>();
  initialCluster = '';

  get pg(): boolean {
    return (this.opts.store ?? 'postgres') === 'postgres';
  }

  private constructor(readonly opts: ClusterOptions) {
    this.electionTimeoutMs = opts.electionTimeoutMs ?? 1000;
    this.heartbeatMs = opts.heartbeatMs ?? 100;
  }

  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    mkdirSync(opts.runDir, { recursive: true });
    const tag = randomBytes(4).toString('hex');
    for (let i = 0; i < opts.size; i++) {
      const [client, peer] = [await freePort(), await freePort()];
      const dbName = `edgecd_rb_${tag}_${i}`;
      const u = new URL(PG_ADMIN_URL);
      u.pathname = `/${dbName}`;
      const m: Member = {
        index: i,
        name: `m${i}`,
        url: `http://127.0.0.1:${client}`,
        peerUrl: `http://127.0.0.1:${peer}`,
        dbName,
        dbUrl: u.toString(),
        dataDir: path.join(opts.runDir, `m${i}.data`),
        faultsFile: path.join(opts.runDir, `m${i}.faults.json`),
        state: 'down',
        expectExit: false,
        storageFailed: false,
        wipePending: false,
        starts: 0,
      };
      if (c.pg) await c.admin.unsafe(`CREATE DATABASE ${dbName}`);
      c.members.push(m);
      c.setRules(i, []);
    }
    c.initialCluster = c.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    for (let i = 0; i < opts.size; i++) c.spawn(i, 'new');
    await Promise.all(c.members.map((m) => c.waitHealthy(m.index, 90_000)));
    return c;
  }

  private note(msg: string): void {
    this.opts.note?.(msg);
  }

  private spawn(i: number, state: 'new' | 'existing'): void {
    const m = this.members[i];
    m.joined = state === 'existing' || m.joined;
    const args = [
      '--import', 'tsx', MAIN,
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.url,
      '--advertise-client-urls', m.url,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', 'robustness',
      '--heartbeat-interval', String(this.heartbeatMs),
      '--election-timeout', String(this.electionTimeoutMs),
      '--snapshot-count', String(this.opts.snapshotCount ?? 1000),
      '--experimental-peer-faults', m.faultsFile,
      '--experimental-watch-progress-notify-interval', '1s',
      ...(this.opts.args ?? []),
    ];
    const env: Record<string, string> = { ...(process.env as Record<string, string>), DATABASE_URL: m.dbUrl };
    if (!this.pg) delete env.DATABASE_URL;
    delete env.EDGECD_PEER_FAULTS;
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = this.logs.get(i);
    if (!log) this.logs.set(i, (log = createWriteStream(path.join(this.opts.runDir, `${m.name}.log`), { flags: 'a' })));
    log.write(`\n===== ${new Date().toISOString()} start #${m.starts + 1} (${state})\n`);
    const sink = log;
    let tail = '';
    const onData = (d: Buffer) => {
      sink.write(d);
      tail = (tail + d.toString()).slice(-4000);
      if (!m.storageFailed && tail.includes('storage failed, member stops serving')) {
        m.storageFailed = true;
        this.note(`m${i}: storage failed, member stopped serving (restarted by the supervisor)`);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code, signal) => {
      if (m.proc !== proc) return;
      m.state = 'down';
      if (!m.expectExit) this.note(`m${i} exited unasked (code ${code}, signal ${signal}): ${tail.slice(-600).replace(/\s+/g, ' ')}`);
    });
    m.proc = proc;
    m.state = 'running';
    m.expectExit = false;
    m.storageFailed = false;
    m.starts++;
  }

  /** Waits until the member answers /health with 200 (it has a leader). */
  async waitHealthy(i: number, timeoutMs: number): Promise<boolean> {
    const m = this.members[i];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (m.state === 'down') return false;
      try {
        const r = await fetch(`${m.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return true;
      } catch {
        // not yet
      }
      await sleep(100);
    }
    return false;
  }

  async kill(i: number): Promise<void> {
    const m = this.members[i];
    if (!m.proc || m.state === 'down') return;
    m.expectExit = true;
    const exited = new Promise<void>((r) => m.proc!.once('exit', () => r()));
    m.proc.kill('SIGKILL');
    await exited;
    m.state = 'down';
  }

  /** Graceful stop (SIGTERM): a leader hands leadership over first. */
  async terminate(i: number): Promise<void> {
    const m = this.members[i];
    if (!m.proc || m.state === 'down') return;
    if (m.state === 'paused') this.resume(i);
    m.expectExit = true;
    const exited = new Promise<void>((r) => m.proc!.once('exit', () => r()));
    m.proc.kill('SIGTERM');
    const t = setTimeout(() => m.proc?.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
    m.state = 'down';
  }

  /** Starts a member that is down on its existing database. */
  restart(i: number): void {
    const m = this.members[i];
    if (m.state !== 'down' || m.wipePending) return;
    this.spawn(i, m.joined ? 'existing' : 'new');
  }

  pause(i: number): void {
    const m = this.members[i];
    if (m.state !== 'running') return;
    m.proc!.kill('SIGSTOP');
    m.state = 'paused';
  }

  resume(i: number): void {
    const m = this.members[i];
    if (m.state !== 'paused') return;
    m.proc!.kill('SIGCONT');
    m.state = 'running';
  }

  /** Rules for member i's outgoing peer traffic (written atomically; the member re-reads them). */
  setRules(i: number, rules: PeerFaultRule[]): void {
    const f = this.members[i].faultsFile;
    writeFileSync(`${f}.tmp`, JSON.stringify({ rules }));
    renameSync(`${f}.tmp`, f);
  }

  /** Cuts the links between two groups of members (both directions), everything else healthy. */
  partition(groups: number[][]): void {
    const groupOf = new Map<number, number>();
    groups.forEach((g, gi) => g.forEach((i) => groupOf.set(i, gi)));
    for (const m of this.members) {
      const rules = this.members.filter((o) => o !== m && groupOf.get(o.index) !== groupOf.get(m.index)).map((o) => ({ to: o.peerUrl, drop: 1 }));
      this.setRules(m.index, rules);
    }
  }

  healLinks(): void {
    for (const m of this.members) this.setRules(m.index, []);
  }

  /**
   * The member's database stops answering for ms: the harness holds an exclusive lock on every
   * table, so each statement the member sends waits (a stalled disk or server, seen from the member).
   */
  dbStall(i: number, ms: number): Promise<void> {
    const m = this.members[i];
    if (!this.pg) throw new Error('database faults need the Postgres store');
    const sql = postgres(m.dbUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    const p = (async () => {
      try {
        await sql.begin(async (tx) => {
          await tx.unsafe(`SET LOCAL lock_timeout = '5s'`);
          await tx.unsafe(`LOCK TABLE ${TABLES.join(', ')} IN ACCESS EXCLUSIVE MODE`);
          await sleep(ms);
        });
      } catch (err) {
        this.note(`db stall on m${i} could not take its locks: ${(err as Error).message}`);
      } finally {
        await sql.end({ timeout: 1 });
      }
    })();
    this.stalls.add(p);
    void p.finally(() => this.stalls.delete(p));
    return p;
  }

  /** The member's database answers slowly: short stalls (stallMs) with short gaps, for ms. */
  async dbSlow(i: number, ms: number, stallMs: number, gapMs: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      await this.dbStall(i, stallMs);
      await sleep(gapMs);
    }
  }

  /** Terminates the member's database connections (the member sees its connection drop). */
  async dbCut(i: number): Promise<number> {
    if (!this.pg) throw new Error('database faults need the Postgres store');
    const rows = await this.admin`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = ${this.members[i].dbName} AND application_name = 'edgecd'`;
    return rows.length;
  }

  async status(i: number, timeoutMs = 1000): Promise<Status | undefined> {
    const m = this.members[i];
    if (m.state !== 'running') return undefined;
    try {
      const r = await post(m.url, '/v3/maintenance/status', {}, timeoutMs);
      if (r.status !== 200) return undefined;
      this.memberIds.set(i, r.json.header.member_id);
      return {
        memberId: r.json.header.member_id,
        leader: r.json.leader ?? '0',
        term: Number(r.json.raftTerm ?? r.json.header.raft_term ?? 0),
        revision: Number(r.json.header.revision ?? 0),
        raftIndex: Number(r.json.raftIndex ?? 0),
      };
    } catch {
      return undefined;
    }
  }

  /** Index of the member every answering member names as leader (undefined when none, or split). */
  async leader(): Promise<number | undefined> {
    const st = await Promise.all(this.members.map((_, i) => this.status(i)));
    const ids = new Map<string, number>();
    st.forEach((s, i) => s && ids.set(s.memberId, i));
    const named = st.filter((s) => s && s.leader !== '0').map((s) => s!.leader);
    if (named.length === 0) return undefined;
    const l = named[0];
    return named.every((x) => x === l) ? ids.get(l) : undefined;
  }

  /**
   * The member's database is wiped: kill it, empty its database, remove it from the cluster, add it
   * back as a learner, start it on the empty database (it joins and catches up from the log or a
   * snapshot) and promote it once it has caught up.
   */
  async wipe(i: number, deadlineMs = 90_000): Promise<string> {
    const m = this.members[i];
    await this.kill(i);
    m.wipePending = true;
    if (this.pg) {
      await this.admin.unsafe(`DROP DATABASE IF EXISTS ${m.dbName} WITH (FORCE)`);
      await this.admin.unsafe(`CREATE DATABASE ${m.dbName}`);
    }
    rmSync(m.dataDir, { recursive: true, force: true });
    const deadline = Date.now() + deadlineMs;
    const others = () => this.members.filter((o) => o !== m && o.state === 'running');
    /** Asks the other members in turn until one answers 200; undefined if none does. */
    const ask = async (route: string, body: unknown): Promise<any> => {
      for (const o of others()) {
        try {
          const r = await post(o.url, route, body, 8000);
          if (r.status === 200) return r.json;
        } catch {
          // next member
        }
      }
      return undefined;
    };
    const oldId = this.memberIds.get(i);
    let newId: string | undefined;
    let spawned = false;
    while (Date.now() < deadline) {
      const list = await ask('/v3/cluster/member/list', {});
      const entry = list?.members?.find((x: any) => (x.peerURLs ?? []).includes(m.peerUrl));
      if (!list) {
        // no answer yet
      } else if (entry && (entry.ID === oldId || (!spawned && !entry.isLearner))) {
        await ask('/v3/cluster/member/remove', { ID: entry.ID });
      } else if (!entry) {
        await ask('/v3/cluster/member/add', { peerURLs: [m.peerUrl], isLearner: true });
      } else if (!spawned) {
        newId = entry.ID;
        m.wipePending = false;
        this.spawn(i, 'existing');
        spawned = true;
      } else if (entry.isLearner) {
        await ask('/v3/cluster/member/promote', { ID: entry.ID });
      } else {
        this.memberIds.set(i, entry.ID);
        return entry.ID as string;
      }
      await sleep(300);
    }
    throw new Error(`wipe m${i}: did not rejoin in ${deadlineMs} ms (new id ${newId ?? 'none'})`);
  }

  /** Everything back to normal: links healed, paused members resumed, stopped ones restarted. */
  async healAll(): Promise<void> {
    this.healLinks();
    await Promise.all(this.stalls);
    for (const m of this.members) {
      if (m.state === 'paused') this.resume(m.index);
      if (m.state === 'running' && m.storageFailed) await this.kill(m.index);
      if (m.state === 'down') this.restart(m.index);
    }
  }

  async stop(): Promise<void> {
    for (const m of this.members) if (m.state === 'paused') this.resume(m.index);
    await Promise.all(this.members.map((m) => this.kill(m.index)));
    await Promise.all(this.stalls);
    if (this.pg) for (const m of this.members) await this.admin.unsafe(`DROP DATABASE IF EXISTS ${m.dbName} WITH (FORCE)`).catch(() => {});
    await this.admin.end({ timeout: 2 });
    for (const l of this.logs.values()) l.end();
  }
}
