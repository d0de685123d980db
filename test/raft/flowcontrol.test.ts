// Flow control: probe / replicate states, the in-flight window (maxInflightMsgs)
// and the message size limit (maxSizePerMsg).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg, Raft } from '../../src/raft/index.ts';
import { bytes, newRaft, readMessages } from './helpers.ts';

function leader(over: Parameters<typeof newRaft>[2] = {}): Raft {
  const r = newRaft('a', ['a', 'b', 'c'], over);
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  return r;
}

const propose = (r: Raft, data: string) => r.step(msg({ type: 'MsgProp', from: 'a', entries: [{ term: 0, index: 0, type: 'normal', data: bytes(data) }] }));

test('flow control: in probe state the leader sends one MsgApp and waits for an answer or a heartbeat response', () => {
  const r = leader();
  assert.equal(r.trk.progress.get('b')!.state, 'probe');
  propose(r, 'x');
  propose(r, 'y');
  propose(r, 'z');
  const toB = readMessages(r).filter((m) => m.to === 'b' && m.type === 'MsgApp');
  assert.equal(toB.length, 1, 'paused after the first probe');
  r.step(msg({ type: 'MsgHeartbeatResp', from: 'b', to: 'a', term: r.term }));
  assert.equal(readMessages(r).filter((m) => m.to === 'b' && m.type === 'MsgApp').length, 1, 'a heartbeat response lets one more through');
});

test('flow control: in replicate state at most maxInflightMsgs messages are in flight', () => {
  const r = leader({ maxInflightMsgs: 3 });
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: r.term, index: r.raftLog.lastIndex() }));
  assert.equal(r.trk.progress.get('b')!.state, 'replicate');
  readMessages(r);
  for (let i = 0; i < 10; i++) propose(r, `v${i}`);
  const toB = readMessages(r).filter((m) => m.to === 'b' && m.type === 'MsgApp');
  assert.equal(toB.length, 3, 'the window is full');
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: r.term, index: toB[0].entries.at(-1)!.index }));
  const more = readMessages(r).filter((m) => m.to === 'b' && m.type === 'MsgApp');
  assert.ok(more.length >= 1, 'an acknowledgement frees a slot');
  assert.equal(more[0].entries.length, 7, 'and the rest goes out in one message');
});

test('flow control: maxSizePerMsg bounds the entries in one MsgApp (at least one entry always goes)', () => {
  const r = leader({ maxSizePerMsg: 60 });
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: r.term, index: r.raftLog.lastIndex() }));
  readMessages(r);
  r.trk.progress.get('b')!.next = r.raftLog.lastIndex() + 1;
  r.trk.progress.get('b')!.becomeProbe(); // pause b while we append
  r.trk.progress.get('b')!.msgAppFlowPaused = true;
  for (let i = 0; i < 6; i++) propose(r, `value-${i}-xxxxxxxxxx`);
  readMessages(r);
  r.trk.progress.get('b')!.becomeReplicate();
  r.sendAppend('b');
  const [m] = readMessages(r);
  assert.ok(m.entries.length >= 1 && m.entries.length <= 2, `sent ${m.entries.length} entries`);
});

test('flow control: a rejection moves a replicating follower back to probing from the hinted index', () => {
  const r = leader();
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: r.term, index: r.raftLog.lastIndex() }));
  for (let i = 0; i < 3; i++) propose(r, `v${i}`);
  readMessages(r);
  const pr = r.trk.progress.get('b')!;
  assert.equal(pr.state, 'replicate');
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: r.term, index: pr.next - 1, reject: true, rejectHint: 2 }));
  assert.equal(pr.state, 'probe');
  assert.equal(pr.next, 3);
});
