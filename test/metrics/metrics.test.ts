import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/metrics/metrics.ts';
import { parsePrometheus } from '../helpers/prom-text.ts';

/** The registry renders etcd's names with etcd's types, read from the member at each scrape. */

// Recorded from etcd 3.4.23's /metrics (`# TYPE` lines); the peer and handling families from its docs.
const ETCD_TYPES: Record<string, string> = {
  etcd_server_has_leader: 'gauge',
  etcd_server_is_leader: 'gauge',
  etcd_server_is_learner: 'gauge',
  etcd_server_leader_changes_seen_total: 'counter',
  etcd_server_proposals_committed_total: 'gauge',
  etcd_server_proposals_applied_total: 'gauge',
  etcd_server_proposals_pending: 'gauge',
  etcd_server_proposals_failed_total: 'counter',
  etcd_disk_wal_fsync_duration_seconds: 'histogram',
  etcd_disk_backend_commit_duration_seconds: 'histogram',
  etcd_mvcc_db_total_size_in_bytes: 'gauge',
  etcd_mvcc_db_total_size_in_use_in_bytes: 'gauge',
  etcd_server_quota_backend_bytes: 'gauge',
  etcd_network_peer_round_trip_time_seconds: 'histogram',
  etcd_network_peer_sent_failures_total: 'counter',
  etcd_network_active_peers: 'gauge',
  etcd_network_disconnected_peers_total: 'counter',
  etcd_server_id: 'gauge',
  etcd_server_version: 'gauge',
  grpc_server_started_total: 'counter',
  grpc_server_handled_total: 'counter',
  grpc_server_handling_seconds: 'histogram',
  process_resident_memory_bytes: 'gauge',
  process_cpu_seconds_total: 'counter',
};

test("every etcd metric the dashboards read is there with etcd's type, and moves with the member", async () => {
  const m = new Metrics();
  let leader = true;
  let committed = 10;
  m.watchMember(
    {
      memberIdHex: () => 'bdae9bbc11dd390d',
      hasLeader: () => leader,
      isLeader: () => leader,
      isLearner: () => false,
      committed: () => committed,
      applied: () => committed - 1,
      pending: () => 3,
      dbSize: async () => 24576,
      dbSizeInUse: async () => 16384,
      quotaBytes: () => 2 ** 31,
    },
    '3.4.23',
  );
  m.leaderChanges.inc();
  m.walFsync.observe(0.0015);
  m.peerRoundTrip.observe({ To: 'abc' }, 0.0003);
  m.peerSentFailures.inc({ To: 'abc' });
  m.grpcStarted.inc({ grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range' });
  m.grpcHandled.inc({ grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range', grpc_code: 'OK' });
  m.grpcHandling.observe({ grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range' }, 0.002);
  let f = parsePrometheus(await m.render());
  for (const [name, type] of Object.entries(ETCD_TYPES)) assert.equal(f.get(name)?.type, type, name);
  const value = (name: string, labels: Record<string, string> = {}) =>
    (f.get(name) ?? f.get(name.replace(/_(bucket|sum|count)$/, '')))!.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.equal(value('etcd_server_has_leader'), 1);
  assert.equal(value('etcd_server_proposals_committed_total'), 10);
  assert.equal(value('etcd_server_proposals_pending'), 3);
  assert.equal(value('etcd_mvcc_db_total_size_in_bytes'), 24576);
  assert.equal(value('etcd_server_quota_backend_bytes'), 2 ** 31);
  assert.equal(value('etcd_server_id', { server_id: 'bdae9bbc11dd390d' }), 1);
  assert.equal(value('etcd_disk_wal_fsync_duration_seconds_bucket', { le: '0.002' }), 1);
  assert.equal(value('etcd_disk_wal_fsync_duration_seconds_bucket', { le: '0.001' }), 0);
  assert.equal(value('grpc_server_handled_total', { grpc_method: 'Range', grpc_code: 'OK' }), 1);
  assert.equal(value('etcd_network_peer_sent_failures_total', { To: 'abc' }), 1);
  leader = false;
  committed = 20;
  m.leaderChanges.inc();
  f = parsePrometheus(await m.render());
  assert.equal(value('etcd_server_has_leader'), 0);
  assert.equal(value('etcd_server_proposals_committed_total'), 20);
  assert.equal(value('etcd_server_leader_changes_seen_total'), 2);
});

test('the parser refuses a malformed line', () => {
  assert.throws(() => parsePrometheus('etcd_x{a="b" 1\n'), /not a sample line/);
});
