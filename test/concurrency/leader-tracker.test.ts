import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KeyValue } from '../../src/mvcc/types.ts';
import { EventType, type WatchEvent } from '../../src/mvcc/watcher-group.ts';
import { byRevision, LeaderTracker } from '../../src/server/concurrency/leader-tracker.ts';

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`leader-tracker: seed ${seed} (replay with EDGECD_SEED=${seed})`);

/** One revision's writes to an election's keys: campaigners by index; put (campaign or proclaim) or delete (resign, expiry). */
type Write = { who: number; del: boolean; value: number }[];

/** Replays writes as a store would, giving each revision's events and the live keys after it. */
function replay(writes: Write[]): { rev: number; events: WatchEvent[]; live: Map<string, KeyValue> }[] {
  const live = new Map<string, KeyValue>();
  const out: { rev: number; events: WatchEvent[]; live: Map<string, KeyValue> }[] = [];
  let rev = 1;
  for (const w of writes) {
    rev++;
    const events: WatchEvent[] = [];
    for (const op of w) {
      const key = `e/${op.who}`;
      const prev = live.get(key);
      if (op.del) {
        if (!prev) continue;
        live.delete(key);
        events.push({ type: EventType.DELETE, kv: { key, createRevision: 0, modRevision: rev, version: 0, value: '', lease: 0n }, prevLoaded: false });
      } else {
        const kv: KeyValue = { key, createRevision: prev?.createRevision ?? rev, modRevision: rev, version: (prev?.version ?? 0) + 1, value: String(op.value), lease: 1n };
        live.set(key, kv);
        events.push({ type: EventType.PUT, kv, prevLoaded: false });
      }
    }
    if (events.length) out.push({ rev, events, live: new Map(live) });
  }
  return out;
}

/** The leader by definition: the live key with the lowest create revision. */
const leaderOf = (live: Map<string, KeyValue>) => [...live.values()].sort((a, b) => a.createRevision - b.createRevision || (a.key < b.key ? -1 : 1))[0];

/** What an observer must see from a start point: the leader at each revision where it (or its value) changed. */
function expected(steps: ReturnType<typeof replay>, from: number): { key: string; mod: number; rev: number }[] {
  const out: { key: string; mod: number; rev: number }[] = [];
  let last: KeyValue | undefined = from > 0 ? leaderOf(steps[from - 1].live) : undefined;
  for (const s of steps.slice(from)) {
    const l = leaderOf(s.live);
    if (l && !(last && last.key === l.key && last.modRevision === l.modRevision)) out.push({ key: l.key, mod: l.modRevision, rev: s.rev });
    if (l) last = l;
  }
  return out;
}

const writes = fc.array(fc.array(fc.record({ who: fc.integer({ min: 0, max: 4 }), del: fc.boolean(), value: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 3 }), { maxLength: 40 });

test('an observer sees the leader by definition at every change, the same from any start, whatever batches the events come in', () => {
  fc.assert(
    fc.property(writes, fc.nat(), fc.nat(), (ws, startPick, splitPick) => {
      const steps = replay(ws);
      const from = steps.length ? startPick % (steps.length + 1) : 0;
      const initial = from > 0 ? [...steps[from - 1].live.values()] : [];
      const t = new LeaderTracker(initial);
      // Resuming: the leader at the start point was already seen.
      t.next();
      // Deliveries may span several revisions (a watcher catching up from history), never split one.
      const rest = steps.slice(from);
      const at = rest.length ? splitPick % (rest.length + 1) : 0;
      const all = rest.flatMap((s) => s.events);
      const cut = rest.slice(0, at).reduce((n, s) => n + s.events.length, 0);
      const seen: { key: string; mod: number; rev: number }[] = [];
      for (const batch of [all.slice(0, cut), all.slice(cut)]) {
        for (const g of byRevision(batch)) {
          t.apply(g.events);
          const l = t.next();
          if (l) seen.push({ key: l.key, mod: l.modRevision, rev: g.rev });
        }
      }
      assert.deepEqual(seen, expected(steps, from));
    }),
    { seed, numRuns: 500 },
  );
});

test('a fresh tracker reports the current leader once, then nothing until it changes', () => {
  const kv = (key: string, c: number, m: number): KeyValue => ({ key, createRevision: c, modRevision: m, version: 1, value: 'v', lease: 1n });
  const t = new LeaderTracker([kv('e/b', 5, 9), kv('e/a', 3, 4)]);
  assert.equal(t.next()?.key, 'e/a');
  assert.equal(t.next(), undefined);
  t.apply([{ type: EventType.PUT, kv: kv('e/b', 5, 10), prevLoaded: false }]);
  assert.equal(t.next(), undefined, 'a waiting campaigner changing its value is not a leader change');
  t.apply([{ type: EventType.DELETE, kv: kv('e/a', 0, 11), prevLoaded: false }]);
  assert.equal(t.next()?.key, 'e/b');
});
