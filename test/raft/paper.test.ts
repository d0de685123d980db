// The rules of section 5 of the Raft paper ("In Search of an Understandable
// Consensus Algorithm", Ongaro & Ousterhout), one scenario per rule, named by
// the section it checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msg, mulberry32, Raft, type Role } from '../../src/raft/index.ts';
import { bootStorage, Cluster, config, ids, newRaft, persist, readMessages, storageWithTerms, storedTerms } from './helpers.ts';

function makeRole(r: Raft, role: Role): void {
  if (role === 'follower') r.becomeFollower(1, 'b');
  if (role === 'precandidate') r.becomePreCandidate();
  if (role === 'candidate') r.becomeCandidate();
  if (role === 'leader') {
    r.becomeCandidate();
    r.becomeLeader();
  }
}

test('§5.1 a member that sees a larger term adopts it, and a candidate or leader reverts to follower', () => {
  for (const role of ['follower', 'precandidate', 'candidate', 'leader'] as Role[]) {
    for (const type of ['MsgApp', 'MsgHeartbeat', 'MsgVote'] as const) {
      const r = newRaft('a', ['a', 'b', 'c']);
      makeRole(r, role);
      r.step(msg({ type, from: 'b', to: 'a', term: 5, index: 10, logTerm: 5 }));
      assert.equal(r.term, 5, `${role} on ${type}`);
      assert.equal(r.role, 'follower', `${role} on ${type}`);
      // A message from a leader also tells who the leader is.
      assert.equal(r.lead, type === 'MsgVote' ? '' : 'b', `${role} on ${type}`);
    }
  }
});

test('§5.1 a request with a stale term is rejected with the current term', () => {
  const r = newRaft('a', ['a', 'b', 'c']);
  r.becomeFollower(3, '');
  r.step(msg({ type: 'MsgApp', from: 'b', to: 'a', term: 2, index: 1, logTerm: 1 }));
  r.step(msg({ type: 'MsgVote', from: 'c', to: 'a', term: 2, index: 9, logTerm: 2 }));
  const out = readMessages(r);
  assert.deepEqual(
    out.map((m) => [m.type, m.to, m.term, m.reject]),
    [
      ['MsgAppResp', 'b', 3, false],
      ['MsgVoteResp', 'c', 3, true],
    ],
  );
  assert.equal(r.term, 3);
  assert.equal(r.raftLog.lastIndex(), 1, 'nothing appended from a stale leader');
});

test('§5.2 a follower that hears from no leader for an election timeout starts an election', () => {
  const r = newRaft('a', ['a', 'b', 'c']);
  for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
  assert.equal(r.role, 'candidate');
  assert.equal(r.term, 2);
  assert.equal(r.vote, 'a', 'a candidate votes for itself');
  const votes = readMessages(r);
  assert.deepEqual(
    votes.map((m) => [m.type, m.to, m.term, m.index, m.logTerm]),
    [
      ['MsgVote', 'b', 2, 1, 1],
      ['MsgVote', 'c', 2, 1, 1],
    ],
  );
});

test('§5.2 a candidate becomes leader with votes from a majority, and stays candidate (or loses) otherwise', () => {
  const cases: [number, Record<string, boolean>, Role][] = [
    [1, {}, 'leader'],
    [3, { n2: true, n3: true }, 'leader'],
    [3, { n2: true }, 'leader'],
    [5, { n2: true, n3: true, n4: true, n5: true }, 'leader'],
    [5, { n2: true, n3: true }, 'leader'],
    [3, {}, 'candidate'],
    [5, { n2: true }, 'candidate'],
    [5, { n2: false, n3: false }, 'candidate'],
    [5, { n2: false, n3: false, n4: false }, 'follower'],
    [3, { n2: false, n3: false }, 'follower'],
  ];
  for (const [size, votes, want] of cases) {
    const r = newRaft('n1', ids(size));
    r.step(msg({ type: 'MsgHup', from: 'n1' }));
    for (const [id, granted] of Object.entries(votes)) {
      r.step(msg({ type: 'MsgVoteResp', from: id, to: 'n1', term: r.term, reject: !granted }));
    }
    assert.equal(r.role, want, `${size} members, votes ${JSON.stringify(votes)}`);
    assert.equal(r.term, 2);
  }
});

test('§5.2 each member votes for at most one candidate in a term, first come first served', () => {
  const r = newRaft('a', ['a', 'b', 'c']);
  const vote = (from: string) => {
    r.step(msg({ type: 'MsgVote', from, to: 'a', term: 2, index: 1, logTerm: 1 }));
    const [m] = readMessages(r);
    return m.reject ? 'rejected' : 'granted';
  };
  assert.equal(vote('b'), 'granted');
  assert.equal(vote('c'), 'rejected');
  assert.equal(vote('b'), 'granted', 'a repeated request from the same candidate is granted again');
  assert.equal(r.vote, 'b');
});

test('§5.2 a candidate that hears from a leader of its term becomes its follower', () => {
  for (const type of ['MsgApp', 'MsgHeartbeat'] as const) {
    const r = newRaft('a', ['a', 'b', 'c']);
    r.becomeCandidate();
    r.step(msg({ type, from: 'b', to: 'a', term: r.term, index: 1, logTerm: 1 }));
    assert.equal(r.role, 'follower');
    assert.equal(r.lead, 'b');
    assert.equal(r.term, 2);
  }
});

test('§5.2 election timeouts are randomized in [electionTimeout, 2*electionTimeout)', () => {
  const seen = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const r = new Raft(config('a', bootStorage(['a', 'b', 'c']), { random: mulberry32(seed) }));
    let ticks = 0;
    while (r.role === 'follower') {
      r.tick();
      ticks++;
    }
    assert.ok(ticks >= r.electionTimeout && ticks < 2 * r.electionTimeout, `timeout ${ticks}`);
    seen.add(ticks);
  }
  assert.ok(seen.size >= 8, `only ${seen.size} distinct timeouts`);
});

test('§5.2 split votes are resolved: a cluster always elects a leader again', () => {
  const c = new Cluster(ids(5));
  for (let i = 0; i < 100 && !c.leader(); i++) c.tickAll();
  assert.ok(c.leader(), 'a leader was elected by timeouts alone');
});

test('§5.2 a leader sends heartbeats every heartbeat timeout to keep its authority', () => {
  const r = newRaft('a', ['a', 'b', 'c'], { heartbeatTick: 2 });
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  r.tick();
  assert.deepEqual(readMessages(r), []);
  r.tick();
  assert.deepEqual(
    readMessages(r).map((m) => [m.type, m.to, m.term]),
    [
      ['MsgHeartbeat', 'b', 2],
      ['MsgHeartbeat', 'c', 2],
    ],
  );
});

test('§5.3 the leader appends a proposal to its log and replicates it to every follower', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.propose('n1', 'x');
  for (const id of ids(3)) {
    const st = c.members.get(id)!.storage;
    assert.deepEqual(storedTerms(st), [2, 2], `${id}: the leader's empty entry, then x (after the bootstrap snapshot)`);
    assert.deepEqual(c.appliedData(id), ['x']);
  }
});

test('§5.3 an entry is committed once a majority stored it, and followers apply it when they learn so', () => {
  const c = new Cluster(ids(3));
  c.campaign('n1');
  c.isolate('n3');
  c.propose('n1', 'x');
  assert.deepEqual(c.appliedData('n1'), ['x'], 'committed by n1 and n2');
  assert.deepEqual(c.appliedData('n2'), ['x']);
  assert.deepEqual(c.appliedData('n3'), []);
  c.heal();
  c.tickAll(2);
  assert.deepEqual(c.appliedData('n3'), ['x'], 'the isolated follower catches up');

  c.isolate('n2');
  c.isolate('n3');
  c.propose('n1', 'y');
  assert.deepEqual(c.appliedData('n1'), ['x'], 'no majority, no commit');
});

test('§5.3 a follower rejects an append whose previous entry it does not have (consistency check)', () => {
  const r = new Raft(config('a', storageWithTerms(['a', 'b', 'c'], [1, 2])));
  r.step(msg({ type: 'MsgApp', from: 'b', to: 'a', term: 3, index: 3, logTerm: 3, entries: [] }));
  r.step(msg({ type: 'MsgApp', from: 'b', to: 'a', term: 3, index: 6, logTerm: 3, entries: [] }));
  const [wrongTerm, tooFar] = readMessages(r);
  assert.equal(wrongTerm.reject, true);
  assert.equal(wrongTerm.rejectHint, 3, 'the largest index that may match');
  assert.equal(wrongTerm.logTerm, 2, 'our term there');
  assert.equal(tooFar.reject, true);
  assert.equal(tooFar.rejectHint, 3, 'our last index');
});

test('§5.3 a follower deletes conflicting entries and all that follow, then appends the leader’s', () => {
  const r = new Raft(config('a', storageWithTerms(['a', 'b', 'c'], [1, 1, 1, 1])));
  r.step(
    msg({
      type: 'MsgApp',
      from: 'b',
      to: 'a',
      term: 2,
      index: 2,
      logTerm: 1,
      entries: [
        { index: 3, term: 1, type: 'normal', data: new Uint8Array() },
        { index: 4, term: 2, type: 'normal', data: new Uint8Array() },
      ],
    }),
  );
  const [resp] = readMessages(r);
  assert.equal(resp.reject, false);
  assert.equal(resp.index, 4);
  assert.equal(r.raftLog.lastIndex(), 4, 'entry 5 (after the conflict) is gone');
  assert.equal(r.raftLog.term(4), 2);
});

test('§5.3 the leader brings every divergent follower log of Figure 7 in line with its own', () => {
  // Terms at indexes 2.. (index 1 is the bootstrap entry, term 1). The leader is elected in term 8.
  const leader = [1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 4],
    c: [1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 4, 4, 4, 4],
    f: [1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, terms] of Object.entries(followers)) {
    const voters = ['L', 'F', 'V'];
    const c = new Cluster([]);
    c.add('L', storageWithTerms(voters, leader, 7));
    c.add('F', storageWithTerms(voters, terms, 7));
    c.add('V', storageWithTerms(voters, [], 7)); // votes for L
    c.campaign('L');
    assert.equal(c.leader(), 'L', `follower (${name})`);
    c.tickAll(3);
    const want = storedTerms(c.members.get('L')!.storage);
    assert.deepEqual(storedTerms(c.members.get('F')!.storage), want, `follower (${name})`);
    // Fast back-off: at most one rejection per term in the divergent part, not one per entry.
    const rejects = c.log.filter((m) => m.type === 'MsgAppResp' && m.from === 'F' && m.reject).length;
    assert.ok(rejects <= 4, `follower (${name}) needed ${rejects} rejected probes`);
  }
});

test('§5.4.1 a voter denies its vote to a candidate whose log is less up-to-date than its own', () => {
  // The voter's log ends at index 3, term 2.
  const cases: [number, number, boolean][] = [
    [3, 2, true], // same last entry
    [4, 2, true], // same term, longer
    [2, 2, false], // same term, shorter
    [3, 1, false], // older last term
    [9, 1, false], // older last term, even if longer
    [1, 3, true], // newer last term, even if shorter
  ];
  for (const [index, logTerm, grant] of cases) {
    const r = new Raft(config('a', storageWithTerms(['a', 'b', 'c'], [1, 2])));
    r.step(msg({ type: 'MsgVote', from: 'b', to: 'a', term: 3, index, logTerm }));
    const [m] = readMessages(r);
    assert.equal(!m.reject, grant, `candidate last entry (${index}, term ${logTerm})`);
  }
});

test('§5.4.2 a leader commits entries of earlier terms only by committing one of its own term', () => {
  // Entries 2 and 3 are from term 1; the new leader of term 2 appends its empty entry at 4.
  const r = new Raft(config('a', storageWithTerms(['a', 'b', 'c'], [1, 1], 1)));
  r.becomeCandidate();
  r.becomeLeader();
  persist(r);
  assert.equal(r.raftLog.lastIndex(), 4);
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: 2, index: 3 }));
  assert.equal(r.raftLog.committed, 1, 'a majority stores entry 3, but it is from an older term');
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: 2, index: 4 }));
  assert.equal(r.raftLog.committed, 4, 'entry 4 is of the current term: it commits, and 2-3 with it');
});

test('§5.4.2 Figure 8: an old-term entry replicated to a majority can still be overwritten, so it must not be committed', () => {
  // s1 leads term 2 and stores entry 2 on s1, s2 only.
  const c = new Cluster(ids(5));
  c.campaign('n1');
  c.partition(['n1', 'n2'], ['n3', 'n4', 'n5']);
  c.propose('n1', 'old');
  // s5 leads term 3 with votes of s3, s4 (and itself), and appends an entry only it stores.
  c.ignored.add('MsgApp');
  c.campaign('n5');
  assert.equal(c.leader(), 'n5');
  c.isolate('n5');
  c.ignored.clear();
  c.node('n5').propose(new TextEncoder().encode('other'));
  c.deliver();
  // s1 comes back in term 4 and replicates "old" to s3: a majority (s1, s2, s3) holds it.
  c.heal();
  c.isolate('n5');
  c.cut.add('n1->n4');
  c.cut.add('n4->n1');
  c.ignored.add('MsgApp'); // s1 wins, but gets nothing else out yet
  c.raft('n1').becomeFollower(3, '');
  c.campaign('n1');
  assert.equal(c.raft('n1').term, 4);
  assert.equal(c.raft('n1').role, 'leader');
  c.ignored.clear();
  const r1 = c.raft('n1');
  // Replicate only the old entry (index 3 after the bootstrap entry and the term-2 empty entry) to n3.
  const before = r1.raftLog.committed;
  r1.step(msg({ type: 'MsgAppResp', from: 'n3', to: 'n1', term: r1.term, index: 3 }));
  r1.step(msg({ type: 'MsgAppResp', from: 'n2', to: 'n1', term: r1.term, index: 3 }));
  assert.equal(r1.raftLog.term(3), 2);
  assert.equal(r1.raftLog.committed, before, 'the term-2 entry on a majority is not committed by counting');
});

test('§5.3 a leader counts its own entry towards the commit only once it is stable', () => {
  // The application sends MsgApp while it writes the leader's entries (thesis §10.2.1): a follower's
  // acknowledgement plus an unwritten leader entry is not a majority of three.
  const r = new Raft(config('a', storageWithTerms(['a', 'b', 'c'], [1], 1)));
  r.becomeCandidate();
  r.becomeLeader();
  const last = r.raftLog.lastIndex();
  r.step(msg({ type: 'MsgAppResp', from: 'b', to: 'a', term: r.term, index: last }));
  assert.equal(r.raftLog.committed, 1, 'only b has the entry on disk');
  persist(r);
  assert.equal(r.raftLog.committed, last, 'a and b have it on disk');
  // A lone voter commits when its own write completes, not when it appends.
  const solo = new Raft(config('a', storageWithTerms(['a'], [1], 1)));
  solo.becomeCandidate();
  solo.becomeLeader();
  assert.equal(solo.raftLog.committed, 1);
  persist(solo);
  assert.equal(solo.raftLog.committed, solo.raftLog.lastIndex());
});
