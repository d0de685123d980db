import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/raft/index.ts';
import type { PeerHttp, PeerResponse, PeerStream } from '../../src/transport/peer-http.ts';
import { PeerStatus } from '../../src/transport/peer-status.ts';
import { Transport } from '../../src/transport/peers.ts';

/**
 * The transport's view of its peers (etcd's rafthttp peer status): active from a successful
 * exchange, reset to zero by a failed one; what the membership checks read as ActiveSince.
 */

test('PeerStatus: active since the first success, reset by a failure, changes reported once', () => {
  let now = 100;
  const changes: string[] = [];
  const s = new PeerStatus(() => now, (id, active, reason) => changes.push(`${id} ${active ? 'up' : `down (${reason})`}`));
  assert.equal(s.activeSince('a'), 0);
  s.activate('a');
  now = 200;
  s.activate('a');
  assert.equal(s.activeSince('a'), 100, 'a second success keeps the first time');
  s.deactivate('a', 'refused');
  s.deactivate('a', 'refused again');
  assert.equal(s.activeSince('a'), 0);
  now = 300;
  s.activate('a');
  assert.equal(s.activeSince('a'), 300, 'active again from the new success');
  assert.deepEqual(changes, ['a up', 'a down (refused)', 'a up']);
});

/** A PeerHttp whose answers the test decides; streams stay open until the test closes them. */
function fakeHttp() {
  const up = new Set<string>();
  const streams: { url: string; close: (err?: Error) => void }[] = [];
  const probes: Record<string, string>[] = [];
  const http = {
    async request(_method: string, url: string, headers: Record<string, string>): Promise<PeerResponse> {
      probes.push(headers);
      if (!up.has(new URL(url).host)) throw new Error('connect ECONNREFUSED');
      return { status: 204, body: '' };
    },
    openStream(url: string, _headers: Record<string, string>, onClose: (err?: Error) => void): PeerStream {
      let closed = false;
      const close = (err?: Error) => {
        if (closed) return;
        closed = true;
        onClose(err);
      };
      streams.push({ url, close });
      return { write: () => !closed, congested: false, get closed() { return closed; }, close: () => close() };
    },
  } as unknown as PeerHttp;
  return { http, up, streams, probes };
}

const heartbeat = (to: string): Message => ({ type: 'MsgHeartbeat', from: '1', to, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });

test('Transport: a probe answered activates the peer, a failed one or a broken stream resets it', async () => {
  let now = 1000;
  const f = fakeHttp();
  const failures: string[] = [];
  const t = new Transport('1', () => '77', { unreachable: () => {}, sendSnapshot: async () => {}, snapshotDone: () => {}, sendFailed: (id) => failures.push(id) }, f.http, () => now);
  t.setPeers([
    { id: '1', urls: ['http://self:1'] },
    { id: '2', urls: ['http://p2:1'] },
    { id: '3', urls: ['http://p3:1'] },
  ]);
  f.up.add('p2:1');
  await t.probe(false);
  assert.equal(t.activeSince('2'), 1000);
  assert.equal(t.activeSince('3'), 0, 'a peer that refuses is not active');
  assert.deepEqual(failures, [], 'a probe that does not measure counts no send failure');
  assert.deepEqual(f.probes[0], { 'x-edgecd-cluster-id': '77', 'x-edgecd-to': '2' }, 'the probe names the cluster and the peer');

  now = 2000;
  await t.probe(true);
  assert.equal(t.activeSince('2'), 1000, 'still active since the first answer');
  assert.deepEqual(failures, ['3']);

  // The message stream to peer 2 breaks (the peer went away): inactive at once, before any probe.
  t.send([heartbeat('2')]);
  await new Promise((r) => setImmediate(r));
  assert.equal(f.streams.length, 1);
  f.streams[0].close(new Error('socket hang up'));
  assert.equal(t.activeSince('2'), 0);

  // Back: the next answered probe starts the clock again.
  now = 3000;
  await t.probe(false);
  assert.equal(t.activeSince('2'), 3000);
  f.up.delete('p2:1');
  await t.probe(false);
  assert.equal(t.activeSince('2'), 0, 'a failed probe resets it');

  // A peer removed from the cluster is forgotten.
  f.up.add('p2:1');
  await t.probe(false);
  t.setPeers([{ id: '1', urls: ['http://self:1'] }, { id: '3', urls: ['http://p3:1'] }]);
  assert.equal(t.activeSince('2'), 0);
  t.close();
});
