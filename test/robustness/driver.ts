import http from 'node:http';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../watch/model.ts';
import { checkHistory, formatAnomaly, type Anomaly, type CheckReport } from './check.ts';
import { Cluster, post } from './cluster.ts';
import type { History, LeaderChange, WatchEvent } from './history.ts';
import { DB_FAULTS, FAULT_KINDS, Nemesis, PROXY_FAULTS, pickFault, type FaultKind } from './nemesis.ts';
import { ProxyTier } from './proxies.ts';
import { parseEvent, Workload } from './workload.ts';
import { AuthChurn, APP_USER, enableAuth, ROOT_USER, TokenSource } from './auth-client.ts';
import { ELECTION_NAME, LEASE_PREFIX, REGISTER_PREFIX } from './history.ts';
import { CoordinationWorkload } from './workload-coord.ts';
import { Queue } from './check-coord.ts';
import { Reference } from './reference.ts';

/**
 * One robustness run: a cluster, the clients, a monitor that follows the leader (and restarts a
 * member whose storage failed, as a supervisor would), the nemesis injecting faults on a schedule
 * drawn from the seed, then healing, settling, reading every member's final state and history,
 * and checking it all.
 */

export interface RunOptions {
  seed: number;
  members: number;
  /** How long faults are injected. */
  durationMs: number;
  /** Fault kinds in order (repeated as needed); default: drawn from the seed. */
  schedule?: FaultKind[];
  clients?: number;
  keys?: number;
  watchers?: number;
  leaseClients?: number;
  /** TTLs of the short leases, in seconds: [min, max]. */
  leaseTtls?: [number, number];
  /** Quiet time between faults (ms): [min, max). */
  quietMs?: [number, number];
  runDir: string;
  log?: (msg: string) => void;
  /** Most time the cluster may take to have a leader again after a fault is healed. */
  recoveryMs?: number;
  /** --snapshot-count of the members (small: followers that fall behind get snapshots often). */
  snapshotCount?: number;
  store?: 'postgres' | 'pglite';
  /** Auth on (edgecd's default JWTs), with role churn and writes that must be refused (auth-client.ts). */
  auth?: boolean;
  /** Lock clients: lock, fenced writes, unlock (workload-coord.ts). */
  lockClients?: number;
  /** Election clients: campaign, proclaim, resign; plus observers. */
  electionClients?: number;
  /** Observe streams (default 2 when there are election clients). */
  observers?: number;
  /**
   * Edge proxies in front of the cluster (`edgecd proxy`, sharing the machine's Redis through a
   * relay the nemesis cuts): `proxyWatchers` SSE watchers (default 2 per proxy) follow every key
   * through them and resume on another proxy when theirs dies; adds the kill-proxy and redis-down faults.
   */
  proxies?: number;
  proxyWatchers?: number;
}

export interface RunResult {
  history: History;
  report: CheckReport;
  anomalies: Anomaly[];
  summary: string;
  historyFile: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runRobustness(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? ((m: string) => console.log(m));
  const notes: string[] = [];
  const extra: Anomaly[] = [];
  mkdirSync(o.runDir, { recursive: true });
  const rng = new Rng(o.seed);
  const started = Date.now();
  log(`robustness: seed ${o.seed}, ${o.members} members on ${o.store ?? 'postgres'}, ${(o.durationMs / 60_000).toFixed(1)} min of faults; logs in ${o.runDir}`);
  const cluster = await Cluster.start({
    size: o.members,
    runDir: o.runDir,
    snapshotCount: o.snapshotCount,
    store: o.store,
    note: (m) => {
      notes.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${m}`);
      log(`  note: ${m}`);
    },
  });
  const urls = () => cluster.members.filter((m) => m.state !== 'down').map((m) => m.url);
  const proxies = o.proxies ? await ProxyTier.start(o.proxies, cluster.members.map((m) => m.url), o.runDir) : undefined;
  if (proxies) log(`  ${o.proxies} proxies: ${proxies.proxies.map((p) => p.url).join(', ')}; Redis through relay port ${proxies.relay.port}`);
  let rootToken: TokenSource | undefined;
  let churn: AuthChurn | undefined;
  let appToken: TokenSource | undefined;
  if (o.auth) {
    await enableAuth(urls(), [REGISTER_PREFIX, LEASE_PREFIX]);
    rootToken = new TokenSource(urls, ROOT_USER);
    appToken = new TokenSource(urls, APP_USER);
  }
  const workload = new Workload(
    cluster,
    {
      auth: appToken,
      clients: o.clients ?? 8,
      keys: o.keys ?? 12,
      watchers: o.watchers ?? 3,
      leaseClients: o.leaseClients ?? 3,
      leaseTtls: o.leaseTtls,
      timeoutMs: 4000,
      thinkMs: 5,
      proxies,
      proxyWatchers: o.proxyWatchers ?? (o.proxies ?? 0) * 2,
    },
    o.seed,
  );
  const lockClients = o.lockClients ?? 0;
  const electionClients = o.electionClients ?? 0;
  if (o.auth && (lockClients || electionClients)) throw new Error('the lock and election workloads do not run with --auth');
  const coord =
    lockClients || electionClients
      ? new CoordinationWorkload(cluster, { lockClients, electionClients, observers: o.observers, timeoutMs: 4000, waitMs: 15_000 }, o.seed, () => workload.now())
      : undefined;
  const nemesis = new Nemesis(cluster, () => workload.now(), log, proxies);
  const leaderChanges: LeaderChange[] = [];
  let monitoring = true;
  // Every poll of every member's status, for reading what happened afterwards.
  const timeline = createWriteStream(path.join(o.runDir, 'status.ndjson'));
  const monitor = (async () => {
    let last = '';
    let maxTerm = 0;
    while (monitoring) {
      const st = await Promise.all(cluster.members.map((_, i) => cluster.status(i, 800)));
      timeline.write(JSON.stringify({ t: Math.round(workload.now()), st: st.map((s, i) => (s ? [s.term, s.leader.slice(-4), s.raftIndex, s.revision] : cluster.members[i].state)) }) + '\n');
      // A new term may restart lease clocks even before anyone names its leader.
      const top = Math.max(0, ...st.map((s) => s?.term ?? 0));
      if (top > maxTerm) {
        if (maxTerm > 0) leaderChanges.push({ at: workload.now(), term: top, leader: -1 });
        maxTerm = top;
      }
      // The leader named by the highest term wins (a deposed leader may not know yet).
      let best: { term: number; leader: string } | undefined;
      for (const s of st) if (s && s.leader !== '0' && (!best || s.term > best.term)) best = s;
      if (best) {
        const idx = [...cluster.memberIds].find(([, id]) => id === best!.leader)?.[0];
        nemesis.leader = idx;
        const key = `${best.term}/${best.leader}`;
        if (key !== last && idx !== undefined) {
          last = key;
          leaderChanges.push({ at: workload.now(), term: best.term, leader: idx });
        }
      }
      // Supervisor: a member whose storage failed is restarted.
      for (const m of cluster.members) {
        if (m.state === 'running' && m.storageFailed) {
          await cluster.kill(m.index);
          cluster.restart(m.index);
        }
      }
      await sleep(250);
    }
  })();

  workload.start();
  coord?.start();
  if (appToken && rootToken) {
    churn = new AuthChurn(urls, rootToken, appToken, () => workload.now());
    churn.start();
  }
  const waitLeader = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const l = await cluster.leader();
      if (l !== undefined) return l;
      await sleep(200);
    }
    return undefined;
  };

  // Faults.
  const end = Date.now() + o.durationMs;
  let n = 0;
  const [qMin, qMax] = o.quietMs ?? [1000, 4000];
  while (Date.now() < end) {
    await sleep(qMin + rng.int(qMax - qMin));
    if (Date.now() >= end) break;
    const kinds = FAULT_KINDS.filter((k) => (o.store !== 'pglite' || !DB_FAULTS.includes(k)) && (proxies !== undefined || !PROXY_FAULTS.includes(k)));
    const kind = o.schedule ? o.schedule[n % o.schedule.length] : pickFault(rng, kinds);
    n++;
    const t0 = Date.now();
    const rec = await nemesis.run(kind, rng);
    const l = await waitLeader(o.recoveryMs ?? 30_000);
    log(`  ${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s fault ${kind}${rec.targets.length ? ` on ${rec.targets.map((t) => `m${t}`).join(',')}` : ''}${rec.note ? ` (${rec.note})` : ''}: ${Date.now() - t0} ms, leader after: ${l === undefined ? 'NONE' : `m${l}`}; ${workload.ops.length} ops so far`);
    if (l === undefined) extra.push({ checker: 'harness', message: `no leader ${((o.recoveryMs ?? 30_000) / 1000).toFixed(0)} s after healing fault ${kind} on ${rec.targets.join(',')}` });
  }

  // Settle: everything healed, clients stopped, members converged.
  await cluster.healAll();
  await proxies?.healAll();
  for (const m of cluster.members) if (!(await cluster.waitHealthy(m.index, 60_000))) extra.push({ checker: 'harness', message: `m${m.index} not healthy 60 s after the last fault was healed` });
  await churn?.stop();
  await Promise.all([workload.stopClients(), coord?.stopClients()]);
  const finalRevision = await converge(cluster, 60_000);
  if (finalRevision === undefined) extra.push({ checker: 'agreement', message: 'members did not converge on one revision within 60 s after the faults ended' });
  const rev = finalRevision ?? Math.max(0, ...(await Promise.all(cluster.members.map((_, i) => cluster.status(i)))).map((s) => s?.revision ?? 0));

  // Final linearizable reads of every key on every member.
  for (const m of cluster.members) for (const key of workload.keys) await workload.read(m.index, key);
  // Final key space and history of each member.
  // The churn has stopped: a token issued now stays good for the final reads.
  const rootAuth = rootToken && (await rootToken.fresh());
  const finalRanges = await Promise.all(cluster.members.map((m) => fullRange(m.url, rev, rootAuth)));
  const finalHistories = await Promise.all(cluster.members.map((m) => fullHistory(m.url, rev, 180_000, rootAuth)));
  if (churn) {
    extra.push(...churn.check(finalHistories.find((h) => h !== undefined) ?? []));
    notes.push(churn.summary());
    log(churn.summary());
  }
  // Watchers must catch up with the final revision.
  const caughtUp = Date.now() + 30_000;
  while (Date.now() < caughtUp) {
    const behind = workload.watchers.filter((w) => {
      const evs = w.sessions.flatMap((s) => s.events);
      return (evs[evs.length - 1]?.rev ?? 0) < rev;
    });
    if (behind.length === 0) break;
    await sleep(250);
  }
  // Observers with an open stream must have seen the last leader change.
  const agreed = finalHistories.find((h) => h !== undefined);
  if (coord && electionClients && agreed) {
    const last = new Queue(new Reference(agreed, rev), ELECTION_NAME).changes.pop()?.rev ?? 0;
    const until = Date.now() + 20_000;
    while (Date.now() < until && coord.openObservers().some((x) => x.open && x.lastRev !== undefined && x.lastRev < last)) await sleep(250);
  }
  if (proxies) {
    // Before the watchers stop: each proxy's subscribers should share one upstream watch.
    const m = (name: string) => Promise.all(proxies.proxies.map((p) => proxies.metric(p.index, name)));
    const [subs, ups] = [await m('edgecd_proxy_subscribers'), await m('edgecd_proxy_upstream_watches')];
    notes.push(`proxies at the end: subscribers ${subs.join(', ')}, upstream watches ${ups.join(', ')}; started ${proxies.proxies.map((p) => p.starts).join(', ')} times`);
  }
  await Promise.all([workload.stop(), coord?.stop()]);
  await proxies?.stop();
  monitoring = false;
  await monitor;
  timeline.end();
  await cluster.stop();

  const history: History = {
    seed: o.seed,
    members: o.members,
    keys: workload.keys,
    electionTimeoutMs: cluster.electionTimeoutMs,
    ops: workload.ops,
    watchers: workload.watchers,
    ...(proxies ? { proxies: proxies.proxies.length } : {}),
    leases: workload.leases,
    faults: nemesis.faults,
    leaderChanges,
    finalHistories,
    finalRevision: rev,
    finalRanges,
    notes,
    ...(coord && lockClients ? { locks: coord.locks } : {}),
    ...(coord && electionClients ? { elections: coord.elections } : {}),
  };
  const historyFile = path.join(o.runDir, 'history.json');
  writeFileSync(historyFile, JSON.stringify(history));
  const report = checkHistory(history);
  const anomalies = [...extra, ...report.anomalies];
  const summary = summarize(history, report, anomalies, Date.now() - started);
  writeFileSync(path.join(o.runDir, 'summary.txt'), summary + '\n');
  return { history, report, anomalies, summary, historyFile };
}

/** Waits until every member reports the same revision and raft index twice in a row. */
async function converge(cluster: Cluster, ms: number): Promise<number | undefined> {
  const deadline = Date.now() + ms;
  let prev = '';
  while (Date.now() < deadline) {
    const st = await Promise.all(cluster.members.map((_, i) => cluster.status(i, 2000)));
    if (st.every((s) => s !== undefined)) {
      const key = st.map((s) => `${s!.revision}/${s!.raftIndex}`);
      if (key.every((k) => k === key[0])) {
        if (key[0] === prev) return st[0]!.revision;
        prev = key[0];
      } else prev = '';
    }
    await sleep(500);
  }
  return undefined;
}

async function fullRange(url: string, rev: number, token?: string): Promise<Record<string, { value: string; mod: number; create: number; version: number }> | undefined> {
  try {
    const res = await fetch(`${url}/v3/kv/range`, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify({ key: 'AA==', range_end: 'AA==', revision: String(rev), serializable: true }), signal: AbortSignal.timeout(30_000) });
    const r = { status: res.status, json: (await res.json()) as any };
    if (r.status !== 200) return undefined;
    const out: Record<string, { value: string; mod: number; create: number; version: number }> = {};
    const s = (b: string | undefined) => (b ? Buffer.from(b, 'base64').toString() : '');
    for (const kv of r.json.kvs ?? []) out[s(kv.key)] = { value: s(kv.value), mod: Number(kv.mod_revision), create: Number(kv.create_revision), version: Number(kv.version ?? 0) };
    return out;
  } catch {
    return undefined;
  }
}

/** Every event from revision 1 up to rev, read through one watch. */
function fullHistory(url: string, rev: number, timeoutMs: number, token?: string): Promise<WatchEvent[] | undefined> {
  const u = new URL('/v3/watch', url);
  const body = JSON.stringify({ create_request: { key: 'AA==', range_end: 'AA==', start_revision: '1', prev_kv: true } });
  return new Promise((resolve) => {
    const events: WatchEvent[] = [];
    let settled = false;
    const done = (v: WatchEvent[] | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    if (rev <= 1) {
      setImmediate(() => done([]));
    }
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body), ...(token ? { authorization: token } : {}) } }, (res) => {
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const r = JSON.parse(line).result ?? {};
          if (r.canceled) return done(undefined);
          for (const e of r.events ?? []) {
            const ev = parseEvent(e);
            if (ev.rev > rev) return done(events);
            events.push(ev);
            if (ev.rev === rev) {
              // Every event of the last revision is in this answer (a revision is never split).
              continue;
            }
          }
          if (events.length && events[events.length - 1].rev === rev) return done(events);
        }
      });
      res.on('end', () => done(undefined));
      res.on('error', () => done(undefined));
    });
    req.on('error', () => done(undefined));
    req.end(body);
  });
}

export function summarize(h: History, r: CheckReport, anomalies: Anomaly[], wallMs: number): string {
  const lines: string[] = [];
  const count = <T>(xs: T[], f: (x: T) => string) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(f(x), (m.get(f(x)) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]);
  };
  lines.push(`robustness summary: seed ${h.seed}, ${h.members} members, ${(wallMs / 60_000).toFixed(1)} min wall clock (replay: npm run robustness -- --seed ${h.seed} --members ${h.members}${h.proxies ? ` --proxies ${h.proxies}` : ''})`);
  const ok = h.ops.filter((o) => o.ret !== undefined).length;
  lines.push(`operations: ${h.ops.length} (${ok} answered, ${h.ops.length - ok} failed or unknown)`);
  const kinds = count(h.ops, (o) => o.kind);
  lines.push(
    `  by kind: ${kinds
      .map(([k, n]) => {
        const done = h.ops.filter((o) => o.kind === k && o.ret !== undefined).length;
        return `${k} ${n} (${done} ok)`;
      })
      .join(', ')}`,
  );
  const cas = h.ops.filter((o) => o.kind === 'cas' && o.ret !== undefined);
  lines.push(`  compare-and-swap: ${cas.filter((o) => o.ok).length} succeeded, ${cas.filter((o) => !o.ok).length} failed their compare`);
  lines.push(`  final revision ${h.finalRevision}, ${r.historyEvents} events in the agreed history`);
  const sessions = h.watchers.reduce((s, w) => s + w.sessions.length, 0);
  lines.push(`watches: ${h.watchers.length} watchers, ${sessions} streams (resumed ${sessions - h.watchers.length} times), ${r.watchEvents} events checked`);
  const viaProxy = h.watchers.filter((w) => w.via === 'proxy');
  if (viaProxy.length || h.proxies) {
    const streams = viaProxy.reduce((s, w) => s + w.sessions.length, 0);
    const opened = viaProxy.reduce((s, w) => s + w.sessions.filter((x) => x.created !== undefined || x.events.length > 0).length, 0);
    const evs = viaProxy.reduce((s, w) => s + w.sessions.reduce((t, x) => t + x.events.filter((e) => e.rev <= (h.finalRevision ?? Infinity)).length, 0), 0);
    const proxiesSeen = new Set(viaProxy.flatMap((w) => w.sessions.map((x) => x.proxy)));
    lines.push(`proxies: ${h.proxies ?? '?'}; ${viaProxy.length} SSE subscribers through them, ${streams} streams (${opened} answered, over ${proxiesSeen.size} proxies), ${evs} events received (counted by event, checked with the rest)`);
  }
  lines.push(`leases: ${h.leases.length} granted, ${h.leases.reduce((s, l) => s + l.renewals.length, 0)} keep-alives, ${r.leaseProbes} probes checked`);
  if (h.locks) {
    const c = r.coord;
    const attempts = h.locks.attempts.length;
    lines.push(
      `locks: ${attempts} lock requests, ${c.acquisitions} acquisitions answered (${c.acquiredGone} after their key's lease had ended), fenced writes: ${c.fencedOk} succeeded, ${c.fencedRefused} refused by the fence, ${c.fencedUnknown} unknown, ${c.fencedInHistory} in the history; ${c.staleHolders} holders let their lease lapse`,
    );
  }
  if (h.elections) {
    const c = r.coord;
    lines.push(
      `elections: ${h.elections.campaigns.length} campaigns, ${c.leaders} leaders answered, proclaims: ${c.proclaimsOk} succeeded, ${c.proclaimsRefused} refused (not leader); ${c.leaderChanges} leader changes in the history, ${c.observedEvents} observed events over ${c.observerSessions} observe streams`,
    );
  }
  lines.push(`faults injected: ${h.faults.length}: ${count(h.faults, (f) => f.kind).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  lines.push(`leader changes seen: ${Math.max(0, h.leaderChanges.length - 1)}`);
  lines.push(
    `checker: ${r.registers.keys} keys, ${r.registers.checked} operations in the linearizability search (${r.registers.droppedUnknownWrites} unknown writes never seen dropped, ${r.registers.unknownKept} unknown kept), ${r.registers.steps} steps, ${(r.ms / 1000).toFixed(1)} s`,
  );
  if (h.notes.length) lines.push(`notes (${h.notes.length}):`, ...h.notes.slice(0, 30).map((n) => `  ${n}`));
  lines.push(`anomalies: ${anomalies.length}`);
  for (const a of anomalies.slice(0, 40)) lines.push(formatAnomaly(a).replace(/^/gm, '  '));
  return lines.join('\n');
}

export { FAULT_KINDS };
