import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post } from '../helpers/cluster.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('--join: a new machine adds itself as a learner and catches up; restarted, it keeps its place; a member whose host vanished is removed', { timeout: 180_000 }, async () => {
  const a = await startEdgecd({ name: 'a', args: ['--remove-vanished-members-after', '2', '--experimental-max-learners', '2'] });
  let b: Awaited<ReturnType<typeof startEdgecd>> | undefined;
  try {
    for (let i = 0; i < 20; i++) assert.equal((await post(a.url, '/v3/kv/put', { key: b64(`k${i}`), value: b64(`v${i}`) })).status, 200);
    // Fly's <app>.internal names every machine, this one too: its own address is left out.
    const port = await freePort();
    b = await startEdgecd({ name: 'b', port, args: ['--join', `${a.url},http://127.0.0.1:${port}`] });
    const list = await post(a.url, '/v3/cluster/member/list', {});
    const joined = list.json.members.find((m: { name: string }) => m.name === 'b');
    assert.ok(joined, JSON.stringify(list.json));
    assert.equal(joined.isLearner, true, 'joins as a learner');
    assert.match(b.output(), /added as a learner/);
    let count = '0';
    for (let i = 0; i < 100 && count !== '20'; i++) {
      await sleep(100);
      count = (await post(b.url, '/v3/kv/range', { key: b64('k'), range_end: b64('l'), serializable: true, count_only: true })).json.count ?? '0';
    }
    assert.equal(count, '20', 'the learner holds every key');
    const viaLearner = await post(b.url, '/v3/kv/put', { key: b64('from-b'), value: b64('1') });
    assert.equal(viaLearner.status, 200, `a write sent to the learner reaches the leader: ${JSON.stringify(viaLearner.json)}`);
    assert.equal((await post(a.url, '/v3/kv/range', { key: b64('from-b') })).json.count, '1');

    // Restarted with the same flags it has data: --join is not asked again, nothing is added.
    b = await b.restart();
    const again = await post(a.url, '/v3/cluster/member/list', {});
    assert.equal(again.json.members.length, 2);
    assert.doesNotMatch(b.output(), /join:/);

    // A machine destroyed by a scale-down: its name stops resolving and the leader removes it.
    const added = await post(a.url, '/v3/cluster/member/add', { peerURLs: ['http://vanished-member.example.invalid:2380'], isLearner: true });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    let ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      ids = (await post(a.url, '/v3/cluster/member/list', {})).json.members.map((m: { ID: string }) => m.ID);
      if (!ids.includes(added.json.member.ID)) break;
    }
    assert.ok(!ids.includes(added.json.member.ID), 'the vanished member was removed');
    assert.equal(ids.length, 2, 'the members that resolve stay');
    assert.match(a.output(), /removed a member whose host name no longer resolves/);
  } finally {
    await b?.stop();
    await a.stop();
  }
});
