import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the member reports when scraped (read then, so the hot path pays nothing for them). */
export interface MemberState {
  memberIdHex(): string;
  hasLeader(): boolean;
  isLeader(): boolean;
  isLearner(): boolean;
  /** Raft's commit and applied indexes. */
  committed(): number;
  applied(): number;
  /** Proposals waiting for their entry to apply. */
  pending(): number;
  dbSize(): Promise<number>;
  dbSizeInUse(): Promise<number>;
  quotaBytes(): number;
}

// etcd's buckets: fsync and commit from 1 ms doubling; round trips from 0.1 ms doubling.
const DISK_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
const RTT_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.0001 * 2 ** i);
const HANDLING_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The member's Prometheus metrics under etcd's names, types and help texts (recorded from etcd
 * 3.4.23's /metrics), so etcd's dashboards and alert rules work unchanged. One registry per
 * member: several members in one process keep theirs apart.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers: [this.registry] });
  readonly proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers: [this.registry] });
  readonly walFsync = new Histogram({ name: 'etcd_disk_wal_fsync_duration_seconds', help: 'The latency distributions of fsync called by WAL.', buckets: DISK_BUCKETS, registers: [this.registry] });
  readonly backendCommit = new Histogram({ name: 'etcd_disk_backend_commit_duration_seconds', help: 'The latency distributions of commit called by backend.', buckets: DISK_BUCKETS, registers: [this.registry] });
  readonly peerRoundTrip = new Histogram({ name: 'etcd_network_peer_round_trip_time_seconds', help: 'Round-Trip-Time histogram between peers', labelNames: ['To'], buckets: RTT_BUCKETS, registers: [this.registry] });
  readonly activePeers = new Gauge({ name: 'etcd_network_active_peers', help: 'The current number of active peer connections.', labelNames: ['Local', 'Remote'], registers: [this.registry] });
  readonly disconnectedPeers = new Counter({ name: 'etcd_network_disconnected_peers_total', help: 'The total number of disconnected peers.', labelNames: ['Local', 'Remote'], registers: [this.registry] });
  readonly peerSentFailures = new Counter({ name: 'etcd_network_peer_sent_failures_total', help: 'The total number of send failures from peers.', labelNames: ['To'], registers: [this.registry] });
  readonly grpcStarted = new Counter({ name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames: ['grpc_type', 'grpc_service', 'grpc_method'], registers: [this.registry] });
  readonly grpcHandled = new Counter({ name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.', labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'], registers: [this.registry] });
  readonly grpcHandling = new Histogram({ name: 'grpc_server_handling_seconds', help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.', labelNames: ['grpc_type', 'grpc_service', 'grpc_method'], buckets: HANDLING_BUCKETS, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Reads the member's state at each scrape. */
  watchMember(s: MemberState, version: string): void {
    const r = [this.registry];
    const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: r,
        async collect() {
          this.set(await read());
        },
      });
    gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (s.hasLeader() ? 1 : 0));
    gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (s.isLeader() ? 1 : 0));
    gauge('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', () => (s.isLearner() ? 1 : 0));
    gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', s.committed);
    gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', s.applied);
    gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', s.pending);
    gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', s.dbSize);
    gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', s.dbSizeInUse);
    gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', s.quotaBytes);
    new Gauge({
      name: 'etcd_server_id',
      help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
      labelNames: ['server_id'],
      registers: r,
      collect() {
        this.reset();
        this.set({ server_id: s.memberIdHex() }, 1);
      },
    });
    new Gauge({ name: 'etcd_server_version', help: "Which version is running. 1 for 'server_version' label with current version.", labelNames: ['server_version'], registers: r }).set({ server_version: version }, 1);
  }

  /** Times fn into a histogram (seconds). */
  static async timed<T>(h: Histogram, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      h.observe((performance.now() - t0) / 1000);
    }
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
