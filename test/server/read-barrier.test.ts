import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadBarrier } from '../../src/server/read-barrier.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** ReadIndex batching: which reads share a round, and when each may go. */

const decoder = new TextDecoder();

function setup() {
  const clock = new FakeClock();
  const asked: string[] = [];
  const deferred: (() => void)[] = [];
  const b = new ReadBarrier({
    clock,
    idPrefix: 'p',
    readIndex: (ctx) => asked.push(decoder.decode(ctx)),
    defer: (fn) => deferred.push(fn),
    leaderKnown: () => true,
    timeoutMs: 1_000,
  });
  const turn = () => deferred.splice(0).forEach((f) => f());
  const answer = (ctx: string, index: number) => b.answered([{ index, requestCtx: new TextEncoder().encode(ctx) }]);
  return { clock, asked, b, turn, answer };
}

test('reads arriving together share one round; a read after the round was asked waits for the next', async () => {
  const { asked, b, turn, answer } = setup();
  const done: string[] = [];
  const r1 = b.wait().then(() => done.push('r1'));
  const r2 = b.wait().then(() => done.push('r2'));
  turn();
  assert.deepEqual(asked, ['p/r0'], 'one ReadIndex for both');
  const r3 = b.wait().then(() => done.push('r3'));
  turn();
  assert.deepEqual(asked, ['p/r0', 'p/r1'], 'a read after the ask does not join it: it could miss writes acknowledged meanwhile');
  answer('p/r0', 10);
  b.release(9);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(done, [], 'not before this member applied up to the read index');
  b.release(10);
  await Promise.all([r1, r2]);
  assert.deepEqual(done.sort(), ['r1', 'r2']);
  answer('p/r1', 11);
  b.release(11);
  await r3;
});

test('an unanswered round is asked again; one that never completes times out; failAll rejects the rest', async () => {
  const { clock, asked, b, turn } = setup();
  const slow = b.wait();
  turn();
  b.retry();
  assert.deepEqual(asked, ['p/r0', 'p/r0']);
  clock.advance(1_000);
  await assert.rejects(slow, /request timed out/);
  const left = b.wait();
  b.failAll(() => new Error('server stopped'));
  await assert.rejects(left, /server stopped/);
});
