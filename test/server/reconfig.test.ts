import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberRow } from '../../src/storage/rows.ts';
import {
  connectedSince,
  HEALTH_INTERVAL_MS,
  mayAddMember,
  mayPromoteMember,
  mayRemoveMember,
  readyToAddVoter,
  readyToPromote,
  readyToRemoveVoter,
  type ReconfigView,
} from '../../src/server/reconfig.ts';

/**
 * etcd 3.4's strict reconfiguration checks as pure decisions (src/server/reconfig.ts): started
 * members (published a name), connected peers (active for HealthInterval on this member's
 * transport), and which refusal each case gets.
 */

const NOW = 1_000_000;
const LONG = NOW - HEALTH_INTERVAL_MS - 1; // active for longer than HealthInterval
const JUST = NOW - 1000; // active, but not for long enough
const DOWN = 0;

const UNHEALTHY = 'etcdserver: unhealthy cluster';
const NOT_STARTED = 'etcdserver: re-configuration failed due to not enough started members';

const member = (id: number, o: { started?: boolean; learner?: boolean } = {}): MemberRow => ({
  id: BigInt(id),
  name: o.started === false ? '' : `m${id}`,
  peerUrls: [`http://127.0.0.1:${2380 + id}`],
  clientUrls: [],
  isLearner: o.learner ?? false,
});

/** Member 1 asks; `since` gives each peer's activeSince. */
function view(members: MemberRow[], since: Record<number, number>): ReconfigView {
  return { members, self: 1n, now: NOW, activeSince: (id) => since[Number(id)] ?? DOWN };
}

const refusal = (err: { code: number; message: string } | undefined) => (err ? `${err.code} ${err.message}` : 'ok');

test('started members: add, remove and promote count the members that published a name', () => {
  // 3 voters, all started: a 4th makes quorum 3 of 4, with 3 started.
  assert.equal(readyToAddVoter([member(1), member(2), member(3)]), true);
  // 3 voters, one not started: 2 started of 4 is not a quorum of 3.
  assert.equal(readyToAddVoter([member(1), member(2), member(3, { started: false })]), false);
  // A lone started member may take a second one (how a cluster grows from one).
  assert.equal(readyToAddVoter([member(1)]), true);
  // 2 voters, one not started: 1 started of 3.
  assert.equal(readyToAddVoter([member(1), member(2, { started: false })]), false);
  // Learners do not count.
  assert.equal(readyToAddVoter([member(1), member(2, { started: false }), member(3, { learner: true })]), false);

  // Removing a started voter of 3 with one unstarted: 1 started of 2 left.
  assert.equal(readyToRemoveVoter([member(1), member(2), member(3, { started: false })], 2n), false);
  // Removing the unstarted one leaves 2 of 2.
  assert.equal(readyToRemoveVoter([member(1), member(2), member(3, { started: false })], 3n), true);
  // Removing the last member leaves no quorum (0 of 0 needs 1).
  assert.equal(readyToRemoveVoter([member(1)], 1n), false);

  // Promoting counts the learner as a started voter: 1 started + learner of 3 voters is 2 of 3.
  assert.equal(readyToPromote([member(1), member(2, { started: false }), member(9, { learner: true, started: false })], 9n), true);
  // 3 voters with 2 unstarted: 1 + learner = 2 of 4 is not a quorum of 3.
  assert.equal(readyToPromote([member(1), member(2, { started: false }), member(3, { started: false }), member(9, { learner: true })], 9n), false);
});

test('connected voters: this member always, a peer once active for longer than HealthInterval', () => {
  const ms = [member(1), member(2), member(3), member(4, { learner: true })];
  const since = NOW - HEALTH_INTERVAL_MS;
  assert.equal(connectedSince(view(ms, { 2: LONG, 3: LONG, 4: LONG }), since), 3, 'learners are not counted');
  assert.equal(connectedSince(view(ms, { 2: LONG, 3: JUST }), since), 2);
  assert.equal(connectedSince(view(ms, { 2: since, 3: DOWN }), since), 1, 'active exactly HealthInterval ago is not yet connected (etcd: Before)');
  assert.equal(connectedSince(view(ms, {}), since), 1);
});

test('add: a voter needs a started quorum, then every voter connected; a learner only the connections', () => {
  const three = [member(1), member(2), member(3)];
  assert.equal(refusal(mayAddMember(view(three, { 2: LONG, 3: LONG }), false)), 'ok');
  assert.equal(refusal(mayAddMember(view(three, { 2: LONG, 3: LONG }), true)), 'ok');
  // One voter down: refused, for a learner as for a voter (etcd 3.4 checks connections for both).
  assert.equal(refusal(mayAddMember(view(three, { 2: LONG, 3: DOWN }), false)), `14 ${UNHEALTHY}`);
  assert.equal(refusal(mayAddMember(view(three, { 2: LONG, 3: DOWN }), true)), `14 ${UNHEALTHY}`);
  // Reconnected, but not for long enough yet.
  assert.equal(refusal(mayAddMember(view(three, { 2: LONG, 3: JUST }), true)), `14 ${UNHEALTHY}`);
  // A learner's connection does not matter.
  assert.equal(refusal(mayAddMember(view([...three, member(4, { learner: true })], { 2: LONG, 3: LONG, 4: DOWN }), true)), 'ok');
  // Not enough started comes first (code 2, as etcd 3.4's gateway answers it).
  assert.equal(refusal(mayAddMember(view([member(1), member(2, { started: false })], {}), false)), `2 ${NOT_STARTED}`);
  // ...but does not apply to a learner, which then meets the connection check.
  assert.equal(refusal(mayAddMember(view([member(1), member(2, { started: false })], {}), true)), `14 ${UNHEALTHY}`);
  // A lone member adds freely.
  assert.equal(refusal(mayAddMember(view([member(1)], {}), false)), 'ok');
  // Two members, the other down: adding a voter is refused.
  assert.equal(refusal(mayAddMember(view([member(1), member(2)], { 2: DOWN }), false)), `14 ${UNHEALTHY}`);
  assert.equal(refusal(mayAddMember(view([member(1), member(2)], { 2: LONG }), false)), 'ok');
});

test('remove: a live voter only while the connected voters left are a quorum; a down one or a learner freely', () => {
  const three = [member(1), member(2), member(3)];
  // All connected: removing a peer or this member is fine.
  assert.equal(refusal(mayRemoveMember(view(three, { 2: LONG, 3: LONG }), 2n)), 'ok');
  assert.equal(refusal(mayRemoveMember(view(three, { 2: LONG, 3: LONG }), 1n)), 'ok');
  // Member 3 down: removing live member 2 leaves 1 connected of a needed 2.
  assert.equal(refusal(mayRemoveMember(view(three, { 2: LONG, 3: DOWN }), 2n)), `14 ${UNHEALTHY}`);
  // ...and removing this member too.
  assert.equal(refusal(mayRemoveMember(view(three, { 2: LONG, 3: DOWN }), 1n)), `14 ${UNHEALTHY}`);
  // The down member itself is safe to remove (it is not part of the active quorum).
  assert.equal(refusal(mayRemoveMember(view(three, { 2: LONG, 3: DOWN }), 3n)), 'ok');
  // Member 3 back for a second only: it does not count yet, so removing 2 is still refused.
  assert.equal(refusal(mayRemoveMember(view(three, { 2: LONG, 3: JUST }), 2n)), `14 ${UNHEALTHY}`);
  // etcd subtracts the removed one even when it was not counted: 2 just active, 3 long: 2 - 1 < 2.
  assert.equal(refusal(mayRemoveMember(view(three, { 2: JUST, 3: LONG }), 2n)), `14 ${UNHEALTHY}`);
  // 5 voters, one down: removing a live one leaves 3 connected of the 3 needed (of 5 before).
  const five = [member(1), member(2), member(3), member(4), member(5)];
  assert.equal(refusal(mayRemoveMember(view(five, { 2: LONG, 3: LONG, 4: LONG, 5: DOWN }), 2n)), 'ok');
  // Two down: 3 - 1 = 2 < 3.
  assert.equal(refusal(mayRemoveMember(view(five, { 2: LONG, 3: LONG, 4: DOWN, 5: DOWN }), 2n)), `14 ${UNHEALTHY}`);
  // A learner goes freely, connected or not.
  assert.equal(refusal(mayRemoveMember(view([...three, member(4, { learner: true })], { 2: DOWN, 3: DOWN, 4: LONG }), 4n)), 'ok');
  // An unknown id passes the checks (member not found is answered after them, as in etcd).
  assert.equal(refusal(mayRemoveMember(view(three, { 2: LONG, 3: DOWN }), 99n)), 'ok');
  // Not enough started members comes first.
  assert.equal(refusal(mayRemoveMember(view([member(1), member(2), member(3, { started: false })], { 2: LONG, 3: LONG }), 2n)), `2 ${NOT_STARTED}`);
  // The last member cannot remove itself.
  assert.equal(refusal(mayRemoveMember(view([member(1)], {}), 1n)), `2 ${NOT_STARTED}`);
});

test('promote: a started quorum with the learner counted as started; connections are not checked', () => {
  assert.equal(refusal(mayPromoteMember([member(1), member(2), member(3), member(9, { learner: true })], 9n)), 'ok');
  assert.equal(refusal(mayPromoteMember([member(1), member(2, { started: false }), member(3, { started: false }), member(9, { learner: true })], 9n)), `2 ${NOT_STARTED}`);
});
