import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberRow } from '../../src/storage/rows.ts';
import { peerHostName, VanishedMembers, type HostLookup } from '../../src/server/vanished-members.ts';

const member = (id: bigint, host: string): MemberRow => ({ id, name: `m${id}`, peerUrls: [`http://${host}:2380`], clientUrls: [], isLearner: false });

test('a member is removed only after its host name was definitely gone for the whole grace period', () => {
  const v = new VanishedMembers(600_000);
  const ms = [member(1n, 'a.vm.app.internal'), member(2n, 'b.vm.app.internal'), member(3n, 'c.vm.app.internal')];
  const look = (m2: HostLookup, m3: HostLookup) => new Map<bigint, HostLookup>([[1n, 'gone'], [2n, m2], [3n, m3]]);
  assert.deepEqual(v.observe(ms, 1n, look('gone', 'gone'), 0), [], 'never itself, and not at once');
  assert.deepEqual(v.observe(ms, 1n, look('gone', 'unknown'), 300_000), [], 'a DNS failure restarts the wait');
  assert.deepEqual(v.observe(ms, 1n, look('gone', 'gone'), 599_999), []);
  assert.deepEqual(v.observe(ms, 1n, look('gone', 'gone'), 600_000), [2n], '2 was gone throughout; 3 only since 599,999');
  assert.deepEqual(v.observe(ms, 1n, look('found', 'gone'), 1_199_999), [3n], 'a host that resolves again is kept');
  assert.deepEqual(v.observe(ms, 1n, look('gone', 'gone'), 1_200_000), [3n], '2 starts over');
});

test('only host names can vanish, not IP addresses', () => {
  assert.equal(peerHostName(member(1n, '10.0.0.1')), undefined);
  assert.equal(peerHostName({ ...member(1n, 'x'), peerUrls: ['http://[fdaa::3]:2380'] }), undefined);
  assert.equal(peerHostName(member(1n, '1781.vm.edgecd.internal')), '1781.vm.edgecd.internal');
});
