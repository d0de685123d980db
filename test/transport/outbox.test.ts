import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, Message } from '../../src/raft/index.ts';
import { Outbox } from '../../src/transport/outbox.ts';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });
const msg = (p: Partial<Message>): Message => ({ type: 'MsgApp', from: 'a', to: 'b', term: 2, logTerm: 2, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...p });
const app = (index: number, logTerm: number, n: number, commit: number, term = 2) =>
  msg({ index, logTerm, term, commit, entries: Array.from({ length: n }, (_, i) => entry(index + 1 + i, term)) });

test('appends that continue one another are joined into one with the latest commit index', () => {
  const box = new Outbox();
  const first = app(10, 2, 2, 9);
  box.push(first);
  box.push(app(12, 2, 1, 10));
  box.push(app(13, 2, 3, 12));
  const out = box.take();
  assert.equal(out.length, 1);
  assert.deepEqual(out[0].entries.map((e) => e.index), [11, 12, 13, 14, 15, 16]);
  assert.equal(out[0].index, 10);
  assert.equal(out[0].commit, 12);
  // The message raft handed over is not changed (raft may hold on to it).
  assert.equal(first.entries.length, 2);
  assert.equal(box.size, 0);
});

test('appends are not joined across a gap, a different log term or a different term', () => {
  for (const second of [app(13, 2, 1, 10), msg({ index: 12, logTerm: 1, entries: [entry(13, 2)] }), app(12, 2, 1, 10, 3)]) {
    const box = new Outbox();
    box.push(app(10, 2, 2, 9));
    box.push(second);
    assert.equal(box.take().length, 2, JSON.stringify(second));
  }
});

test('an append without entries is left out when a later append of the same term follows', () => {
  const box = new Outbox();
  box.push(msg({ index: 20, logTerm: 2, commit: 18 }));
  box.push(msg({ type: 'MsgHeartbeat', commit: 18 }));
  box.push(msg({ index: 30, logTerm: 2, commit: 19, entries: [entry(31, 2)] }));
  assert.deepEqual(box.take().map((m) => [m.type, m.commit]), [
    ['MsgHeartbeat', 18],
    ['MsgApp', 19],
  ]);
  // Of another term it stays.
  box.push(msg({ index: 20, logTerm: 2, commit: 18, term: 2 }));
  box.push(msg({ index: 20, logTerm: 2, commit: 18, term: 3, entries: [entry(21, 3)] }));
  assert.equal(box.take().length, 2);
});

test('of a follower’s accepting answers only the highest goes; rejections all go, in order', () => {
  const box = new Outbox();
  const resp = (index: number, reject = false, term = 2) => msg({ type: 'MsgAppResp', index, reject, rejectHint: reject ? index - 1 : 0, term });
  box.push(resp(5));
  box.push(resp(9, true));
  box.push(resp(8));
  box.push(resp(7));
  box.push(resp(4, true));
  const out = box.take();
  assert.deepEqual(out.map((m) => [m.index, m.reject]), [
    [9, true],
    [8, false],
    [4, true],
  ]);
  assert.equal(box.pushed, 0);
  box.push(resp(8, false, 2));
  box.push(resp(3, false, 3));
  assert.deepEqual(box.take().map((m) => [m.index, m.term]), [
    [8, 2],
    [3, 3],
  ]);
});

test('forwarded proposals are joined in order, but never with a membership change', () => {
  const prop = (type: Entry['type'], ...idx: number[]) => msg({ type: 'MsgProp', term: 0, entries: idx.map((i) => ({ ...entry(0, 0), type, data: new Uint8Array([i]) })) });
  const box = new Outbox();
  box.push(prop('normal', 1));
  box.push(prop('normal', 2, 3));
  box.push(prop('confChange', 4));
  box.push(prop('normal', 5));
  box.push(prop('normal', 6));
  const out = box.take();
  assert.deepEqual(
    out.map((m) => m.entries.map((e) => e.data[0])),
    [[1, 2, 3], [4], [5, 6]],
  );
});
