import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, formatAnomaly, type Anomaly } from './check.ts';
import { ELECTION_NAME, FENCE_KEY, LOCK_NAME, type History, type WatchEvent } from './history.ts';

/**
 * The lock and election checkers (check-coord.ts) pass a clean made-up history, one with what
 * faults legitimately cause (a lock answer lost while its key went on to hold the lock, a holder
 * whose lease ran out and whose fenced write was refused, a leader whose lease ran out and whose
 * proclaim was refused, an observer that reconnected), and reject each violation they exist for:
 * two holders' fenced writes interleaved, a fenced write after its lock key was deleted, a lock
 * answer the history does not have, an observer that skips or reorders a leader, and two
 * campaigners answered as leader at overlapping times.
 */

type Step = ['put', string, string] | ['del', string];

/** The history of a script of puts and deletes, one revision each from 2 on. */
function events(script: Step[]): { events: WatchEvent[]; ranges: Record<string, { value: string; mod: number; create: number; version: number }> } {
  const live = new Map<string, { value: string; mod: number; create: number; version: number }>();
  const out: WatchEvent[] = [];
  script.forEach((s, i) => {
    const rev = i + 2;
    const cur = live.get(s[1]);
    if (s[0] === 'put') {
      const kv = { value: s[2], mod: rev, create: cur?.create ?? rev, version: (cur?.version ?? 0) + 1 };
      live.set(s[1], kv);
      out.push({ rev, type: 'PUT', key: s[1], ...kv, prev: cur?.value ?? null, lease: '' });
    } else {
      live.delete(s[1]);
      out.push({ rev, type: 'DELETE', key: s[1], value: '', create: 0, mod: rev, version: 0, prev: cur?.value ?? null, lease: '' });
    }
  });
  return { events: out, ranges: Object.fromEntries(live) };
}

const L = (hex: string) => `${LOCK_NAME}/${hex}`;
const E = (hex: string) => `${ELECTION_NAME}/${hex}`;

/** The clean script: revisions 2.. in order (see the comments for who does what). */
function cleanScript(): Step[] {
  return [
    ['put', L('a'), ''], // 2: a0 locks at once
    ['put', L('b'), ''], // 3: a1 queues
    ['put', FENCE_KEY, 'f0-0'], // 4: a0 writes
    ['put', FENCE_KEY, 'f0-1'], // 5
    ['del', L('a')], // 6: a0 unlocks; a1 holds
    ['put', FENCE_KEY, 'f1-0'], // 7: a1 writes
    ['put', L('c'), ''], // 8: a2 queues, its answer is lost
    ['del', L('b')], // 9: a1 unlocks: c holds unknown to its client
    ['del', L('c')], // 10: a2's lease revoked
    ['put', L('d'), ''], // 11: a3 locks, then stalls past its lease
    ['del', L('d')], // 12: a3's lease expires; its fenced write is refused
    ['put', E('14'), 'e0-0'], // 13: c0 leads
    ['put', E('15'), 'e1-0'], // 14: c1 queues
    ['put', E('14'), 'e0-1'], // 15: c0 proclaims
    ['del', E('14')], // 16: c0 resigns; c1 leads
    ['put', E('15'), 'e1-1'], // 17: c1 proclaims
    ['del', E('15')], // 18: c1's lease expires; its next proclaim is refused
    ['put', E('16'), 'e2-0'], // 19: c2 leads
    ['del', E('16')], // 20: c2 resigns
  ];
}

function cleanHistory(script = cleanScript()): History {
  const { events: evs, ranges } = events(script);
  const final = evs[evs.length - 1].rev;
  const h: History = {
    seed: 0,
    members: 3,
    keys: [],
    electionTimeoutMs: 1000,
    ops: [],
    watchers: [],
    leases: [],
    faults: [],
    leaderChanges: [],
    notes: [],
    finalRevision: final,
    finalHistories: [0, 1, 2].map(() => evs.map((e) => ({ ...e }))),
    finalRanges: [0, 1, 2].map(() => structuredClone(ranges)),
    locks: {
      name: LOCK_NAME,
      fenceKey: FENCE_KEY,
      attempts: [
        {
          client: 0, member: 0, lease: '10', key: L('a'), call: 15, ret: 23, rev: 2, create: 2, createRead: 2,
          fenced: [
            { member: 0, value: 'f0-0', call: 35, ret: 43, rev: 4, ok: true },
            { member: 0, value: 'f0-1', call: 45, ret: 53, rev: 5, ok: true },
          ],
          unlock: { member: 0, call: 55, ret: 63, rev: 6 },
        },
        {
          client: 1, member: 1, lease: '11', key: L('b'), call: 25, ret: 66, rev: 6, create: 3, createRead: 6,
          fenced: [{ member: 1, value: 'f1-0', call: 67, ret: 73, rev: 7, ok: true }],
          unlock: { member: 1, call: 85, ret: 93, rev: 9 },
        },
        { client: 2, member: 2, lease: '12', key: L('c'), call: 75, error: 'timeout', fenced: [] },
        {
          client: 3, member: 0, lease: '13', key: L('d'), call: 105, ret: 113, rev: 11, create: 11, createRead: 11, stale: true,
          fenced: [{ member: 0, value: 'f3-0', call: 125, ret: 128, rev: 12, ok: false }],
          unlock: { member: 0, call: 129, ret: 131, rev: 12 },
        },
      ],
    },
    elections: {
      name: ELECTION_NAME,
      campaigns: [
        {
          client: 0, member: 0, lease: '20', value: 'e0-0', call: 125, ret: 133, rev: 13, key: E('14'), create: 13,
          proclaims: [{ member: 0, value: 'e0-1', call: 145, ret: 153, rev: 15, ok: true }],
          resign: { member: 0, call: 155, ret: 163, rev: 16 },
        },
        {
          client: 1, member: 1, lease: '21', value: 'e1-0', call: 135, ret: 166, rev: 14, key: E('15'), create: 14, stale: true,
          proclaims: [
            { member: 1, value: 'e1-1', call: 167, ret: 173, rev: 17, ok: true },
            { member: 1, value: 'e1-2', call: 185, ret: 188, ok: false, error: '500 election: not leader' },
          ],
        },
        {
          client: 2, member: 2, lease: '22', value: 'e2-0', call: 189, ret: 193, rev: 19, key: E('16'), create: 19,
          proclaims: [],
          resign: { member: 2, call: 195, ret: 203, rev: 20 },
        },
      ],
      observers: [
        {
          id: 0,
          sessions: [
            {
              member: 0, call: 120, end: 165, endReason: 'stream ended',
              lines: [
                { rev: 13, key: E('14'), create: 13, mod: 13, value: 'e0-0' },
                { rev: 15, key: E('14'), create: 13, mod: 15, value: 'e0-1' },
                { rev: 16, key: E('15'), create: 14, mod: 14, value: 'e1-0' },
              ],
            },
            {
              // Reconnected elsewhere: starts with the leader of now.
              member: 1, call: 175, endReason: 'harness stopped',
              lines: [
                { rev: 17, key: E('15'), create: 14, mod: 17, value: 'e1-1' },
                { rev: 19, key: E('16'), create: 19, mod: 19, value: 'e2-0' },
              ],
            },
          ],
        },
        {
          id: 1,
          sessions: [
            {
              member: 2, call: 139, endReason: 'harness stopped',
              lines: [
                { rev: 14, key: E('14'), create: 13, mod: 13, value: 'e0-0' },
                { rev: 15, key: E('14'), create: 13, mod: 15, value: 'e0-1' },
                { rev: 16, key: E('15'), create: 14, mod: 14, value: 'e1-0' },
                { rev: 17, key: E('15'), create: 14, mod: 17, value: 'e1-1' },
                { rev: 19, key: E('16'), create: 19, mod: 19, value: 'e2-0' },
              ],
            },
          ],
        },
      ],
    },
  };
  return h;
}

const text = (as: Anomaly[]) => as.map(formatAnomaly).join('\n');
const kinds = (as: Anomaly[]) => [...new Set(as.map((a) => a.checker))].sort();

test('coordination checker: a clean history with lost answers, lapsed leases and reconnecting observers passes', () => {
  const r = checkHistory(cleanHistory());
  assert.deepEqual(r.anomalies, [], text(r.anomalies));
  assert.equal(r.coord.acquisitions, 3);
  assert.equal(r.coord.fencedOk, 3);
  assert.equal(r.coord.fencedRefused, 1);
  assert.equal(r.coord.fencedInHistory, 3);
  assert.equal(r.coord.leaders, 3);
  assert.equal(r.coord.proclaimsOk, 2);
  assert.equal(r.coord.proclaimsRefused, 1);
  assert.equal(r.coord.leaderChanges, 5);
  assert.equal(r.coord.observedEvents, 10);
});

test('coordination checker: two holders whose fenced writes interleave are rejected', () => {
  // a1 is answered at revision 3, while a0 still holds, and writes between a0's two writes.
  const script: Step[] = [['put', L('a'), ''], ['put', L('b'), ''], ['put', FENCE_KEY, 'f0-0'], ['put', FENCE_KEY, 'f1-0'], ['put', FENCE_KEY, 'f0-1'], ['del', L('a')], ...cleanScript().slice(6)];
  const h = cleanHistory(script);
  const [a0, a1] = h.locks!.attempts;
  Object.assign(a0.fenced[1], { call: 55, ret: 63, rev: 6 });
  Object.assign(a0.unlock!, { call: 65, ret: 68, rev: 7 });
  Object.assign(a1, { ret: 33, rev: 3, createRead: 3 });
  Object.assign(a1.fenced[0], { call: 45, ret: 50, rev: 5 });
  const r = checkHistory(h);
  const t = text(r.anomalies);
  assert.deepEqual(kinds(r.anomalies), ['locks'], t);
  assert.match(t, /fenced writes of lock\/m\/a@2 resumed at revision 6 after lock\/m\/b@3's: two holders' writes interleave/);
  assert.match(t, /fenced write landed while lock\/m\/b c3 did not hold the lock/);
  assert.match(t, /answered at revision 3, but keys with a lower create revision than 3 were live/);
});

test('coordination checker: a fenced write that lands after its lock key was deleted is rejected', () => {
  // a0's lease expires at revision 5 (its key is deleted), and its second write still lands at 6.
  const script = cleanScript();
  script[3] = ['del', L('a')]; // 5
  script[4] = ['put', FENCE_KEY, 'f0-1']; // 6
  const h = cleanHistory(script);
  const [a0, a1] = h.locks!.attempts;
  Object.assign(a0.fenced[1], { call: 55, ret: 63, rev: 6 });
  Object.assign(a0.unlock!, { call: 64, ret: 65, rev: 6 });
  Object.assign(a1, { ret: 56, rev: 5, createRead: 5 });
  const r = checkHistory(h);
  const t = text(r.anomalies);
  assert.deepEqual(kinds(r.anomalies), ['locks'], t);
  assert.match(t, /fenced write landed while its lock key was not the one it compared: 6 PUT fence\/log=f0-1/);
  assert.match(t, /lock\/m\/a at revision 5: gone; compared create revision 2/);
});

test('coordination checker: a fenced write answered as refused while its key held the lock is rejected', () => {
  const h = cleanHistory();
  h.locks!.attempts[1].fenced.push({ member: 1, value: 'f1-1', call: 74, ret: 78, rev: 7, ok: false });
  const t = text(checkHistory(h).anomalies);
  assert.match(t, /failed its compare, but lock\/m\/b was live with create revision 3 at revision 7/);
});

test('coordination checker: a lock answer that is not in the history is rejected', () => {
  // Answered for a key that was never created.
  const h = cleanHistory();
  h.locks!.attempts.push({ client: 5, member: 1, lease: '99', key: L('63'), call: 140, ret: 150, rev: 14, fenced: [] });
  let t = text(checkHistory(h).anomalies);
  assert.match(t, /lock c5@m1 lock\/m\/63 .*answered at revision 14, but lock\/m\/63 was never created by then/);
  // Answered with a create revision the key never had.
  const h2 = cleanHistory();
  Object.assign(h2.locks!.attempts[1], { create: 8 });
  t = text(checkHistory(h2).anomalies);
  assert.match(t, /read create revision 8, but the history has no such life of lock\/m\/b/);
  // Answered while the key ahead of it was still there (its create revision is right, the moment is not).
  const h3 = cleanHistory();
  Object.assign(h3.locks!.attempts[1], { ret: 40, rev: 4, createRead: 4 });
  t = text(checkHistory(h3).anomalies);
  assert.match(t, /answered at revision 4, but keys with a lower create revision than 3 were live then/);
  assert.match(t, /lock\/m\/a c2 \(deleted at 6\)/);
});

test('coordination checker: an observer that skips or reorders a leader is rejected', () => {
  const skip = cleanHistory();
  skip.elections!.observers[1].sessions[0].lines.splice(2, 1);
  let t = text(checkHistory(skip).anomalies);
  assert.match(t, /observer 1: session 0 \(m2\): skipped 1 leader changes before elect\/e\/15=e1-1/);
  assert.match(t, /missing: elect\/e\/15=e1-0 c14 m14/);

  const reorder = cleanHistory();
  const lines = reorder.elections!.observers[1].sessions[0].lines;
  [lines[1], lines[2]] = [lines[2], lines[1]];
  t = text(checkHistory(reorder).anomalies);
  assert.match(t, /observer 1: session 0 \(m2\): line at revision 15 after one at 16/);

  // A value the leader never had at that revision.
  const wrong = cleanHistory();
  wrong.elections!.observers[0].sessions[1].lines[0].value = 'e1-0';
  t = text(checkHistory(wrong).anomalies);
  assert.match(t, /observer 0: session 1 \(m1\) began with elect\/e\/15=e1-0 .* but the leader at revision 17 was elect\/e\/15=e1-1/);

  // A reconnect that goes back before what was already shown.
  const back = cleanHistory();
  back.elections!.observers[0].sessions[1].lines = [{ rev: 15, key: E('14'), create: 13, mod: 15, value: 'e0-1' }, ...back.elections!.observers[0].sessions[1].lines.slice(0, 0)];
  t = text(checkHistory(back).anomalies);
  assert.match(t, /session 1 \(m1\) started at revision 15, before revision 16/);

  // Still open at the end but behind the last change.
  const behind = cleanHistory();
  behind.elections!.observers[1].sessions[0].lines.pop();
  t = text(checkHistory(behind).anomalies);
  assert.match(t, /observer 1: its open stream \(m2\) ended at .* but the last leader change was at revision 19/);
});

test('coordination checker: two campaigners answered as leader at overlapping times are rejected', () => {
  // c1's campaign answers at 140 ms, before c0 resigned (c0's proclaim, invoked after that answer,
  // still found c0 leading at revision 15).
  const h = cleanHistory();
  h.elections!.campaigns[1].ret = 140;
  let t = text(checkHistory(h).anomalies);
  assert.deepEqual(kinds(checkHistory(h).anomalies), ['elections'], t);
  assert.match(t, /campaign c1@m1 e1-0 -> elect\/e\/15 c14 .*answered leader, but from its key's creation \(14\) to revision 14 .* a key with a lower create revision was always live/);
  assert.match(t, /elect\/e\/14 c13 \(deleted at 16\)/);

  // A proclaim that succeeds while another key leads.
  // Revision 15 is now c1's proclaim while c0 leads (in place of c0's own).
  const h2 = cleanHistory([...cleanScript().slice(0, 13), ['put', E('15'), 'e1-x'], ...cleanScript().slice(14)]);
  h2.elections!.campaigns[0].proclaims = [];
  h2.elections!.campaigns[1].proclaims.unshift({ member: 1, value: 'e1-x', call: 145, ret: 153, rev: 15, ok: true });
  h2.elections!.observers = [];
  t = text(checkHistory(h2).anomalies);
  assert.match(t, /proclaim e1-x .* succeeded while a lower key led/);

  // A proclaim refused as "not leader" while its key still led (c0's next proclaim succeeded).
  const h3 = cleanHistory();
  h3.elections!.campaigns[0].proclaims.unshift({ member: 0, value: 'e0-x', call: 135, ret: 140, ok: false, error: '500 election: not leader' });
  t = text(checkHistory(h3).anomalies);
  assert.match(t, /proclaim e0-x .* answered "not leader", but its key lived until 16, after revision 14/);
});

test('coordination checker: writes nobody asked for under the lock, the fence key or the election are rejected', () => {
  const script = cleanScript();
  script.push(['put', FENCE_KEY, 'zz'], ['put', E('99'), 'nobody'], ['put', L('77'), '']);
  const h = cleanHistory(script);
  const t = text(checkHistory(h).anomalies);
  assert.match(t, /fence-key write nobody asked for: 21 PUT fence\/log=zz/);
  assert.match(t, /election write nobody asked for .*: 22 PUT elect\/e\/99=nobody/);
  assert.match(t, /lock key lock\/m\/77 was created, but no lock request made it/);
});

test('coordination checker: an SSE observer resumed with Last-Event-ID must go on with the next change', () => {
  const h = cleanHistory();
  const all = h.elections!.observers[1].sessions[0].lines;
  h.elections!.observers[1].sessions = [
    { member: 2, via: 'sse', call: 139, end: 156, endReason: 'dropped by harness', lines: all.slice(0, 2) },
    // Resumed on another member after the last id it had (15): the leader change at 16 comes next.
    { member: 0, via: 'sse', resumeAfter: 15, call: 160, endReason: 'harness stopped', lines: all.slice(2) },
  ];
  let r = checkHistory(h);
  assert.deepEqual(r.anomalies, [], text(r.anomalies));
  // Resumed, but it starts again with the leader of now: the change at 16 is lost.
  h.elections!.observers[1].sessions[1].lines = all.slice(3);
  r = checkHistory(h);
  assert.match(text(r.anomalies), /observer 1: session 1 \(m0\) resumed after revision 15 with elect\/e\/15=e1-1 .* but the next leader change is elect\/e\/15=e1-0 c14 m14 at 16/);
});
