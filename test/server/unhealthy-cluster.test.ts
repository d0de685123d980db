import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activePeers, post, startCluster, waitConnected } from '../helpers/cluster.ts';

/**
 * etcd 3.4's strict reconfiguration check on real processes (issue #19): with a member down, a
 * change that would leave the cluster without a quorum of connected members is refused at once
 * with 'unhealthy cluster' (code 14, HTTP 503), before anything is proposed; the down member itself
 * may be removed; --strict-reconfig-check=false lets the change through.
 */

/** etcd 3.4.23's answer, byte for byte (recorded: see test/conformance/golden-cluster). */
const UNHEALTHY = '{"error":"etcdserver: unhealthy cluster","message":"etcdserver: unhealthy cluster","code":14}';

async function raw(url: string, route: string, body: unknown): Promise<{ status: number; text: string; ms: number }> {
  const t0 = Date.now();
  const r = await fetch(url + route, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  return { status: r.status, text: await r.text(), ms: Date.now() - t0 };
}

async function ids(url: string): Promise<Record<string, string>> {
  const list = await post(url, '/v3/cluster/member/list', {});
  return Object.fromEntries(list.json.members.map((m: any) => [m.name, m.ID]));
}

const hex = (id: string) => BigInt(id).toString(16);

/** Waits until the member's transport no longer counts the peer active (a stream broke or a probe failed). */
async function waitInactive(url: string, peerId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await activePeers(url)).includes(hex(peerId))) {
    if (Date.now() > deadline) throw new Error(`${url} still sees ${hex(peerId)} active`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a membership change that would cost the connected quorum answers 503 unhealthy cluster', { timeout: 180_000 }, async () => {
  const c = await startCluster({ size: 3 });
  try {
    const [u0, u1] = [c.members[0]!.url, c.members[1]!.url];
    await waitConnected(c.members.map((m) => m!.url));
    const id = await ids(u0);

    // m2 stops. Each live member notices (m0 and m1 probe it every second).
    await c.members[2]!.kill();
    c.members[2] = undefined;
    await Promise.all([waitInactive(u0, id.m2), waitInactive(u1, id.m2)]);

    // Removing a live member would leave one connected voter of the two a quorum needs: refused on
    // either member, whichever leads, at once (nothing is proposed).
    for (const [url, target] of [
      [u0, id.m1],
      [u1, id.m0],
      [u0, id.m0],
    ] as const) {
      const r = await raw(url, '/v3/cluster/member/remove', { ID: target });
      assert.equal(r.status, 503, `remove ${target} on ${url}: ${r.text}`);
      assert.equal(r.text, UNHEALTHY);
      assert.ok(r.ms < 2000, `refused before anything is proposed (${r.ms} ms)`);
    }
    // Adding a member, voter or learner, needs every voter connected.
    for (const [url, isLearner] of [
      [u0, false],
      [u1, true],
    ] as const) {
      const r = await raw(url, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'], isLearner });
      assert.equal(r.status, 503, `add (learner ${isLearner}) on ${url}: ${r.text}`);
      assert.equal(r.text, UNHEALTHY);
    }
    assert.deepEqual(Object.keys(await ids(u0)).sort(), ['m0', 'm1', 'm2'], 'nothing changed');

    // The member that is down is not part of the active quorum: it may go.
    const gone = await post(u1, '/v3/cluster/member/remove', { ID: id.m2 });
    assert.equal(gone.status, 200, JSON.stringify(gone.json));
    assert.deepEqual(Object.keys(await ids(u0)).sort(), ['m0', 'm1']);

    // Two members left, both up and connected: adding a voter passes the check (and since the new
    // member never starts, the next check refuses: it counts as a voter not connected).
    const added = await post(u0, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:2'] });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    const again = await raw(u1, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:3'], isLearner: true });
    assert.equal(again.status, 503, again.text);
    assert.equal(again.text, UNHEALTHY);
    // Removing the voter that never started is allowed (it is down), and the cluster is whole again.
    const removed = await post(u1, '/v3/cluster/member/remove', { ID: added.json.member.ID });
    assert.equal(removed.status, 200, JSON.stringify(removed.json));

    // A 2-member cluster with one member down: adding a voter is refused at once (it could not commit anyway).
    await c.members[1]!.kill();
    c.members[1] = undefined;
    await waitInactive(u0, id.m1);
    const lone = await raw(u0, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:4'] });
    assert.equal(lone.status, 503, lone.text);
    assert.equal(lone.text, UNHEALTHY);
    assert.ok(lone.ms < 2000, `refused at once, not timed out (${lone.ms} ms)`);
  } finally {
    await c.stop();
  }
});

test('--strict-reconfig-check=false: a live member is removed while another is down', { timeout: 180_000 }, async () => {
  const c = await startCluster({ size: 3, args: ['--strict-reconfig-check=false'] });
  try {
    const id = await ids(c.members[0]!.url);
    await c.members[2]!.kill();
    c.members[2] = undefined;
    // The live leader removes the other live member (a leader removing itself would leave the
    // last live member unable to learn that the change committed).
    let leader: string | undefined;
    for (let i = 0; i < 100 && !leader; i++) {
      const st = await post(c.members[0]!.url, '/v3/maintenance/status', {});
      if (st.json.leader && st.json.leader !== id.m2) leader = st.json.leader;
      else await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(leader, 'a live leader');
    const [lead, other] = leader === id.m0 ? [c.members[0]!, 'm1'] : [c.members[1]!, 'm0'];
    await waitInactive(lead.url, id.m2);
    const r = await post(lead.url, '/v3/cluster/member/remove', { ID: id[other] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    // (The leader is now alone with a member that is down: the list comes from the answer, not a read.)
    assert.deepEqual(r.json.members.map((m: any) => m.name).sort(), [other === 'm1' ? 'm0' : 'm1', 'm2']);
  } finally {
    await c.stop();
  }
});
