import { test } from 'node:test';
import assert from 'node:assert/strict';
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
