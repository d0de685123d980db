// Unit tests of the small pieces: storage, the log, quorum math, inflights, conf change encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  confStateAfter,
  decodeConfChange,
  encodeConfChange,
  ErrCompacted,
  ErrUnavailable,
  majorityCommitted,
  majorityVoteResult,
  MemoryStorage,
  Rand,
} from '../../src/raft/index.ts';
import { Inflights } from '../../src/raft/inflights.ts';
import { RaftLog } from '../../src/raft/log.ts';
import { entry, storageWithTerms, bytes } from './helpers.ts';

test('MemoryStorage: append truncates conflicts, compact and snapshots move the first index', () => {
  const s = new MemoryStorage();
  s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
  assert.equal(s.lastIndex(), 3);
  s.append([entry(2, 2)]);
  assert.equal(s.lastIndex(), 2, 'the conflicting suffix is gone');
  assert.equal(s.term(2), 2);
  s.append([entry(3, 2), entry(4, 2)]);
  s.createSnapshot(3, { voters: ['a'], learners: [] }, bytes('st'));
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.term(3), 2, 'the term of the compaction point is kept');
  assert.throws(() => s.term(2), (e) => e === ErrCompacted);
  assert.throws(() => s.entries(3, 5), (e) => e === ErrCompacted);
  assert.throws(() => s.entries(4, 6), (e) => e === ErrUnavailable);
  assert.deepEqual(s.entries(4, 5).map((e) => e.index), [4]);
  assert.equal(s.snapshot().metadata.index, 3);
  s.applySnapshot({ metadata: { index: 10, term: 3, confState: { voters: ['a'], learners: [] } }, data: bytes('x') });
  assert.equal(s.firstIndex(), 11);
  assert.equal(s.lastIndex(), 10);
});

test('MemoryStorage: entries are limited by size but always return at least one', () => {
  const s = new MemoryStorage();
  s.append([entry(1, 1, 'aaaa'), entry(2, 1, 'bbbb'), entry(3, 1, 'cccc')]);
  assert.equal(s.entries(1, 4, 1).length, 1);
  assert.equal(s.entries(1, 4, 60).length, 2);
  assert.equal(s.entries(1, 4).length, 3);
});

test('RaftLog: maybeAppend checks the previous entry, skips what matches and truncates conflicts', () => {
  const log = new RaftLog(storageWithTerms(['a'], [1, 2, 2]));
  assert.equal(log.maybeAppend(4, 3, 0, []), undefined, 'term mismatch at 4');
  assert.equal(log.maybeAppend(3, 2, 3, [entry(4, 2), entry(5, 3)]), 5);
  assert.equal(log.committed, 3);
  assert.equal(log.lastIndex(), 5);
  assert.equal(log.maybeAppend(3, 2, 5, [entry(4, 4)]), 4);
  assert.equal(log.lastIndex(), 4, 'the conflicting 5 went with it');
  assert.equal(log.term(4), 4);
  assert.equal(log.committed, 4);
});

test('RaftLog: findConflictByTerm skips a whole term per probe', () => {
  const log = new RaftLog(storageWithTerms(['a'], [1, 3, 3, 3, 5, 5, 5, 5]));
  assert.deepEqual(log.findConflictByTerm(9, 2), { index: 2, term: 1 });
  assert.deepEqual(log.findConflictByTerm(9, 4), { index: 5, term: 3 });
  assert.deepEqual(log.findConflictByTerm(9, 5), { index: 9, term: 5 });
});

test('quorum: the commit index is the median of the voters’ match indexes', () => {
  const v = (...xs: string[]) => new Set(xs);
  const m = (o: Record<string, number>) => (id: string) => o[id];
  assert.equal(majorityCommitted(v('a'), m({ a: 7 })), 7);
  assert.equal(majorityCommitted(v('a', 'b', 'c'), m({ a: 5, b: 3, c: 1 })), 3);
  assert.equal(majorityCommitted(v('a', 'b', 'c', 'd'), m({ a: 5, b: 4, c: 3, d: 1 })), 3);
  assert.equal(majorityCommitted(v('a', 'b', 'c'), m({ a: 9 })), 0, 'missing acks count as 0');
  const votes = (o: Record<string, boolean>) => new Map(Object.entries(o));
  assert.equal(majorityVoteResult(v('a', 'b', 'c'), votes({ a: true, b: true })), 'won');
  assert.equal(majorityVoteResult(v('a', 'b', 'c'), votes({ a: true })), 'pending');
  assert.equal(majorityVoteResult(v('a', 'b', 'c'), votes({ a: true, b: false, c: false })), 'lost');
});

test('inflights: a bounded window freed by acknowledgements', () => {
  const f = new Inflights(3);
  f.add(5, 10);
  f.add(7, 10);
  f.add(9, 10);
  assert.ok(f.full());
  f.freeLE(7);
  assert.equal(f.length, 1);
  f.add(11, 10);
  f.add(12, 10);
  assert.ok(f.full());
  f.freeFirstOne();
  assert.equal(f.length, 2);
  f.freeLE(100);
  assert.equal(f.length, 0);
  const b = new Inflights(10, 25);
  b.add(1, 10);
  b.add(2, 10);
  assert.ok(!b.full());
  b.add(3, 10);
  assert.ok(b.full(), 'byte budget reached');
});

test('conf change: encoding is self-describing and round-trips', () => {
  for (const cc of [
    { type: 'addNode', nodeId: 'a1b2c3d4e5f60718' },
    { type: 'addLearner', nodeId: 'x', context: bytes('{"peerURLs":["http://x:2380"]}') },
    { type: 'removeNode', nodeId: 'ünïcode' },
  ] as const) {
    assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  }
  assert.throws(() => decodeConfChange(bytes('not a conf change')));
  assert.deepEqual(confStateAfter({ voters: ['a', 'b'], learners: ['c'] }, { type: 'addNode', nodeId: 'c' }), {
    voters: ['a', 'b', 'c'],
    learners: [],
  });
  assert.deepEqual(confStateAfter({ voters: ['a'], learners: [] }, { type: 'removeNode', nodeId: 'a' }), {
    voters: ['a'],
    learners: [],
  }, 'the last voter cannot be removed');
});

test('rand: seeded and reproducible', () => {
  const a = new Rand(42);
  const b = new Rand(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
