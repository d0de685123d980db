import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lessor } from '../../src/lease/lessor.ts';

/** The lessor's rules, with time handed in: expiry, renewal, leader changes, checkpoints. */

test('the minimum TTL applies, and only the leader lets leases expire', () => {
  const l = new Lessor(2);
  assert.equal(l.grant(1n, 1, 0).ttl, 2);
  assert.deepEqual(l.expired(10_000, 10), [], 'a follower never expires leases');
  l.promote(0, 1000);
  assert.deepEqual(l.expired(2_999, 10), []);
  assert.deepEqual(l.expired(3_000, 10), [1n], 'ttl plus the election extension');
});

test('renewal gives a full TTL from now; unknown leases and followers are refused', () => {
  const l = new Lessor(1);
  l.grant(7n, 10, 0);
  assert.throws(() => l.renew(7n, 0), /not leader/);
  l.promote(0, 0);
  assert.equal(l.renew(7n, 5_000), 10);
  assert.deepEqual(l.expired(14_999, 10), []);
  assert.deepEqual(l.expired(15_000, 10), [7n]);
  assert.throws(() => l.renew(8n, 0), /requested lease not found/);
});

test('a new leader resumes from the checkpointed TTL, not the full one', () => {
  const leader = new Lessor(1);
  const follower = new Lessor(1);
  for (const x of [leader, follower]) x.grant(5n, 100, 0);
  leader.promote(0, 0);
  const due = leader.checkpointsDue(60_000, 10);
  assert.deepEqual(due, [{ id: 5n, remaining: 40 }]);
  for (const c of due) follower.checkpoint(c.id, c.remaining, 60_000);
  follower.promote(61_000, 1_000);
  assert.equal(follower.remainingTtl(5n, 61_000), 41, '40 s left plus the 1 s extension');
  assert.deepEqual(follower.expired(101_999, 10), []);
  assert.deepEqual(follower.expired(102_000, 10), [5n]);
});

test('expired() is bounded; revoke returns keys in order and forgets the lease', () => {
  const l = new Lessor(1);
  l.promote(0, 0);
  for (let i = 1n; i <= 50n; i++) l.grant(i, 1, 0);
  assert.equal(l.expired(5_000, 7).length, 7);
  l.attach(3n, 'b');
  l.attach(3n, 'a');
  l.detach(3n, 'b');
  l.attach(3n, 'c');
  assert.deepEqual(l.revoke(3n), ['a', 'c']);
  assert.equal(l.exists(3n), false);
  assert.throws(() => l.revoke(3n), /requested lease not found/);
});

test('a lease past its expiry is never renewed; waiters learn whether it was revoked or the lessor lost its role', async () => {
  const l = new Lessor(1);
  l.promote(0, 0);
  l.grant(1n, 2, 0);
  l.grant(2n, 2, 0);
  assert.equal(l.renew(1n, 1_999), 2, 'before expiry: a full TTL from now');
  assert.equal(l.renew(2n, 2_000), 'expired');
  assert.equal(l.isExpired(2n, 2_000), true);
  assert.equal(l.get(2n)!.expiry, 2_000, 'not extended');
  const revoked = l.whenGone(2n);
  l.revoke(2n);
  assert.equal(await revoked, 'revoked');
  assert.equal(await l.whenGone(2n), 'revoked', 'an unknown lease is gone already');
  const demoted = l.whenGone(1n);
  l.demote();
  assert.equal(await demoted, 'demoted');
  assert.equal(l.isExpired(1n, 10_000), false, 'a follower holds no expiries');
});
