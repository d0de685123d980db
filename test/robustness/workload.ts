import http from 'node:http';
import type { ProxyTier } from './proxies.ts';
import { Rng, sleep } from '../watch/model.ts';
import type { Cluster } from './cluster.ts';
import { refusedForToken, tokenCancelReason, type TokenSource } from './auth-client.ts';
import { HarnessStream, type OpenStreams } from './harness-stream.ts';
import { getEventStream, SseFrames, type SseMessage } from '../helpers/sse-stream.ts';
import { LEASE_PREFIX, REGISTER_PREFIX, type KvKind, type KvOp, type LeaseRecord, type Value, type WatchEvent, type WatcherRecord, type WatchSession } from './history.ts';

/**
 * The clients: register clients doing puts, deletes, compare-and-swaps and linearizable or
 * serializable reads of single keys (and now and then the whole register space) on members picked
 * at random; watchers over every key that resume after each broken stream on another member;
 * lease clients that grant a lease, attach a key, keep it alive a while, stop, and probe until
 * the key is gone. Everything they do and get is recorded with invocation and completion times.
 */

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString() : '');

export interface WorkloadOptions {
  clients: number;
  keys: number;
  watchers: number;
  leaseClients: number;
  /** TTLs of the short leases, in seconds: [min, max] (the first lease client keeps a 10 s one). */
  leaseTtls?: [number, number];
  /** With auth on: the clients' token (see auth-client.ts). */
  auth?: TokenSource;
  /** Edge proxies (--proxies): `proxyWatchers` more SSE watchers follow every key through them. */
  proxies?: ProxyTier;
  proxyWatchers?: number;
  /** Per-request timeout: an operation not answered by then has an unknown outcome. */
  timeoutMs: number;
  /** Mean pause between a client's operations. */
  thinkMs: number;
}

export class Workload {
  readonly t0 = performance.now();
  readonly ops: KvOp[] = [];
  readonly watchers: WatcherRecord[] = [];
  readonly leases: LeaseRecord[] = [];
  readonly keys: string[];
  stopped = false;
  private nextId = 0;
  private valueSeq = 0;
  private leaseSeq = 0;
  private readonly loops: Promise<void>[] = [];
  private readonly streams: OpenStreams = new Set();

  constructor(
    private readonly cluster: Cluster,
    private readonly o: WorkloadOptions,
    private readonly seed: number,
  ) {
    this.keys = Array.from({ length: o.keys }, (_, i) => `${REGISTER_PREFIX}${String(i).padStart(3, '0')}`);
  }

  now(): number {
    return performance.now() - this.t0;
  }

  start(): void {
    for (let c = 0; c < this.o.clients; c++) this.loops.push(this.kvClient(c, new Rng(this.seed * 7919 + c)));
    for (let w = 0; w < this.o.watchers; w++) this.loops.push(this.watcher(w, new Rng(this.seed * 104729 + w)));
    if (this.o.proxies) for (let w = 0; w < (this.o.proxyWatchers ?? 0); w++) this.loops.push(this.watcher(this.o.watchers + w, new Rng(this.seed * 1299709 + w), true));
    for (let l = 0; l < this.o.leaseClients; l++) this.loops.push(this.leaseClient(l, new Rng(this.seed * 15485863 + l), l === 0));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.streams) s.close('harness stopped');
    await Promise.all(this.loops);
  }

  /** Stops the register and lease clients, keeps watchers going (they must catch up at the end). */
  async stopClients(): Promise<void> {
    this.clientsStopped = true;
    await Promise.all(this.clientLoops);
  }
  private clientsStopped = false;
  private readonly clientLoops: Promise<void>[] = [];

  /** Members whose process exists (a paused one too: clients cannot tell it is paused). */
  private running(): number[] {
    return this.cluster.members.filter((m) => m.state !== 'down').map((m) => m.index);
  }

  private pickMember(rng: Rng): number {
    const up = this.running();
    return up.length ? rng.pick(up) : rng.int(this.cluster.members.length);
  }

  private pickKey(rng: Rng): string {
    // A few hot keys take most operations, so they contend.
    return rng.chance(0.6) ? this.keys[rng.int(Math.min(4, this.keys.length))] : rng.pick(this.keys);
  }

  newValue(client: number): string {
    return `c${client}-${this.valueSeq++}`;
  }

  /** Runs one request, recording it as op: fills ret and outputs, or leaves it unknown. */
  async call(op: Omit<KvOp, 'id' | 'call'>, route: string, body: unknown, parse: (json: any, op: KvOp) => void): Promise<KvOp> {
    const rec: KvOp = { id: this.nextId++, call: this.now(), ...op } as KvOp;
    this.ops.push(rec);
    const url = this.cluster.members[rec.member].url;
    try {
      let r: Response;
      let text: string;
      let json: any;
      // A request refused for its token did not happen: it is sent again with a fresh one, as one operation.
      for (let attempt = 0; ; attempt++) {
        const token = this.o.auth && (await this.o.auth.get());
        r = await fetch(url + route, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body), signal: AbortSignal.timeout(this.o.timeoutMs) });
        text = await r.text();
        json = JSON.parse(text);
        if (!token || attempt >= 3 || !refusedForToken(r.status, json)) break;
        this.o.auth!.refused(token);
      }
      if (r.status !== 200) {
        rec.error = `${r.status} ${json.error ?? text}`.slice(0, 120);
        return rec;
      }
      parse(json, rec);
      rec.rev = Number(json.header?.revision ?? 0);
      rec.term = Number(json.header?.raft_term ?? 0);
      rec.ret = this.now();
    } catch (err) {
      rec.error = ((err as Error).name === 'TimeoutError' ? 'timeout' : (err as Error).message).slice(0, 120);
    }
    return rec;
  }

  private kvOp(client: number, member: number, kind: KvKind, key: string, expect?: Value): Promise<KvOp> {
    const base = { client, member, kind, key };
    const kvValue = (kv: any): Value => (kv ? unb64(kv.value) : null);
    switch (kind) {
      case 'put': {
        const value = this.newValue(client);
        return this.call({ ...base, value }, '/v3/kv/put', { key: b64(key), value: b64(value), prev_kv: true }, (j, op) => {
          op.prev = kvValue(j.prev_kv);
        });
      }
      case 'delete':
        return this.call(base, '/v3/kv/deleterange', { key: b64(key), prev_kv: true }, (j, op) => {
          op.deleted = Number(j.deleted ?? 0);
          op.prev = kvValue(j.prev_kvs?.[0]);
        });
      case 'cas': {
        const value = this.newValue(client);
        const compare =
          expect === null || expect === undefined
            ? { key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }
            : { key: b64(key), target: 'VALUE', result: 'EQUAL', value: b64(expect) };
        const body = { compare: [compare], success: [{ request_put: { key: b64(key), value: b64(value), prev_kv: true } }], failure: [{ request_range: { key: b64(key) } }] };
        return this.call({ ...base, value, expect: expect ?? null }, '/v3/kv/txn', body, (j, op) => {
          op.ok = j.succeeded === true;
          const resp = j.responses?.[0] ?? {};
          if (op.ok) op.prev = kvValue(resp.response_put?.prev_kv);
          else {
            const kv = resp.response_range?.kvs?.[0];
            op.read = kvValue(kv);
            op.readMod = Number(kv?.mod_revision ?? 0);
          }
        });
      }
      case 'get':
      case 'sget':
        return this.call(base, '/v3/kv/range', { key: b64(key), serializable: kind === 'sget' }, (j, op) => {
          const kv = j.kvs?.[0];
          op.read = kvValue(kv);
          op.readMod = Number(kv?.mod_revision ?? 0);
        });
      case 'range':
      case 'srange':
        return this.call({ ...base, key: REGISTER_PREFIX }, '/v3/kv/range', { key: b64(REGISTER_PREFIX), range_end: b64(REGISTER_PREFIX.slice(0, -1) + String.fromCharCode(REGISTER_PREFIX.charCodeAt(REGISTER_PREFIX.length - 1) + 1)), serializable: kind === 'srange' }, (j, op) => {
          op.kvs = {};
          for (const kv of j.kvs ?? []) op.kvs[unb64(kv.key)] = { value: unb64(kv.value), mod: Number(kv.mod_revision) };
        });
    }
  }

  /** A harness read (final reads, lease probes): linearizable get of key on member. */
  read(member: number, key: string, client = -1): Promise<KvOp> {
    return this.kvOp(client, member, 'get', key);
  }

  private kvClient(c: number, rng: Rng): Promise<void> {
    const p = (async () => {
      let member = this.pickMember(rng);
      const seen = new Map<string, Value>();
      while (!this.stopped && !this.clientsStopped) {
        if (rng.chance(0.05)) member = this.pickMember(rng);
        const key = this.pickKey(rng);
        const r = rng.float();
        const kind: KvKind = r < 0.25 ? 'put' : r < 0.45 ? 'cas' : r < 0.5 ? 'delete' : r < 0.78 ? 'get' : r < 0.93 ? 'sget' : r < 0.97 ? 'range' : 'srange';
        const op = await this.kvOp(c, member, kind, key, seen.has(key) ? seen.get(key) : null);
        if (op.ret === undefined) {
          // Unavailable or slow: try another member after a moment.
          member = this.pickMember(rng);
          await sleep(50 + rng.int(150));
          continue;
        }
        for (const v of [op.prev, op.read]) if (v !== undefined) seen.set(key, v);
        if (op.kind === 'put' || (op.kind === 'cas' && op.ok)) seen.set(key, op.value!);
        if (op.kind === 'delete') seen.set(key, null);
        if (this.o.thinkMs > 0) await sleep(rng.int(this.o.thinkMs * 2));
      }
    })();
    this.clientLoops.push(p);
    return p;
  }

  // ---- watchers ----

  /** A proxy for the next stream: a running one (as a load balancer's health check would pick), another than the last when it failed. */
  private pickProxy(rng: Rng, avoid: number | undefined): number {
    const all = this.o.proxies!.proxies;
    const up = all.filter((p) => p.state === 'running' && p.index !== avoid).map((p) => p.index);
    return up.length ? rng.pick(up) : rng.int(all.length);
  }

  private watcher(id: number, rng: Rng, viaProxy = false): Promise<void> {
    // Every third watcher uses Server-Sent Events and resumes with Last-Event-ID; proxy watchers
    // use SSE through a proxy and resume on any proxy.
    const via = viaProxy ? 'proxy' : id % 3 === 2 ? 'sse' : 'gateway';
    const rec: WatcherRecord = { id, via, start: 0, sessions: [] };
    this.watchers.push(rec);
    return (async () => {
      // Half start now, half from the beginning of history (a catch-up from the database).
      let next = id % 2 === 1 ? 1 : 0;
      rec.start = next;
      let lastEventId = '';
      let failedProxy: number | undefined;
      while (!this.stopped) {
        const member = via === 'proxy' ? -1 : this.pickMember(rng);
        const session: WatchSession = { member, start: next, call: this.now(), events: [] };
        if (via === 'proxy') session.proxy = this.pickProxy(rng, failedProxy);
        rec.sessions.push(session);
        // Now and then the harness drops a healthy stream itself, to test resuming.
        const lifetime = rng.chance(0.5) ? 2000 + rng.int(20_000) : Infinity;
        if (via === 'sse' || via === 'proxy') {
          if (lastEventId) session.start = Number(lastEventId) + 1;
          lastEventId = await this.sseStream(session, lastEventId, lifetime);
          failedProxy = session.endReason === 'dropped by harness' ? undefined : session.proxy;
          if (lastEventId) next = Number(lastEventId) + 1;
        } else {
          await this.watchStream(session, lifetime);
          const last = session.events[session.events.length - 1];
          if (last) next = last.rev + 1;
          else if (next === 0 && session.created !== undefined) next = session.created + 1;
        }
        if (!this.stopped) await sleep(100 + rng.int(300));
      }
    })();
  }

  /** One SSE connection; returns the last event id it got (the resume point). */
  private async sseStream(s: WatchSession, lastEventId: string, lifetimeMs: number): Promise<string> {
    const base = s.proxy !== undefined ? this.o.proxies!.proxies[s.proxy].url : this.cluster.members[s.member].url;
    const q = new URLSearchParams({ key: 'AA==', range_end: 'AA==', prev_kv: 'true', progress_notify: 'true', heartbeat: '1000' });
    const token = this.o.auth?.current;
    if (token) q.set('token', token);
    if (!lastEventId && s.start > 0) q.set('start_revision', String(s.start));
    const frames = new SseFrames(lastEventId);
    const stream = new HarnessStream(this.streams, s, () => this.now(), 5000, lifetimeMs);
    const onMessage = (m: SseMessage) => {
      const r = JSON.parse(m.data);
      if (m.event === 'created') s.created = Number(r.header?.revision ?? 0);
      if (m.event === 'compacted' || m.event === 'canceled') {
        s.canceled = r.cancel_reason || (r.compact_revision ? `compacted at ${r.compact_revision}` : m.event);
        stream.close('canceled');
        return false;
      }
      for (const e of r.events ?? []) s.events.push(parseEvent(e));
    };
    const onChunk = (chunk: string) => {
      s.last = this.now();
      frames.push(chunk, onMessage);
    };
    stream.follow(getEventStream(new URL(`/v3/watch/sse?${q}`, base), lastEventId), onChunk, (status) => {
      // Refused for its token (stale after a role change): renewed before the next connection.
      if (token && (status === 401 || status === 400)) this.o.auth!.refused(token);
      else if (this.o.auth && !token) void this.o.auth.get();
    });
    await stream.ended;
    return frames.lastEventId;
  }

  private async watchStream(s: WatchSession, lifetimeMs: number): Promise<void> {
    const m = this.cluster.members[s.member];
    const u = new URL('/v3/watch', m.url);
    const body = JSON.stringify({ create_request: { key: 'AA==', range_end: 'AA==', start_revision: String(s.start), prev_kv: true, progress_notify: true } });
    // No line for a while (progress notifications come every second when idle): the member is
    // paused or cut off. Resume elsewhere.
    const stream = new HarnessStream(this.streams, s, () => this.now(), 5000, lifetimeMs);
    const token = this.o.auth?.current;
    const lines = stream.jsonLines((r) => {
      if (r.created) s.created = Number(r.header?.revision ?? 0);
      if (r.canceled && this.o.auth && tokenCancelReason(r.cancel_reason ?? '')) {
        // Refused for its token: watch again with a fresh one (nothing was delivered).
        if (token) this.o.auth.refused(token);
        stream.close(`token refused: ${r.cancel_reason}`);
        return;
      }
      if (r.canceled) {
        s.canceled = r.cancel_reason || (r.compact_revision ? `compacted at ${r.compact_revision}` : 'canceled');
        stream.close('canceled');
        return;
      }
      for (const e of r.events ?? []) s.events.push(parseEvent(e));
    });
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body), ...(token ? { authorization: token } : {}) } });
    stream.follow(req, (chunk) => {
      s.last = this.now();
      lines(chunk);
    });
    req.end(body);
    await stream.ended;
  }

  // ---- leases ----

  private leaseClient(l: number, rng: Rng, long: boolean): Promise<void> {
    const client = 1000 + l;
    const p = (async () => {
      while (!this.stopped && !this.clientsStopped) {
        const [lo, hi] = this.o.leaseTtls ?? [3, 5];
        const ttl = long ? 10 : lo + rng.int(hi - lo + 1);
        const keepFor = long ? 60_000 + rng.int(60_000) : rng.int(8000);
        const id = String(1_000_000 * (l + 1) + this.leaseSeq++);
        const key = `${LEASE_PREFIX}${id}`;
        const lease: LeaseRecord = { id, ttl, key, grantCall: this.now(), renewals: [] };
        this.leases.push(lease);
        let member = this.pickMember(rng);
        try {
          const token = this.o.auth && (await this.o.auth.get());
          const r = await fetch(`${this.cluster.members[member].url}/v3/lease/grant`, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify({ ID: id, TTL: String(ttl) }), signal: AbortSignal.timeout(this.o.timeoutMs) });
          if (token && r.status !== 200) this.o.auth!.refused(token);
          const j = await r.json();
          if (r.status === 200 && j.ID === id) lease.grantRet = this.now();
        } catch {
          // unknown
        }
        if (lease.grantRet === undefined) {
          await sleep(500);
          continue;
        }
        const value = this.newValue(client);
        const put = await this.call({ client, member, kind: 'put', key, value, lease: id }, '/v3/kv/put', { key: b64(key), value: b64(value), lease: id, prev_kv: true }, (j, op) => {
          op.prev = j.prev_kv ? unb64(j.prev_kv.value) : null;
        });
        lease.putOp = put.id;
        const until = this.now() + keepFor;
        let nextRenew = this.now() + (ttl * 1000) / 3;
        while (!this.stopped && !this.clientsStopped && this.now() < until) {
          if (this.now() >= nextRenew) {
            member = rng.chance(0.3) ? this.pickMember(rng) : member;
            const ttlNow = await this.renew(lease, member);
            if (ttlNow === 0) break; // gone: nothing more to keep alive
            nextRenew = this.now() + (ttl * 1000) / 3;
          }
          await this.read(this.pickMember(rng), key, client);
          await sleep(400 + rng.int(400));
        }
        lease.stoppedAt = this.now();
        // Probe until the key is gone (or long past any bound).
        const giveUp = this.now() + ttl * 1000 + 40_000;
        while (!this.stopped && this.now() < giveUp) {
          const op = await this.read(this.pickMember(rng), key, client);
          if (op.ret !== undefined && op.read === null) break;
          await sleep(300 + rng.int(400));
        }
      }
    })();
    this.clientLoops.push(p);
    return p;
  }

  private async renew(lease: LeaseRecord, member: number): Promise<number | undefined> {
    const r = { call: this.now() } as LeaseRecord['renewals'][number];
    lease.renewals.push(r);
    try {
      const res = await fetch(`${this.cluster.members[member].url}/v3/lease/keepalive`, { method: 'POST', body: JSON.stringify({ ID: lease.id }), signal: AbortSignal.timeout(this.o.timeoutMs) });
      const text = await res.text();
      if (res.status !== 200) return undefined;
      const line = JSON.parse(text.trim().split('\n')[0]);
      if (!line.result) return undefined;
      r.ttl = Number(line.result.TTL ?? 0);
      r.ret = this.now();
      return r.ttl;
    } catch {
      return undefined;
    }
  }
}

export function parseEvent(e: any): WatchEvent {
  const kv = e.kv ?? {};
  return {
    rev: Number(kv.mod_revision ?? 0),
    type: e.type === 'DELETE' ? 'DELETE' : 'PUT',
    key: unb64(kv.key),
    value: unb64(kv.value),
    create: Number(kv.create_revision ?? 0),
    mod: Number(kv.mod_revision ?? 0),
    version: Number(kv.version ?? 0),
    prev: e.prev_kv ? unb64(e.prev_kv.value) : null,
    lease: kv.lease ?? '',
  };
}
