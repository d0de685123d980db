import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WatchableStore } from '../../src/mvcc/watchable-store.ts';
import { EventBatch, Watcher, type WatchOwner } from '../../src/mvcc/watcher-group.ts';
import type { KeyValue } from '../../src/mvcc/types.ts';
import { expectedEvents, MemoryKv, Rng, seedFromEnv, sleep, until, type LoggedEvent } from './model.ts';

/**
 * The watchable store on random histories, with history read through a slow in-memory source
 * racing the writes, owners that stall and resume, compactions and cancels. Checked for every
 * watcher: events in revision order, none missing, none repeated, each revision whole in one
 * response, `through` never contradicted later (so a resume from any response's revision is
 * exact), prev_kv right, and compaction reported only when history really is gone.
 */

interface Got {
  events: { rev: number; sub: number; key: string; type: number; kv: KeyValue; prevKv?: KeyValue }[];
  revision: number;
  through: number;
}

class TestOwner implements WatchOwner {
  writable = true;
  readonly got = new Map<Watcher, Got[]>();
  readonly compactedAt = new Map<Watcher, number>();
  readonly syncedCount = new Map<Watcher, number>();
  deliveries = 0;
  readonly batches = new Set<EventBatch>();
  deliver(w: Watcher, batch: EventBatch, revision: number, through: number): void {
    this.deliveries++;
    this.batches.add(batch);
    let list = this.got.get(w);
    if (!list) this.got.set(w, (list = []));
    list.push({
      events: batch.events.map((e) => ({ rev: e.kv.modRevision, sub: -1, key: e.kv.key, type: e.type, kv: e.kv, prevKv: batch.withPrev ? e.prevKv : undefined })),
      revision,
      through,
    });
  }
  compacted(w: Watcher, compactRev: number): void {
    assert.ok(!this.compactedAt.has(w), 'compacted twice');
    this.compactedAt.set(w, compactRev);
  }
  synced(w: Watcher): void {
    this.syncedCount.set(w, (this.syncedCount.get(w) ?? 0) + 1);
  }
}

interface Spec {
  w: Watcher;
  owner: TestOwner;
  start: number;
  canceledAt?: number;
}

const KEYS = ['a', 'b', 'c', 'd', 'e', 'k/1', 'k/2', 'k/3', 'z'];

function randomWatcher(rng: Rng, owner: TestOwner): Watcher {
  const filters = rng.chance(0.15) ? [rng.int(2)] : [];
  const prevKv = rng.chance(0.4);
  const r = rng.float();
  let w: Watcher;
  if (r < 0.5) w = new Watcher(owner, rng.pick(KEYS), undefined, prevKv, filters);
  else if (r < 0.7) w = new Watcher(owner, 'k/', 'k0', prevKv, filters);
  else if (r < 0.85) w = new Watcher(owner, rng.pick(KEYS), '', prevKv, filters);
  else {
    const a = rng.pick(KEYS);
    const b = rng.pick(KEYS);
    w = new Watcher(owner, a < b ? a : b, a < b ? b : `${b}\u0001`, prevKv, filters);
  }
  w.strict = true;
  return w;
}

/** The model's value of key at rev (undefined if absent then). */
function valueAt(log: LoggedEvent[], key: string, rev: number): KeyValue | undefined {
  let v: KeyValue | undefined;
  for (const e of log) {
    if (e.rev > rev) break;
    if (e.key === key) v = e.type === 0 ? e.kv : undefined;
  }
  return v;
}

function check(spec: Spec, m: MemoryKv, label: string): void {
  const { w, owner, start } = spec;
  const got = owner.got.get(w) ?? [];
  const flat = got.flatMap((g) => g.events);
  const want = expectedEvents(m.log, start, w.key, w.end, w.filterMask);
  const compacted = owner.compactedAt.get(w);
  const upTo = spec.canceledAt ?? Infinity;
  const wantNow = want.filter((e) => e.rev <= upTo);
  const pretty = (es: { rev: number; key: string; type: number }[]) => es.map((e) => `${e.rev}:${e.type ? 'D' : 'P'}${e.key}`).join(' ');
  if (compacted === undefined && spec.canceledAt === undefined) {
    assert.equal(pretty(flat), pretty(want), `${label}: events of a watcher from ${start} on [${w.key}, ${w.end})`);
  } else {
    // A prefix of what it should see; compaction only once history it needed was gone.
    assert.equal(pretty(flat), pretty(wantNow.slice(0, flat.length)), `${label}: a canceled or compacted watcher's events are a prefix`);
    if (compacted !== undefined) {
      const nextRev = got.length ? got[got.length - 1].through + 1 : start;
      assert.ok(compacted >= nextRev, `${label}: compacted at ${compacted} though it needed only revisions from ${nextRev}`);
    }
  }
  let lastThrough = start - 1;
  for (const g of got) {
    assert.ok(g.events.length > 0, `${label}: empty response`);
    for (const e of g.events) assert.ok(e.rev > lastThrough && e.rev <= g.through, `${label}: event at ${e.rev} outside (${lastThrough}, ${g.through}]`);
    assert.ok(g.revision >= g.through, `${label}: header revision ${g.revision} below through ${g.through}`);
    // Atomic: every revision in the response is whole.
    for (const rev of new Set(g.events.map((e) => e.rev))) {
      const all = want.filter((e) => e.rev === rev).length;
      const here = g.events.filter((e) => e.rev === rev).length;
      assert.equal(here, all, `${label}: revision ${rev} split across responses`);
    }
    if (w.prevKv) {
      for (const e of g.events) {
        const isCreate = e.type === 0 && e.kv.createRevision === e.kv.modRevision;
        const expect = isCreate ? undefined : valueAt(m.log, e.key, e.rev - 1);
        if (e.prevKv !== undefined || (expect !== undefined && e.rev - 1 >= m.kv.compactRev)) {
          assert.deepEqual(e.prevKv, expect, `${label}: prev_kv of ${e.key}@${e.rev}`);
        }
      }
    }
    lastThrough = g.through;
  }
}

async function runSeed(seed: number, opts: { steps: number; watchers: number }): Promise<void> {
  const rng = new Rng(seed);
  const m = new MemoryKv();
  m.delay = () => (rng.chance(0.5) ? new Promise<void>((r) => setImmediate(r)) : sleep(rng.int(3)));
  const store = new WatchableStore(m.history(), {
    maxRowsPerSync: 1 + rng.int(20),
    maxWatchersPerSync: 1 + rng.int(8),
    resyncIntervalMs: 0,
    onError: (e) => {
      throw e;
    },
  });
  const owners = [new TestOwner(), new TestOwner(), new TestOwner()];
  const specs: Spec[] = [];
  try {
    for (let step = 0; step < opts.steps; step++) {
      const r = rng.float();
      if (r < 0.6) {
        const res = m.randomWrite(rng, KEYS);
        if (res) store.notify(res.rev, res.changes);
      } else if (r < 0.75 && specs.length < opts.watchers) {
        const owner = rng.pick(owners);
        const w = randomWatcher(rng, owner);
        const cur = m.kv.currentRev;
        const start = rng.chance(0.4) ? 0 : rng.chance(0.8) ? 1 + rng.int(cur + 2) : cur + 1 + rng.int(3);
        store.watch(w, start);
        specs.push({ w, owner, start: start === 0 ? cur + 1 : start });
      } else if (r < 0.82) {
        const owner = rng.pick(owners);
        owner.writable = !owner.writable;
        if (owner.writable) store.kick();
      } else if (r < 0.84 && m.kv.currentRev > 2) {
        const at = Math.max(m.kv.compactRev + 1, m.kv.currentRev - rng.int(15));
        if (at <= m.kv.currentRev && at > m.kv.compactRev) m.compact(at);
      } else if (r < 0.86 && specs.length) {
        const s = rng.pick(specs);
        if (s.canceledAt === undefined && !s.owner.compactedAt.has(s.w)) {
          store.cancel(s.w);
          s.canceledAt = m.kv.currentRev;
        }
      } else {
        await (rng.chance(0.5) ? new Promise((res) => setImmediate(res)) : sleep(rng.int(2)));
      }
    }
    for (const o of owners) o.writable = true;
    store.kick();
    await until(() => store.unsyncedCount === 0, 20_000, 'every watcher to catch up');
    for (const [i, s] of specs.entries()) check(s, m, `seed ${seed}, watcher ${i}`);
  } finally {
    store.close();
  }
}

const SEED = seedFromEnv('watchable-store');

test('random histories: ordered, none missing or repeated, revisions whole, resumable, compaction exact', async () => {
  const runs = process.env.EDGECD_SEED ? 1 : 40;
  for (let i = 0; i < runs; i++) {
    const seed = (SEED + i * 7919) % 2 ** 31;
    try {
      await runSeed(seed, { steps: 400, watchers: 40 });
    } catch (err) {
      console.log(`watchable-store: failing seed ${seed} (replay with EDGECD_SEED=${seed})`);
      throw err;
    }
  }
});

test('a put reaches 10,000 synced watchers, encoded once per distinct form', () => {
  const m = new MemoryKv();
  const store = new WatchableStore(m.history(), { resyncIntervalMs: 0 });
  const owner = new TestOwner();
  const ws: Watcher[] = [];
  for (let i = 0; i < 10_000; i++) {
    const w = new Watcher(owner, 'hot', undefined, i % 2 === 0);
    store.watch(w, 0);
    ws.push(w);
  }
  const res = m.write((t) => t.put('hot', 'x', 0n))!;
  store.notify(res.rev, res.changes);
  assert.equal(owner.deliveries, 10_000);
  assert.ok(ws.every((w) => owner.got.get(w)![0].events[0].kv.value === 'x'));
  assert.equal(owner.batches.size, 2, 'one shared batch with prev_kv, one without');
  store.close();
});

test('a slow owner falls behind without holding writes, then catches up from history', async () => {
  const m = new MemoryKv();
  const store = new WatchableStore(m.history(), { maxRowsPerSync: 5, resyncIntervalMs: 0 });
  const fast = new TestOwner();
  const slow = new TestOwner();
  const wf = new Watcher(fast, 'k', undefined, false);
  const ws = new Watcher(slow, 'k', undefined, true);
  store.watch(wf, 0);
  store.watch(ws, 0);
  slow.writable = false;
  for (let i = 0; i < 50; i++) {
    const r = m.write((t) => t.put('k', `v${i}`, 0n))!;
    store.notify(r.rev, r.changes);
  }
  assert.equal(fast.got.get(wf)!.length, 50, 'the fast watcher got every write as it happened');
  assert.equal(slow.got.get(ws), undefined, 'nothing was pushed to the stalled owner');
  assert.equal(store.unsyncedCount, 1);
  slow.writable = true;
  store.kick();
  await until(() => store.isSynced(ws), 5000, 'the slow watcher to catch up');
  const got = slow.got.get(ws)!.flatMap((g) => g.events);
  assert.deepEqual(
    got.map((e) => e.kv.value),
    Array.from({ length: 50 }, (_, i) => `v${i}`),
  );
  assert.deepEqual(
    got.slice(1).map((e) => e.prevKv?.value),
    Array.from({ length: 49 }, (_, i) => `v${i}`),
  );
  assert.ok(slow.got.get(ws)!.length >= 10, 'read in batches of at most 5 rows');
  store.close();
});

test('a revision larger than the row budget is read whole', async () => {
  const m = new MemoryKv();
  m.write((t) => t.put('a', '1', 0n));
  const big = m.write((t) => {
    for (let i = 0; i < 10; i++) t.put(`k${i}`, 'x', 0n);
  })!;
  m.write((t) => t.put('b', '1', 0n));
  const store = new WatchableStore(m.history(), { maxRowsPerSync: 3, resyncIntervalMs: 0 });
  const owner = new TestOwner();
  const w = new Watcher(owner, '\0', '', false);
  store.watch(w, 1);
  await until(() => store.isSynced(w), 5000, 'catch-up');
  const got = owner.got.get(w)!;
  const withBig = got.find((g) => g.events.some((e) => e.rev === big.rev))!;
  assert.equal(withBig.events.filter((e) => e.rev === big.rev).length, 10);
  assert.deepEqual(
    got.flatMap((g) => g.events.map((e) => e.rev)),
    [2, ...Array(10).fill(3), 4],
  );
  store.close();
});

test("etcd's rule at the compacted revision: a watch may start there, a strict one is told it is compacted", async () => {
  const m = new MemoryKv();
  m.write((t) => t.put('a', '1', 0n)); // 2
  m.write((t) => t.put('a', '2', 0n)); // 3
  m.write((t) => t.deleteRange('a', undefined)); // 4
  m.write((t) => t.put('a', '3', 0n)); // 5
  m.compact(4);
  const store = new WatchableStore(m.history(), { resyncIntervalMs: 0 });
  const owner = new TestOwner();
  const loose = new Watcher(owner, 'a', undefined, false);
  const strict = new Watcher(owner, 'a', undefined, false);
  strict.strict = true;
  const old = new Watcher(owner, 'a', undefined, false);
  store.watch(loose, 4);
  store.watch(strict, 4);
  store.watch(old, 3);
  await until(() => store.unsyncedCount === 0, 5000, 'catch-up');
  // The delete at 4 went with the compaction: the loose watcher starts with the put at 5.
  assert.deepEqual(owner.got.get(loose)!.flatMap((g) => g.events.map((e) => `${e.rev}:${e.type}`)), ['5:0']);
  assert.equal(owner.compactedAt.get(strict), 4);
  assert.equal(owner.compactedAt.get(old), 4);
  store.close();
});

test('revisions applied without notification (a snapshot installed) are caught up from history', async () => {
  const m = new MemoryKv();
  const store = new WatchableStore(m.history(), { resyncIntervalMs: 5 });
  const owner = new TestOwner();
  const w = new Watcher(owner, 'a', undefined, false);
  store.watch(w, 0);
  m.write((t) => t.put('a', '1', 0n));
  m.write((t) => t.put('a', '2', 0n));
  await until(() => (owner.got.get(w)?.flatMap((g) => g.events).length ?? 0) === 2, 5000, 'events after the gap');
  const r = m.write((t) => t.put('a', '3', 0n))!;
  store.notify(r.rev, r.changes);
  assert.deepEqual(
    owner.got.get(w)!.flatMap((g) => g.events.map((e) => e.kv.value)),
    ['1', '2', '3'],
  );
  store.close();
});
