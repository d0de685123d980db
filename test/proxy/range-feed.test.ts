import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchOf, type LogBatch } from '../../src/proxy/batch.ts';
import { chainFrom, NO_EVENT_LOG, type EventLog } from '../../src/proxy/event-log.ts';
import { RangeFeed, type FeedSubscriber, type FeedStats } from '../../src/proxy/range-feed.ts';
import { ReadCache } from '../../src/proxy/read-cache.ts';
import type { Upstream, UpstreamWatch, UpstreamWatchHandlers } from '../../src/proxy/upstream.ts';

/** A cluster in memory: a history of puts on keys, and watch streams that answer as the gateway does. */
class FakeCluster implements Upstream {
  rev = 1;
  history: { rev: number; key: string }[] = [];
  compacted = 0;
  watches: { endpoint: string; h: UpstreamWatchHandlers; after: number; open: boolean }[] = [];
  endpoints = ['http://a', 'http://b'];
  cur = 0;
  failedCalls: string[] = [];
  calls: { path: string; body: string }[] = [];

  put(key: string): number {
    this.rev++;
    this.history.push({ rev: this.rev, key });
    for (const w of this.watches) if (w.open && w.after >= 0) this.send(w, [{ rev: this.rev, key }]);
    return this.rev;
  }

  private send(w: { h: UpstreamWatchHandlers; after: number }, evs: { rev: number; key: string }[]): void {
    w.h.onMessage({
      result: {
        header: { cluster_id: '1', member_id: '2', revision: String(this.rev), raft_term: '3' },
        events: evs.map((e) => ({ kv: { key: Buffer.from(e.key).toString('base64'), mod_revision: String(e.rev), create_revision: String(e.rev), version: '1' } })),
      },
    });
    w.after = evs[evs.length - 1].rev;
  }

  watch(_token: string | undefined, h: UpstreamWatchHandlers): UpstreamWatch {
    const w = { endpoint: this.endpoints[this.cur], h, after: -1, open: true };
    this.watches.push(w);
    return {
      endpoint: w.endpoint,
      send: (req: any) => {
        queueMicrotask(() => {
          if (!w.open) return;
          if (req.create_request) {
            const start = Number(req.create_request.start_revision ?? 0);
            if (start && start <= this.compacted) return h.onMessage({ result: { header: {}, canceled: true, compact_revision: String(this.compacted) } });
            h.onMessage({ result: { header: { cluster_id: '1', member_id: '2', revision: String(this.rev), raft_term: '3' }, created: true } });
            w.after = start ? start - 1 : this.rev;
            const old = this.history.filter((e) => e.rev > w.after);
            if (old.length) this.send(w, old);
          } else if (req.progress_request) h.onMessage({ result: { header: { revision: String(this.rev) }, watch_id: '-1' } });
        });
      },
      close: () => {
        if (!w.open) return;
        w.open = false;
        h.onEnd();
      },
    };
  }

  /** The member behind the current endpoint drops its watch streams. */
  breakWatches(): void {
    for (const w of this.watches) if (w.open) (w.open = false), w.h.onEnd(new Error('reset'));
  }

  async call(path: string, body: string) {
    this.calls.push({ path, body });
    return { status: 200, body: `{"header":{"revision":"${this.rev}"},"count":"${this.history.length}"}`, endpoint: this.endpoints[this.cur] };
  }

  failed(ep: string): void {
    this.failedCalls.push(ep);
    if (this.endpoints[this.cur] === ep) this.cur = (this.cur + 1) % this.endpoints.length;
  }

  get open(): number {
    return this.watches.filter((w) => w.open).length;
  }
}

class Sub implements FeedSubscriber {
  sent = 0;
  live = false;
  token = undefined;
  wantsProgress = false;
  writable = true;
  closed = false;
  got: number[] = [];
  createdAfter = -1;
  compactedAt = 0;
  created(after: number) {
    this.createdAfter = after;
  }
  deliver(b: LogBatch) {
    for (const e of b.events) this.got.push(Number(e.kv!.mod_revision));
    this.sent = b.rev;
  }
  progress() {}
  compacted(rev: number) {
    this.compactedAt = rev;
    this.closed = true;
  }
  canceled() {
    this.closed = true;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));
const stats = (): FeedStats => ({ upstreamWatches: 0, catchUps: 0, logHits: 0 });
const OPTS = { ringSize: 3, progressMs: 10_000, stallMs: 60_000, lingerMs: 10, catchUpTimeoutMs: 5_000 };
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('many subscribers share one upstream watch, and each gets every event once', async () => {
  const c = new FakeCluster();
  const s = stats();
  const f = new RangeFeed({ key: 'a/', end: 'a0', prevKv: false, filters: [] }, c, NO_EVENT_LOG, s, OPTS);
  const subs = Array.from({ length: 100 }, () => new Sub());
  for (const x of subs) f.join(x, undefined);
  await tick();
  assert.equal(c.open, 1);
  assert.equal(s.upstreamWatches, 1);
  c.put('a/1');
  c.put('a/2');
  for (const x of subs) assert.deepEqual(x.got, [2, 3]);
  f.close();
});

test('after the upstream stream breaks, the feed watches the next endpoint from the last revision it delivered', async () => {
  const c = new FakeCluster();
  const f = new RangeFeed({ key: 'a/', end: 'a0', prevKv: false, filters: [] }, c, NO_EVENT_LOG, stats(), OPTS);
  const x = new Sub();
  f.join(x, undefined);
  await tick();
  c.put('a/1');
  c.breakWatches();
  // Written while no watch is open: the re-watch replays it.
  c.history.push({ rev: ++c.rev, key: 'a/2' });
  await new Promise((r) => setTimeout(r, 100));
  c.put('a/3');
  assert.deepEqual(x.got, [2, 3, 4]);
  assert.deepEqual(c.failedCalls, ['http://a']);
  assert.equal(c.watches.at(-1)!.endpoint, 'http://b');
  assert.equal(c.open, 1);
  f.close();
});

test('a subscriber from the past replays from the ring, then the cluster when the ring does not reach back; compaction ends it', async () => {
  const c = new FakeCluster();
  for (let i = 0; i < 10; i++) c.put(`a/${i}`); // revisions 2..11
  const s = stats();
  const f = new RangeFeed({ key: 'a/', end: 'a0', prevKv: false, filters: [] }, c, NO_EVENT_LOG, s, OPTS);
  const live = new Sub();
  f.join(live, undefined);
  await tick();
  for (let i = 0; i < 5; i++) c.put(`a/x${i}`); // 12..16; the ring keeps 3 batches: 14..16
  const recent = new Sub();
  f.join(recent, 14);
  await tick();
  assert.deepEqual(recent.got, [15, 16]);
  assert.equal(s.catchUps, 0);
  const old = new Sub();
  f.join(old, 4); // needs 5..13 from the cluster
  await new Promise((r) => setTimeout(r, 50));
  c.put('a/y');
  assert.deepEqual(old.got, range(5, 17));
  assert.equal(s.catchUps, 1);
  assert.equal(c.open, 1, 'the catch-up watch is closed once it reached the ring');
  c.compacted = 10;
  const gone = new Sub();
  f.join(gone, 3);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(gone.compactedAt, 10);
  f.close();
});

test('a subscriber that fell behind catches up on drain without losing or repeating a revision', async () => {
  const c = new FakeCluster();
  const f = new RangeFeed({ key: 'a/', end: 'a0', prevKv: false, filters: [] }, c, NO_EVENT_LOG, stats(), OPTS);
  const x = new Sub();
  f.join(x, undefined);
  await tick();
  c.put('a/1');
  x.writable = false;
  for (let i = 0; i < 6; i++) c.put(`a/${i}`);
  assert.equal(x.live, false);
  x.writable = true;
  f.resume(x);
  await new Promise((r) => setTimeout(r, 50));
  c.put('a/z');
  assert.deepEqual(x.got, range(2, 9));
  f.close();
});

test('resume reads the shared event log as far as it chains, then the cluster', async () => {
  const c = new FakeCluster();
  for (let i = 0; i < 10; i++) c.put(`a/${i}`); // 2..11
  const stored: LogBatch[] = [];
  const log: EventLog = {
    append: (_r, b) => void stored.push(b),
    read: async (_r, after) => chainFrom(stored, after),
    close: async () => {},
  };
  // What another proxy wrote: revisions 3..8, each batch saying the range had no event since the previous.
  for (let r = 3; r <= 8; r++) stored.push(batchOf({ header: {}, events: [{ kv: { key: 'YS8=', mod_revision: String(r) } }] }, r - 1)!);
  const s = stats();
  const f = new RangeFeed({ key: 'a/', end: 'a0', prevKv: false, filters: [] }, c, log, s, OPTS);
  const x = new Sub();
  f.join(x, 4);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(x.got, range(5, 11));
  assert.equal(s.logHits, 1);
  assert.equal(s.catchUps, 1);
  // The cluster catch-up started where the log ended.
  assert.equal(c.watches.length, 2);
  f.close();
});

test('chainFrom stops at a gap, whatever was trimmed before', () => {
  const b = (rev: number, from: number) => batchOf({ header: {}, events: [{ kv: { key: 'eA==', mod_revision: String(rev) } }] }, from)!;
  assert.deepEqual(chainFrom([b(5, 4), b(6, 5), b(9, 7), b(10, 9)], 4).through, 6);
  assert.deepEqual(chainFrom([b(5, 2), b(6, 5)], 3).through, 6, 'the first batch proves nothing happened in (2, 5)');
  assert.deepEqual(chainFrom([b(5, 4)], 2).through, 2, 'nothing known about 3 and 4');
});

test('the read cache answers only while a synced feed has seen no event above the cached revision', async () => {
  const c = new FakeCluster();
  const f = new RangeFeed({ key: 'a/', end: 'a0', prevKv: false, filters: [] }, c, NO_EVENT_LOG, stats(), { ...OPTS, progressMs: 20 });
  const x = new Sub();
  f.join(x, undefined);
  await tick();
  const cache = new ReadCache(c, () => [f]);
  const body = JSON.stringify({ key: Buffer.from('a/').toString('base64'), range_end: Buffer.from('a0').toString('base64'), serializable: true });
  await cache.range('/v3/kv/range', body, undefined);
  await cache.range('/v3/kv/range', body, undefined);
  assert.deepEqual(cache.stats, { hits: 1, sharedHits: 0, misses: 1, staleRefused: 0 });
  c.put('a/1');
  const a = await cache.range('/v3/kv/range', body, undefined);
  assert.match(a.body, /"revision":"2"/);
  assert.equal(cache.stats.misses, 2);
  // A read outside the feed's range, or with a token, goes to the cluster.
  const calls = c.calls.length;
  await cache.range('/v3/kv/range', JSON.stringify({ key: Buffer.from('b').toString('base64'), serializable: true }), undefined);
  await cache.range('/v3/kv/range', body, 'tok');
  assert.equal(c.calls.length, calls + 2);
  // Disconnected: no cached answers until the re-watch is synced again.
  c.breakWatches();
  await cache.range('/v3/kv/range', body, undefined);
  assert.equal(cache.stats.hits, 1);
  f.close();
});
