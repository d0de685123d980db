import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';
import { expectedEvents, MemoryKv, Rng, seedFromEnv, sleep, type LoggedEvent } from './model.ts';
import { SseClient } from './sse-client.ts';
import type { WriteTxn } from '../../src/mvcc/kv-store.ts';

/**
 * Random histories through a real member over HTTP, checked against a model of every change:
 * gateway streams (some with many watchers, some that stop reading for a while so their watchers
 * fall behind and catch up from the database) and SSE clients whose connections are dropped at
 * random and resume with Last-Event-ID. Every watcher must see exactly the model's events from its
 * start revision on: in order, none missing, none repeated, each revision whole in one answer, with
 * the right prev_kv.
 */

const SEED = seedFromEnv('watch-http-random');
let server: EdgecdProcess;

before(async () => {
  server = await startEdgecd({ args: ['--watch-stream-buffer-bytes', '32768'] });
});
after(async () => {
  await server?.stop();
});

const KEYS = ['a', 'b', 'c', 'k/1', 'k/2', 'k/3', 'k/4', 'q', 'z\u00ff'];
const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('latin1') : '');

interface WSpec {
  key: string;
  end: string | undefined;
  prevKv: boolean;
  filters: number[];
  start: number;
}

type Resp = { events: Record<string, unknown>[]; revision: number; id?: number };

function randomSpec(rng: Rng, cur: number): WSpec {
  const r = rng.float();
  let key: string;
  let end: string | undefined;
  if (r < 0.4) key = rng.pick(KEYS);
  else if (r < 0.7) [key, end] = ['k/', 'k0'];
  else if (r < 0.85) [key, end] = [rng.pick(KEYS), ''];
  else [key, end] = ['\0', ''];
  const start = rng.chance(0.5) ? 0 : 1 + rng.int(cur + 1);
  return { key, end, prevKv: rng.chance(0.5), filters: rng.chance(0.2) ? [rng.int(2)] : [], start };
}

/** What the server sent, in the model's terms. */
function eventText(e: Record<string, unknown>, withPrev: boolean): string {
  const kv = e.kv as Record<string, string>;
  const prev = e.prev_kv as Record<string, string> | undefined;
  const p = withPrev ? ` prev=${prev ? `${unb64(prev.value)}@${prev.mod_revision}` : '-'}` : '';
  return `${kv.mod_revision} ${e.type === 'DELETE' ? 'D' : 'P'} ${unb64(kv.key)}=${unb64(kv.value)} c${kv.create_revision ?? 0} v${kv.version ?? 0}${p}`;
}

function modelText(e: LoggedEvent, withPrev: boolean): string {
  const isCreate = e.type === 0 && e.kv.createRevision === e.kv.modRevision;
  const prev = isCreate ? undefined : e.prev;
  const p = withPrev ? ` prev=${prev ? `${prev.value}@${prev.modRevision}` : '-'}` : '';
  return `${e.rev} ${e.type ? 'D' : 'P'} ${e.key}=${e.type ? '' : e.kv.value} c${e.type ? 0 : e.kv.createRevision} v${e.type ? 0 : e.kv.version}${p}`;
}

function checkWatcher(label: string, spec: WSpec, resolvedStart: number, resps: Resp[], m: MemoryKv): void {
  const mask = spec.filters.reduce((acc, f) => acc | (f === 0 ? 1 : 2), 0);
  const want = expectedEvents(m.log, resolvedStart, spec.key, spec.end, mask);
  const got = resps.flatMap((r) => r.events.map((e) => eventText(e, spec.prevKv)));
  assert.deepEqual(got, want.map((e) => modelText(e, spec.prevKv)), `${label}: events from ${resolvedStart}`);
  let lastId = resolvedStart - 1;
  for (const r of resps) {
    const revs = r.events.map((e) => Number((e.kv as Record<string, string>).mod_revision));
    for (const rev of new Set(revs)) {
      assert.equal(revs.filter((x) => x === rev).length, want.filter((e) => e.rev === rev).length, `${label}: revision ${rev} split`);
    }
    if (r.id !== undefined) {
      assert.ok(Math.min(...revs) > lastId && Math.max(...revs) <= r.id, `${label}: SSE id ${r.id} does not cover its events ${revs}`);
      lastId = r.id;
    }
  }
}

/** A gateway stream whose watchers are given watch ids 1..n. */
function gatewayStream(base: string, specs: WSpec[]) {
  const body = specs
    .map((s, i) =>
      JSON.stringify({
        create_request: {
          key: b64(s.key),
          ...(s.end !== undefined ? { range_end: s.end === '' ? 'AA==' : b64(s.end) } : {}),
          start_revision: String(s.start),
          prev_kv: s.prevKv,
          filters: s.filters,
          watch_id: String(i + 1),
        },
      }),
    )
    .join('');
  const got = new Map<number, Resp[]>();
  const created = new Map<number, number>();
  const u = new URL('/v3/watch', base);
  let res: http.IncomingMessage | undefined;
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, (r) => {
    res = r;
    let pending = '';
    r.setEncoding('utf8');
    r.on('data', (d: string) => {
      pending += d;
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        const o = JSON.parse(pending.slice(0, i)).result;
        pending = pending.slice(i + 1);
        const id = Number(o.watch_id ?? 0);
        if (o.created) created.set(id, Number(o.header.revision));
        else if (o.events) {
          if (!got.has(id)) got.set(id, []);
          got.get(id)!.push({ events: o.events, revision: Number(o.header.revision) });
        } else if (o.canceled) throw new Error(`watch ${id} canceled: ${JSON.stringify(o)}`);
      }
    });
  });
  req.on('error', () => {});
  req.end(body);
  return {
    got,
    created,
    pause: () => res?.pause(),
    resume: () => res?.resume(),
    close: () => req.destroy(),
  };
}

function sseUrl(base: string, s: WSpec): string {
  const q = new URLSearchParams({ key: b64(s.key), retry: '20' });
  if (s.end !== undefined) q.set('range_end', s.end === '' ? 'AA==' : b64(s.end));
  if (s.start) q.set('start_revision', String(s.start));
  if (s.prevKv) q.set('prev_kv', 'true');
  if (s.filters.length) q.set('filters', s.filters.join(','));
  return `${base}/v3/watch/sse?${q}`;
}

/** One random write, to the model and to the server; their revisions must agree. */
async function randomWrite(rng: Rng, m: MemoryKv, base: string): Promise<void> {
  const val = () => (rng.chance(0.08) ? 'L'.repeat(5000 + rng.int(15000)) : `v${rng.int(1000)}`);
  const r = rng.float();
  let path: string;
  let body: unknown;
  let apply: (t: WriteTxn) => void;
  if (r < 0.55) {
    const k = rng.pick(KEYS);
    const v = val();
    [path, body, apply] = ['/v3/kv/put', { key: b64(k), value: b64(v) }, (t) => t.put(k, v, 0n)];
  } else if (r < 0.7) {
    const k = rng.pick(KEYS);
    [path, body, apply] = ['/v3/kv/deleterange', { key: b64(k) }, (t) => t.deleteRange(k, undefined)];
  } else if (r < 0.78) {
    [path, body, apply] = ['/v3/kv/deleterange', { key: b64('k/'), range_end: b64('k0') }, (t) => t.deleteRange('k/', 'k0')];
  } else {
    const ops: unknown[] = [];
    const fns: ((t: WriteTxn) => void)[] = [];
    const used = new Set<string>();
    for (let i = 0; i < 2 + rng.int(4); i++) {
      const k = rng.pick(KEYS);
      if (used.has(k)) continue;
      used.add(k);
      if (rng.chance(0.75)) {
        const v = val();
        ops.push({ request_put: { key: b64(k), value: b64(v) } });
        fns.push((t) => t.put(k, v, 0n));
      } else {
        ops.push({ request_delete_range: { key: b64(k) } });
        fns.push((t) => t.deleteRange(k, undefined));
      }
    }
    [path, body, apply] = ['/v3/kv/txn', { success: ops }, (t) => fns.forEach((f) => f(t))];
  }
  const res = m.write(apply);
  const answer = await (await fetch(base + path, { method: 'POST', body: JSON.stringify(body) })).json();
  assert.equal(Number(answer.header.revision), m.kv.currentRev, `revision after ${path} ${JSON.stringify(body).slice(0, 200)} (${res ? 'a change' : 'no change'})`);
}

test('random histories over HTTP: gateway streams that stall and SSE clients that drop and resume', async () => {
  const rng = new Rng(SEED);
  const base = server.url;
  const m = new MemoryKv();
  const streams: { s: ReturnType<typeof gatewayStream>; specs: WSpec[]; slow: boolean }[] = [];
  const sses: { c: SseClient; spec: WSpec; resolved: number }[] = [];
  const openStream = (slow: boolean) => {
    const n = slow ? 20 : 1 + rng.int(3);
    const specs = Array.from({ length: n }, () => (slow ? { key: '\0', end: '', prevKv: rng.chance(0.5), filters: [], start: 1 + rng.int(m.kv.currentRev) } : randomSpec(rng, m.kv.currentRev)));
    streams.push({ s: gatewayStream(base, specs), specs, slow });
  };
  const openSse = () => {
    const spec = randomSpec(rng, m.kv.currentRev);
    const c = new SseClient(sseUrl(base, spec));
    c.start();
    sses.push({ c, spec, resolved: spec.start });
  };
  const STEPS = 320;
  for (let step = 0; step < STEPS; step++) {
    const r = rng.float();
    if (r < 0.03 && streams.length < 6) openStream(streams.filter((x) => x.slow).length < 2 && rng.chance(0.5));
    else if (r < 0.06 && sses.length < 6) openSse();
    else if (r < 0.09 && sses.length) rng.pick(sses).c.drop();
    else if (r < 0.11 && streams.some((x) => x.slow)) {
      const slow = rng.pick(streams.filter((x) => x.slow));
      slow.s.pause();
      setTimeout(() => slow.s.resume(), 100 + rng.int(900));
    } else await randomWrite(rng, m, base);
    // Opened early, so streams and clients see most of the history live.
    if (step === 5) {
      openStream(true);
      openSse();
      openStream(false);
    }
  }
  const final = m.kv.currentRev;
  for (const x of streams) x.s.resume();
  // Everything the model says each watcher should see, by now or soon.
  const deadline = Date.now() + 30_000;
  const lastRev = (resps: Resp[] | undefined) => {
    const evs = resps?.flatMap((r) => r.events) ?? [];
    return evs.length ? Number((evs[evs.length - 1].kv as Record<string, string>).mod_revision) : 0;
  };
  const wantLast = (spec: WSpec, from: number) => {
    const mask = spec.filters.reduce((acc, f) => acc | (f === 0 ? 1 : 2), 0);
    const w = expectedEvents(m.log, from, spec.key, spec.end, mask);
    return w.length ? w[w.length - 1].rev : 0;
  };
  const sseResps = (c: SseClient): Resp[] =>
    c.messages.filter((x) => x.event === 'message').map((x) => ({ events: JSON.parse(x.data).events, revision: JSON.parse(x.data).header.revision, id: Number(x.id) }));
  // A watch from "now" starts after the revision its first created event names.
  const resolved = (x: { c: SseClient; spec: WSpec }) => x.spec.start || Number(x.c.messages.find((mm) => mm.event === 'created')?.id ?? NaN) + 1;
  for (;;) {
    const pending =
      streams.some((x) => x.specs.some((spec, i) => lastRev(x.s.got.get(i + 1)) < wantLast(spec, spec.start || (x.s.created.get(i + 1) ?? 0) + 1))) ||
      sses.some((x) => lastRev(sseResps(x.c)) < wantLast(x.spec, resolved(x)));
    if (!pending) break;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  try {
    for (const [si, x] of streams.entries()) {
      for (const [i, spec] of x.specs.entries()) {
        const created = x.s.created.get(i + 1);
        assert.ok(created !== undefined, `stream ${si} watch ${i + 1} was created`);
        checkWatcher(`seed ${SEED} stream ${si}${x.slow ? ' (stalls)' : ''} watch ${i + 1}`, spec, spec.start || created + 1, x.s.got.get(i + 1) ?? [], m);
      }
    }
    for (const [i, x] of sses.entries()) {
      checkWatcher(`seed ${SEED} sse ${i} (${x.c.connects} connections)`, x.spec, resolved(x), sseResps(x.c), m);
    }
    assert.ok(sses.some((x) => x.c.connects > 1), 'some SSE client resumed after a drop');
    console.log(`watch-http-random: ${final} revisions, ${streams.length} streams, ${sses.length} SSE clients (${sses.reduce((a, x) => a + x.c.connects - 1, 0)} resumes)`);
  } catch (err) {
    console.log(`watch-http-random: failing seed ${SEED} (replay with EDGECD_SEED=${SEED})`);
    throw err;
  } finally {
    for (const x of streams) x.s.close();
    for (const x of sses) x.c.close();
  }
});
