import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post, startCluster } from '../helpers/cluster.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';
import { parsePrometheus } from '../helpers/prom-text.ts';

/**
 * /metrics on a running 3-member cluster: parsed as Prometheus text, etcd's families present, and
 * they move with what happens: requests counted by gRPC method and code, proposals committed, the
 * leader-change counter rising across a leader kill, the second listener of --listen-metrics-urls.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(url: string) {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  const f = parsePrometheus(await r.text());
  const value = (name: string, labels: Record<string, string> = {}) => {
    const fam = f.get(name) ?? f.get(name.replace(/_(bucket|sum|count)$/, ''));
    return fam?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  };
  return { f, value };
}

async function leaderIndex(urls: string[]): Promise<number> {
  for (let i = 0; i < 100; i++) {
    for (const [j, u] of urls.entries()) {
      const r = await post(u, '/v3/maintenance/status', {}).catch(() => undefined);
      if (r?.status === 200 && r.json.leader && r.json.leader === r.json.header.member_id) return j;
    }
    await sleep(200);
  }
  throw new Error('no leader');
}

test('metrics on a cluster: etcd families, request counts by code, leader changes across a leader kill', { timeout: 180_000 }, async () => {
  const c = await startCluster({ size: 3 });
  try {
    const urls = c.members.map((m) => m!.url);
    const lead = await leaderIndex(urls);
    const follower = (lead + 1) % 3;
    for (let i = 0; i < 5; i++) assert.equal((await post(urls[follower], '/v3/kv/put', { key: b64(`m${i}`), value: b64('v') })).status, 200);
    await post(urls[follower], '/v3/kv/range', { key: b64('') });
    const before = await scrape(urls[follower]);
    for (const name of ['etcd_server_has_leader', 'etcd_disk_wal_fsync_duration_seconds', 'etcd_disk_backend_commit_duration_seconds', 'etcd_mvcc_db_total_size_in_bytes', 'etcd_server_quota_backend_bytes', 'process_resident_memory_bytes', 'etcd_network_peer_round_trip_time_seconds']) {
      assert.ok(before.f.has(name), name);
    }
    assert.equal(before.value('etcd_server_has_leader'), 1);
    assert.equal(before.value('grpc_server_handled_total', { grpc_method: 'Put', grpc_code: 'OK', grpc_service: 'etcdserverpb.KV' }), 5);
    assert.equal(before.value('grpc_server_handled_total', { grpc_method: 'Range', grpc_code: 'InvalidArgument' }), 1, 'an empty key is refused, and counted by its code');
    assert.ok((before.value('etcd_server_proposals_committed_total') ?? 0) >= 5);
    assert.ok((before.value('etcd_disk_wal_fsync_duration_seconds_count') ?? 0) > 0);
    const changes = before.value('etcd_server_leader_changes_seen_total') ?? 0;

    await c.members[lead]!.kill();
    const survivors = urls.filter((_, i) => i !== lead);
    await leaderIndex(survivors);
    const after = await scrape(urls[follower]);
    assert.ok((after.value('etcd_server_leader_changes_seen_total') ?? 0) > changes, 'a new leader was seen');
  } finally {
    await c.stop();
  }
});

test('--listen-metrics-urls serves /metrics and /health on a listener of its own; /livez and /readyz answer', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const m = await startEdgecd({ args: ['--listen-metrics-urls', `http://127.0.0.1:${port}`] });
  try {
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(metrics.status, 200);
    assert.ok(parsePrometheus(await metrics.text()).has('etcd_server_has_leader'));
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/health`)).json(), { health: 'true' });
    assert.deepEqual(await (await fetch(`${m.url}/health?serializable=true`)).json(), { health: 'true' });
    assert.equal((await fetch(`${m.url}/livez`)).status, 200);
    assert.equal((await fetch(`${m.url}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v3/kv/range`, { method: 'POST', body: '{}' })).status, 404, 'only metrics and health there');
  } finally {
    await m.stop();
  }
});
