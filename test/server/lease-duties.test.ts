import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lessor } from '../../src/lease/lessor.ts';
import { LeaseDuties } from '../../src/server/lease-duties.ts';
import type { RaftRequest } from '../../src/server/raft-request.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/**
 * The leader's lease duties with a fake clock and a log the test commits by hand: what the leader
 * proposes, when, and what keep-alives and time-to-live questions answer meanwhile.
 */

const flush = () => new Promise<void>((r) => setImmediate(r));

function setup(o: { leader?: boolean; forward?: (kind: 'renew' | 'ttl', id: bigint) => Promise<{ ttl: number }> } = {}) {
  const clock = new FakeClock(1_000);
  const lessor = new Lessor(1);
  let leader = o.leader ?? true;
  const proposed: { req: Omit<RaftRequest, 'id'>; apply: () => void; fail: (e: unknown) => void }[] = [];
  const duties = new LeaseDuties({
    lessor,
    clock,
    isLeader: () => leader,
    raftLeading: () => leader,
    readBarrier: async () => {},
    // Held until the test applies it, as a write stuck in replication would be.
    propose: (req) =>
      new Promise((resolve, reject) => {
        proposed.push({
          req,
          apply: () => {
            if (req.leaseRevoke) lessor.revoke(req.leaseRevoke.ID);
            resolve({});
          },
          fail: reject,
        });
      }),
    forward: o.forward,
    heartbeatMs: 100,
    electionTimeoutMs: 1000,
    requestTimeoutMs: 7000,
    checkpointMs: 60_000,
  });
  if (leader) lessor.promote(clock.now(), 0);
  return { clock, lessor, duties, proposed, setLeader: (v: boolean) => (leader = v) };
}

test('a keep-alive of an expired lease whose revoke is in flight waits for the revoke and answers not found (TTL 0)', async () => {
  const { clock, lessor, duties, proposed } = setup();
  lessor.grant(7n, 3, clock.now());
  lessor.attach(7n, 'l/7');
  clock.advance(3_000);
  duties.tick();
  assert.deepEqual(proposed.map((p) => p.req), [{ leaseRevoke: { ID: 7n }, internal: true }], 'the expired lease is revoked through the log');
  let answer: number | undefined;
  const renewal = duties.renew(7n).then((ttl) => (answer = ttl));
  await flush();
  assert.equal(answer, undefined, 'no answer while the revoke is in flight');
  assert.equal(lessor.get(7n)?.expiry, 4_000, 'the lease was not extended');
  proposed[0].apply();
  await renewal;
  assert.equal(answer, 0, 'the renewal answers not found once the revoke applied');
});

test('time-to-live of an expired lease waits for its revoke and answers -1', async () => {
  const { clock, lessor, duties, proposed } = setup();
  lessor.grant(9n, 2, clock.now());
  clock.advance(2_500);
  duties.tick();
  const ttl = duties.timeToLive(9n);
  await flush();
  proposed[0].apply();
  assert.deepEqual(await ttl, { ttl: -1, granted: 0, keys: [] });
});

test('a leader that loses its role while a renewal waits hands the renewal to the next leader', async () => {
  const forwarded: bigint[] = [];
  const { clock, lessor, duties, setLeader } = setup({
    forward: async (_kind, id) => {
      forwarded.push(id);
      return { ttl: 5 };
    },
  });
  lessor.grant(3n, 5, clock.now());
  clock.advance(5_000);
  duties.tick();
  const renewal = duties.renew(3n);
  await flush();
  setLeader(false);
  duties.tick(); // the lessor follows raft's role: demoted, the waiter looks again
  assert.equal(await renewal, 5);
  assert.deepEqual(forwarded, [3n], 'asked the new leader, which may hold the lease alive');
});

test('a revoke that never applies times the renewal out instead of answering a TTL', async () => {
  const { clock, lessor, duties } = setup();
  lessor.grant(4n, 2, clock.now());
  clock.advance(2_000);
  duties.tick();
  const renewal = duties.renew(4n);
  await flush();
  clock.advance(7_000);
  await assert.rejects(renewal, /request timed out/);
});

test('a renewal before expiry extends the lease by a full TTL from now, and the revoke is not proposed', async () => {
  const { clock, lessor, duties, proposed } = setup();
  lessor.grant(5n, 3, clock.now());
  clock.advance(2_900);
  assert.equal(await duties.renew(5n), 3);
  clock.advance(2_000);
  duties.tick();
  assert.equal(proposed.length, 0);
  clock.advance(1_000);
  duties.tick();
  assert.deepEqual(proposed.map((p) => p.req), [{ leaseRevoke: { ID: 5n }, internal: true }]);
});

test('unknown leases answer TTL 0 and time-to-live -1; a follower without a way to the leader is refused', async () => {
  const { duties } = setup();
  assert.equal(await duties.renew(42n), 0);
  assert.deepEqual(await duties.timeToLive(42n), { ttl: -1, granted: 0, keys: [] });
  const f = setup({ leader: false });
  await assert.rejects(f.duties.renew(1n), /not leader/);
});

test('revokes are rate-limited per tick and checkpoints go out once the interval passed', async () => {
  const { clock, lessor, duties, proposed } = setup();
  for (let i = 1n; i <= 500n; i++) lessor.grant(i, 1, clock.now());
  lessor.grant(1000n, 300, clock.now());
  clock.advance(1_000);
  duties.tick();
  const revokes = proposed.filter((p) => p.req.leaseRevoke).length;
  assert.equal(revokes, 100, '1,000 a second at a 100 ms heartbeat');
  duties.tick();
  assert.equal(proposed.filter((p) => p.req.leaseRevoke).length, 100, 'no more while 100 are in flight');
  for (const p of proposed.splice(0)) p.apply();
  await flush();
  clock.advance(60_000);
  duties.tick();
  const cp = proposed.find((p) => p.req.leaseCheckpoint);
  assert.ok(cp, 'a checkpoint was proposed');
  assert.deepEqual(cp.req.leaseCheckpoint!.checkpoints.find((c) => c.ID === 1000n), { ID: 1000n, remaining: 239 });
});
