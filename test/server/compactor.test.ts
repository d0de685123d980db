import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Compactor, type AutoCompaction } from '../../src/server/compactor.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** Auto-compaction in both of etcd 3.4's modes, on a fake clock with a revision that moves with time. */

const MIN = 60_000;
const flush = () => new Promise<void>((r) => setImmediate(r));

function run(policy: AutoCompaction, o: { leading?: () => boolean; fail?: (rev: number) => Error | undefined } = {}) {
  const clock = new FakeClock(0);
  const compacted: { at: number; rev: number }[] = [];
  // One write a second: the revision is 1 + seconds elapsed.
  const c = new Compactor(policy, {
    clock,
    revision: () => 1 + Math.floor(clock.now() / 1000),
    leading: o.leading ?? (() => true),
    compact: async (rev) => {
      const err = o.fail?.(rev);
      if (err) throw err;
      compacted.push({ at: clock.now(), rev });
    },
  });
  c.start();
  const advance = async (ms: number, step = MIN / 10) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(step);
      await flush();
    }
  };
  return { clock, compacted, advance, c };
}

test('periodic, 10 minutes: the first compaction after 10 minutes keeps 10 minutes of history, then one every 10 minutes', async () => {
  const { compacted, advance } = run({ mode: 'periodic', retentionMs: 10 * MIN });
  await advance(10 * MIN - MIN);
  assert.deepEqual(compacted, [], 'nothing before a whole retention has passed');
  await advance(MIN);
  assert.deepEqual(compacted, [{ at: 10 * MIN, rev: 1 }]);
  await advance(10 * MIN);
  assert.deepEqual(compacted.at(-1), { at: 20 * MIN, rev: 1 + 9 * 60 }, 'the oldest of the 11 samples: 11 minutes ago, as etcd keeps them');
  await advance(10 * MIN);
  assert.equal(compacted.length, 3);
});

test('periodic, 2 hours: waits 2 hours, then compacts every hour to the revision sampled 2 hours and 6 minutes ago', async () => {
  const { compacted, advance } = run({ mode: 'periodic', retentionMs: 120 * MIN });
  await advance(120 * MIN, 6 * MIN);
  assert.deepEqual(compacted, [{ at: 120 * MIN, rev: 1 }]);
  await advance(60 * MIN, 6 * MIN);
  assert.deepEqual(compacted.at(-1), { at: 180 * MIN, rev: 1 + 54 * 60 });
});

test('revision mode: every 5 minutes, to the current revision minus the retention, never the same twice', async () => {
  let writes = true;
  const clock = new FakeClock(0);
  let rev = 1;
  const compacted: number[] = [];
  const c = new Compactor({ mode: 'revision', retention: 1000 }, {
    clock,
    revision: () => rev,
    leading: () => true,
    compact: async (r) => void compacted.push(r),
  });
  c.start();
  for (let i = 0; i < 4; i++) {
    if (writes) rev += 800;
    clock.advance(5 * MIN);
    await flush();
    if (i === 2) writes = false;
  }
  assert.deepEqual(compacted, [601, 1401], 'below the retention nothing; then 1601-1000 and 2401-1000; no repeat when idle');
  c.stop();
});

test('followers compact nothing; a leader after a failure tries again; "already compacted" counts as done', async () => {
  let leading = false;
  let failNext = true;
  const { compacted, advance } = run(
    { mode: 'periodic', retentionMs: 10 * MIN },
    {
      leading: () => leading,
      fail: () => {
        if (!failNext) return undefined;
        failNext = false;
        return new Error('etcdserver: request timed out');
      },
    },
  );
  await advance(15 * MIN);
  assert.deepEqual(compacted, []);
  leading = true;
  await advance(MIN);
  assert.deepEqual(compacted, [], 'the first try failed');
  await advance(MIN);
  assert.equal(compacted.length, 1, 'tried again a sample later, with the history the follower sampled');
});
