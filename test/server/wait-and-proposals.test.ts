import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrProposalDropped } from '../../src/raft/index.ts';
import { Proposals } from '../../src/server/proposals.ts';
import { decodeRaftRequest } from '../../src/server/raft-request.ts';
import { Wait } from '../../src/server/wait.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** Waiters by id (etcd's pkg/wait) and proposals over them, with a fake clock and a fake raft. */

const flush = () => new Promise<void>((r) => setImmediate(r));

test('a waiter is settled once, by its trigger or by its deadline, never both', async () => {
  const clock = new FakeClock();
  const w = new Wait<number>(clock);
  const a = w.register('a', 100, () => new Error('late'));
  const b = w.register('b', 100, () => new Error('late'));
  assert.equal(w.trigger('a', 1), true);
  assert.equal(w.trigger('a', 2), false, 'already settled');
  assert.equal(await a, 1);
  clock.advance(100);
  await assert.rejects(b, /late/);
  assert.equal(w.trigger('b', 3), false, 'timed out: forgotten');
  const c = w.register('c', 100, () => new Error('late'));
  w.failAll(() => new Error('stopped'));
  await assert.rejects(c, /stopped/);
  assert.equal(w.size, 0);
  assert.equal(clock.pending, 0, 'no timer left behind');
});

function fakeRaft() {
  const proposed: Uint8Array[] = [];
  let drop = 0;
  return {
    proposed,
    dropNext: (n: number) => (drop = n),
    propose: (data: Uint8Array) => {
      if (drop > 0) {
        drop--;
        throw ErrProposalDropped;
      }
      proposed.push(data);
    },
  };
}

function proposals(raft: ReturnType<typeof fakeRaft>, clock: FakeClock, leader = true) {
  let stopped = false;
  const p = new Proposals({
    clock,
    idPrefix: 'x',
    propose: raft.propose,
    proposeConfChange: () => {},
    kick: () => {},
    leaderKnown: () => leader,
    stopped: () => stopped,
    timeoutMs: 1_000,
    retryMs: 100,
  });
  return { p, stop: () => (stopped = true) };
}

test('a proposal is answered when an entry with its id applies; ids never repeat', async () => {
  const clock = new FakeClock();
  const raft = fakeRaft();
  const { p } = proposals(raft, clock);
  const one = p.propose({ compaction: { revision: 1, physical: false } });
  const two = p.propose({ compaction: { revision: 2, physical: false } });
  const ids = raft.proposed.map((d) => decodeRaftRequest(d).id);
  assert.equal(new Set(ids).size, 2);
  p.applied(ids[1], { resp: 'second' });
  p.failed(ids[0], new Error('refused'));
  assert.equal((await two).resp, 'second');
  await assert.rejects(one, /refused/);
  p.applied('someone-else', { resp: 'ignored' });
});

test('a proposal raft drops (no leader yet) is tried again until the deadline, then fails as no leader', async () => {
  const clock = new FakeClock();
  const raft = fakeRaft();
  raft.dropNext(3);
  const { p } = proposals(raft, clock);
  const ok = p.propose({ compaction: { revision: 1, physical: false } });
  clock.advance(300);
  assert.equal(raft.proposed.length, 1, 'submitted on the fourth try');
  p.applied(decodeRaftRequest(raft.proposed[0]).id, { resp: 1 });
  assert.equal((await ok).resp, 1);

  raft.dropNext(100);
  const noLeader = proposals(raft, clock, false).p.propose({ compaction: { revision: 1, physical: false } });
  clock.advance(1_000);
  await assert.rejects(noLeader, /no leader/);
});

test('a proposal that never applies times out as a timeout when a leader is known; a stopped member refuses at once', async () => {
  const clock = new FakeClock();
  const { p, stop } = proposals(fakeRaft(), clock);
  const late = p.propose({ compaction: { revision: 1, physical: false } });
  clock.advance(999);
  await flush();
  clock.advance(1);
  await assert.rejects(late, /request timed out/);
  stop();
  await assert.rejects(p.propose({ compaction: { revision: 1, physical: false } }), /server stopped/);
});

test('waiters with deadlines in and out of order: each settles once, by its trigger or at its own deadline, and no timer is left', async () => {
  const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`wait deadlines: seed ${seed} (replay with EDGECD_SEED=${seed})`);
  const op = fc.oneof(
    fc.record({ register: fc.constantFrom(100, 100, 100, 50, 250, 0) }),
    fc.record({ trigger: fc.nat(40) }),
    fc.record({ fail: fc.nat(40) }),
    fc.record({ advance: fc.constantFrom(0, 1, 10, 49, 50, 100, 300) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      const clock = new FakeClock();
      const w = new Wait<number>(clock);
      // The model: every waiter's deadline and how it must end.
      const model: { deadline: number; end?: string; got?: string }[] = [];
      const settle = (i: number, how: string) => {
        if (model[i].got !== undefined) assert.fail(`waiter ${i} settled twice: ${model[i].got}, then ${how}`);
        model[i].got = how;
      };
      for (const o of ops) {
        if ('register' in o) {
          const i = model.length;
          model.push({ deadline: clock.now() + o.register });
          w.register(`w${i}`, o.register, () => new Error(`timeout ${i}`)).then(
            (v) => settle(i, `value ${v}`),
            (e: Error) => settle(i, e.message),
          );
        } else if ('trigger' in o || 'fail' in o) {
          const i = 'trigger' in o ? o.trigger : o.fail;
          const open = i < model.length && model[i].end === undefined;
          const ok = 'trigger' in o ? w.trigger(`w${i}`, i) : w.fail(`w${i}`, new Error(`failed ${i}`));
          assert.equal(ok, open, `waiter ${i} ${open ? 'waits' : 'does not wait'} at ${clock.now()}`);
          if (open) model[i].end = 'trigger' in o ? `value ${i}` : `failed ${i}`;
        } else {
          const to = clock.now() + o.advance;
          for (const m of model) if (m.end === undefined && m.deadline <= to) m.end = `timeout ${model.indexOf(m)}`;
          clock.advance(o.advance);
        }
        await flush();
      }
      clock.advance(1_000);
      for (const m of model) m.end ??= `timeout ${model.indexOf(m)}`;
      await flush();
      assert.deepEqual(model.map((m) => m.got), model.map((m) => m.end));
      assert.equal(w.size, 0);
      assert.equal(clock.pending, 0, 'no timer left behind');
    }),
    { seed, numRuns: 500 },
  );
});
