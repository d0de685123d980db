import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionCheck, mismatched } from '../../src/server/corruption.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** The leader's corruption check: which peers count as corrupt, and what it raises. */

const h = (hash: number, revision = 10, compactRevision = 3) => ({ hash, revision, compactRevision });

test('only a peer that hashed the same revision under the same compaction and got another hash is corrupt', () => {
  const local = h(111);
  assert.deepEqual(
    mismatched(local, [
      { id: 1n, result: h(111) },
      { id: 2n, result: h(222) },
      { id: 3n, result: h(222, 10, 5) },
      { id: 4n, result: h(222, 9) },
      { id: 5n, error: new Error('etcdserver: mvcc: required revision is a future revision') },
    ]),
    [2n],
  );
});

test('the periodic check runs on the leader only and raises CORRUPT for each member that differs', async () => {
  const clock = new FakeClock();
  let leading = false;
  const raised: [bigint, number][] = [];
  const c = new CorruptionCheck({
    clock,
    intervalMs: 1000,
    leading: () => leading,
    local: async () => h(7),
    peers: async () => [
      { id: 2n, result: h(7) },
      { id: 3n, result: h(8) },
    ],
    raise: async (id, alarm) => raised.push([id, alarm]),
    log: () => {},
  });
  assert.deepEqual(await c.check(), [], 'a follower checks nothing');
  leading = true;
  c.start();
  clock.advance(1000);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(raised, [[3n, 2]]);
  c.stop();
  clock.advance(5000);
  assert.equal(raised.length, 1, 'stopped');
});
