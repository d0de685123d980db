import http from 'node:http';
import { Rng, sleep } from '../watch/model.ts';
import type { Cluster } from './cluster.ts';
import {
  ELECTION_NAME,
  FENCE_KEY,
  LOCK_NAME,
  type Call,
  type CampaignAttempt,
  type ElectionHistory,
  type LockAttempt,
  type LockHistory,
  type ObservedLeader,
  type ObserverRecord,
  type ObserveSession,
  type Proclaim,
} from './history.ts';
import { HarnessStream, type OpenStreams } from './harness-stream.ts';
import { getEventStream, SseFrames, type SseMessage } from '../helpers/sse-stream.ts';

/**
 * The lock and election clients (checked by check-coord.ts).
 *
 * Lock clients each keep a short lease alive (a session) and loop: lock the one name, read the
 * lock key's create revision (the fencing token), put the shared fence key a few times in txns
 * that compare that create revision, unlock. Now and then a holder stops renewing its lease and
 * sleeps past its TTL before writing: its writes must then be refused by the fence. A lock whose
 * outcome is unknown (timed out, connection lost) gives up its session: the lease is revoked (or
 * left to expire), which takes its key out of the queue wherever it is.
 *
 * Election clients campaign on the one name, each campaign with a new short lease kept alive,
 * proclaim a few values while leader, then resign, or stop renewing and let the lease expire (now
 * and then after proclaiming once more past its TTL: refused). Observers stream
 * /v3/election/observe on members picked at random and reconnect elsewhere when a stream ends,
 * goes quiet, or the harness drops it; every second observer uses the SSE route and resumes after
 * its Last-Event-ID, so it must go on exactly where it was.
 */

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString() : '');

export interface CoordOptions {
  lockClients: number;
  electionClients: number;
  /** Observe streams (default: 2 when there are election clients). */
  observers?: number;
  /** Lease TTLs in seconds: [min, max]. */
  leaseTtls?: [number, number];
  /** Timeout of an ordinary request. */
  timeoutMs: number;
  /** How long a lock or campaign may wait. */
  waitMs: number;
}

interface Session {
  id: string;
  ttl: number;
  /** Keep-alives go on while true. */
  keep: boolean;
  /** A keep-alive answered that the lease is gone. */
  gone: boolean;
}

export class CoordinationWorkload {
  readonly locks: LockHistory = { name: LOCK_NAME, fenceKey: FENCE_KEY, attempts: [] };
  readonly elections: ElectionHistory = { name: ELECTION_NAME, campaigns: [], observers: [] };
  private stopped = false;
  private clientsStopped = false;
  private readonly halt = new AbortController();
  private readonly clientLoops: Promise<void>[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly keepers = new Set<Promise<void>>();
  private readonly streams: OpenStreams = new Set();
  private leaseSeq = 0;
  private valueSeq = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly o: CoordOptions,
    private readonly seed: number,
    readonly now: () => number,
  ) {}

  start(): void {
    for (let c = 0; c < this.o.lockClients; c++) this.clientLoops.push(this.lockClient(c, new Rng(this.seed * 31337 + c)));
    for (let c = 0; c < this.o.electionClients; c++) this.clientLoops.push(this.electionClient(c, new Rng(this.seed * 27449 + c)));
    const observers = this.o.electionClients > 0 ? (this.o.observers ?? 2) : 0;
    for (let w = 0; w < observers; w++) this.loops.push(this.observer(w, new Rng(this.seed * 65537 + w)));
  }

  /** Stops the lock and election clients (their waits are abandoned, their leases revoked); observers go on. */
  async stopClients(): Promise<void> {
    this.clientsStopped = true;
    this.halt.abort();
    await Promise.all(this.clientLoops);
    await Promise.all([...this.keepers]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.streams) s.close('harness stopped');
    await Promise.all(this.loops);
  }

  /** Each observer's last line, if its current stream is open and has shown one. */
  openObservers(): { open: boolean; lastRev?: number }[] {
    return this.elections.observers.map((o) => {
      const s = o.sessions[o.sessions.length - 1];
      return { open: !!s && s.end === undefined, lastRev: s?.lines[s.lines.length - 1]?.rev };
    });
  }

  private pickMember(rng: Rng): number {
    const up = this.cluster.members.filter((m) => m.state !== 'down').map((m) => m.index);
    return up.length ? rng.pick(up) : rng.int(this.cluster.members.length);
  }

  private value(prefix: string, client: number): string {
    return `${prefix}${client}-${this.valueSeq++}`;
  }

  /** One request, recorded in rec: ret and rev when answered 200. Answers the status and body when there was one. */
  private async send(rec: Call, route: string, body: unknown, timeoutMs: number, wait = false): Promise<{ status: number; json: any } | undefined> {
    rec.call = this.now();
    // Not AbortSignal.any([AbortSignal.timeout(), ...]): on Node 20 the timeout signal, referenced
    // only weakly by the combined one, can be collected before it fires (waits of 21 s were seen
    // with a 15 s timeout).
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
    const onHalt = () => ac.abort(new DOMException('stopped', 'AbortError'));
    if (wait && this.halt.signal.aborted) onHalt();
    else if (wait) this.halt.signal.addEventListener('abort', onHalt, { once: true });
    try {
      const r = await fetch(this.cluster.members[rec.member].url + route, { method: 'POST', body: JSON.stringify(body), signal: ac.signal });
      const text = await r.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = { error: text };
      }
      if (r.status !== 200) {
        rec.error = `${r.status} ${json.error ?? text}`.slice(0, 120);
        return { status: r.status, json };
      }
      rec.rev = Number(json.header?.revision ?? 0);
      rec.ret = this.now();
      return { status: 200, json };
    } catch (err) {
      const e = err as Error;
      const reason = ac.signal.aborted ? (ac.signal.reason as Error) : e;
      rec.error = (reason.name === 'TimeoutError' ? 'timeout' : reason.name === 'AbortError' ? 'stopped' : e.message).slice(0, 120);
      return undefined;
    } finally {
      clearTimeout(timer);
      this.halt.signal.removeEventListener('abort', onHalt);
    }
  }

  // ---- leases ----

  /** Grants a lease with a TTL drawn from the options and keeps it alive while session.keep. */
  private async session(client: number, base: number, rng: Rng): Promise<Session | undefined> {
    const [lo, hi] = this.o.leaseTtls ?? [2, 4];
    const ttl = lo + rng.int(hi - lo + 1);
    const id = String(base + client * 1_000_000 + this.leaseSeq++);
    const rec: Call = { member: this.pickMember(rng), call: 0 };
    const r = await this.send(rec, '/v3/lease/grant', { ID: id, TTL: String(ttl) }, this.o.timeoutMs);
    if (r?.status !== 200 || r.json.ID !== id) return undefined;
    const s: Session = { id, ttl, keep: true, gone: false };
    const p = (async () => {
      let member = rec.member;
      while (s.keep && !this.clientsStopped) {
        await sleep((ttl * 1000) / 3);
        if (!s.keep || this.clientsStopped) break;
        if (rng.chance(0.3)) member = this.pickMember(rng);
        const k: Call = { member, call: 0 };
        const a = await this.send(k, '/v3/lease/keepalive', { ID: id }, Math.min(this.o.timeoutMs, (ttl * 1000) / 2));
        if (a?.status === 200 && Number(a.json.result?.TTL ?? 0) === 0) {
          s.gone = true;
          break;
        }
        if (!a || a.status !== 200) member = this.pickMember(rng);
      }
    })();
    this.keepers.add(p);
    void p.finally(() => this.keepers.delete(p));
    return s;
  }

  /** Ends a session: no more keep-alives; revoked unless left to expire. */
  private async drop(s: Session | undefined, rng: Rng, revoke = true): Promise<void> {
    if (!s) return;
    s.keep = false;
    if (revoke) await this.send({ member: this.pickMember(rng), call: 0 }, '/v3/lease/revoke', { ID: s.id }, 2000);
  }

  // ---- locks ----

  private async lockClient(client: number, rng: Rng): Promise<void> {
    let s: Session | undefined;
    while (!this.clientsStopped) {
      if (!s || s.gone) {
        await this.drop(s, rng);
        s = await this.session(client, 50_000_000, rng);
        if (!s) {
          await sleep(300 + rng.int(300));
          continue;
        }
      }
      const key = `${LOCK_NAME}/${BigInt(s.id).toString(16)}`;
      const a: LockAttempt = { client, member: this.pickMember(rng), call: 0, lease: s.id, key, fenced: [] };
      this.locks.attempts.push(a);
      const r = await this.send(a, '/v3/lock/lock', { name: b64(LOCK_NAME), lease: s.id }, this.o.waitMs, true);
      if (a.ret === undefined) {
        // Held or not, queued or not: give the session up, its key goes with its lease.
        await this.drop(s, rng);
        s = undefined;
        await sleep(100 + rng.int(200));
        continue;
      }
      const answered = unb64(r!.json.key);
      if (answered !== key) a.error = `answered key ${answered}`;
      // The fencing token: the lock key's create revision.
      const g: Call = { member: a.member, call: 0 };
      const gr = await this.send(g, '/v3/kv/range', { key: b64(key) }, this.o.timeoutMs);
      if (g.ret !== undefined) {
        const kv = gr!.json.kvs?.[0];
        a.create = kv ? Number(kv.create_revision) : 0;
        a.createRead = g.rev;
      }
      if (a.create) {
        if (rng.chance(0.06)) {
          // A holder that stalls past its lease (a long GC pause): it still believes it holds the
          // lock. (A keep-alive in flight may renew it once more, and expiry takes a moment.)
          a.stale = true;
          s.keep = false;
          await sleep(s.ttl * 1000 + 2000 + rng.int(1500));
        }
        const n = 1 + rng.int(3);
        for (let i = 0; i < n && !this.clientsStopped; i++) {
          const value = this.value('f', client);
          const w = { member: rng.chance(0.3) ? this.pickMember(rng) : a.member, call: 0, value } as LockAttempt['fenced'][number];
          a.fenced.push(w);
          const compare = [{ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: String(a.create) }];
          const tr = await this.send(w, '/v3/kv/txn', { compare, success: [{ request_put: { key: b64(FENCE_KEY), value: b64(value) } }], failure: [] }, this.o.timeoutMs);
          if (w.ret === undefined) break;
          w.ok = tr!.json.succeeded === true;
          if (!w.ok) break;
          await sleep(rng.int(40));
        }
      }
      a.unlock = { member: a.member, call: 0 };
      await this.send(a.unlock, '/v3/lock/unlock', { key: b64(key) }, this.o.timeoutMs);
      if (a.stale || a.unlock.ret === undefined || !a.create) {
        await this.drop(s, rng);
        s = undefined;
      }
      await sleep(rng.int(100));
    }
    await this.drop(s, rng);
  }

  // ---- elections ----

  private async electionClient(client: number, rng: Rng): Promise<void> {
    while (!this.clientsStopped) {
      const s = await this.session(client, 500_000_000, rng);
      if (!s) {
        await sleep(300 + rng.int(300));
        continue;
      }
      const c: CampaignAttempt = { client, member: this.pickMember(rng), call: 0, lease: s.id, value: this.value('e', client), proclaims: [] };
      this.elections.campaigns.push(c);
      const r = await this.send(c, '/v3/election/campaign', { name: b64(ELECTION_NAME), lease: s.id, value: b64(c.value) }, this.o.waitMs, true);
      if (c.ret === undefined) {
        await this.drop(s, rng);
        await sleep(100 + rng.int(200));
        continue;
      }
      const leader = r!.json.leader;
      c.key = unb64(leader?.key);
      c.create = Number(leader?.rev ?? 0);
      const n = 1 + rng.int(4);
      const stale = rng.chance(0.1);
      for (let i = 0; i < n && !this.clientsStopped; i++) {
        if (stale && i === n - 1) {
          c.stale = true;
          s.keep = false;
          await sleep(s.ttl * 1000 + 2000 + rng.int(1500));
        }
        const member = rng.chance(0.3) ? this.pickMember(rng) : c.member;
        const p: Proclaim = { member, call: 0, value: this.value('e', client) };
        c.proclaims.push(p);
        const pr = await this.send(p, '/v3/election/proclaim', { leader, value: b64(p.value) }, this.o.timeoutMs);
        if (p.ret !== undefined) p.ok = true;
        else if (pr?.status === 500 && /election: not leader/.test(String(pr.json.error))) {
          p.ok = false;
          p.ret = this.now();
        }
        if (!p.ok) break;
        await sleep(100 + rng.int(250));
      }
      if (!c.stale && !this.clientsStopped && rng.chance(0.85)) {
        c.resign = { member: c.member, call: 0 };
        await this.send(c.resign, '/v3/election/resign', { leader }, this.o.timeoutMs);
        await this.drop(s, rng);
      } else {
        // Let the lease run out: the next campaigner leads once it has.
        await this.drop(s, rng, this.clientsStopped);
      }
      await sleep(rng.int(150));
    }
  }

  private observer(id: number, rng: Rng): Promise<void> {
    const rec: ObserverRecord = { id, sessions: [] };
    this.elections.observers.push(rec);
    // Every second observer uses Server-Sent Events and resumes with Last-Event-ID.
    const sse = id % 2 === 1;
    return (async () => {
      let lastId = '';
      while (!this.stopped) {
        const s: ObserveSession = { member: this.pickMember(rng), call: this.now(), lines: [] };
        if (sse) {
          s.via = 'sse';
          if (lastId) s.resumeAfter = Number(lastId);
        }
        rec.sessions.push(s);
        const lifetime = rng.chance(0.5) ? 2000 + rng.int(15_000) : Infinity;
        if (sse) lastId = await this.sseObserveStream(s, lastId, lifetime);
        else await this.observeStream(s, lifetime);
        if (!this.stopped) await sleep(100 + rng.int(300));
      }
    })();
  }

  /** One SSE observe connection; answers the last event id it got (the resume point; '' to start afresh). */
  private async sseObserveStream(s: ObserveSession, lastEventId: string, lifetimeMs: number): Promise<string> {
    const q = new URLSearchParams({ name: b64(ELECTION_NAME), heartbeat: '1000' });
    const u = new URL(`/v3/election/observe/sse?${q}`, this.cluster.members[s.member].url);
    const frames = new SseFrames(lastEventId);
    // Heartbeats come every second: a stream quiet for 5 s is a paused or cut-off member.
    const stream = new HarnessStream(this.streams, s, this.now, 5000, lifetimeMs);
    const onMessage = (m: SseMessage) => {
      if (m.event === 'compacted') {
        // The resume point is gone: start afresh with the leader of now.
        frames.lastEventId = '';
        stream.close('compacted');
        return false;
      }
      if (m.event === 'message') s.lines.push(leaderLine(JSON.parse(m.data)));
    };
    stream.follow(getEventStream(u, lastEventId), (chunk) => frames.push(chunk, onMessage));
    await stream.ended;
    return frames.lastEventId;
  }

  private async observeStream(s: ObserveSession, lifetimeMs: number): Promise<void> {
    const u = new URL('/v3/election/observe', this.cluster.members[s.member].url);
    const body = JSON.stringify({ name: b64(ELECTION_NAME) });
    // Observe sends nothing while the leader stays the same: a quiet stream may be a paused or
    // cut-off member. Reconnecting costs nothing.
    const stream = new HarnessStream(this.streams, s, this.now, 6000, lifetimeMs);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body) } });
    stream.follow(req, stream.jsonLines((r) => s.lines.push(leaderLine(r))));
    req.end(body);
    await stream.ended;
  }
}

/** An observe answer as the checker reads it. */
function leaderLine(r: any): ObservedLeader {
  const kv = r.kv ?? {};
  return { rev: Number(r.header?.revision ?? 0), key: unb64(kv.key), create: Number(kv.create_revision ?? 0), mod: Number(kv.mod_revision ?? 0), value: unb64(kv.value) };
}
