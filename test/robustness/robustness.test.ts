import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { formatAnomaly } from './check.ts';
import { runRobustness } from './driver.ts';
import type { FaultKind } from './nemesis.ts';
import { seedFromEnv } from '../watch/model.ts';

/**
 * The CI profile of the robustness harness: a 3-member cluster on Postgres under concurrent puts,
 * deletes, compare-and-swaps, linearizable and serializable reads, watches and leases, through
 * about two minutes of faults of most kinds (kills of the leader, a follower and a majority,
 * SIGSTOP pauses, partitions and one-way link loss, lossy links, a stalled and a cut database, a
 * wiped follower rejoining), with two lock clients (fenced writes under the lock), two election
 * clients and two observers beside the register clients, and two SSE watchers through two edge
 * proxies (one proxy killed, Redis cut); then every checker over the history.
 * Any anomaly fails the test.
 * The long profile is run by hand: npm run robustness -- --minutes 30 --seed S.
 */

const SEED = seedFromEnv('robustness CI profile');

const SCHEDULE: FaultKind[] = [
  'kill-leader',
  'lossy-links',
  'partition-leader',
  'pause-leader',
  'one-way-leader',
  'db-stall-leader',
  'kill-follower',
  'kill-proxy',
  'one-way-to-leader',
  'wipe-follower',
  'kill-majority',
  'db-cut',
  'redis-down',
  'pause-follower',
  'partition-minority',
  'restart-leader',
  'lossy-links',
  'kill-all',
];

test('robustness (CI profile): 3 members, 15 kinds of fault, linearizable, watches complete, nothing lost, leases bounded, locks fenced, one leader at a time, members agree', { timeout: 360_000 }, async () => {
  const runDir = path.join(os.tmpdir(), `edgecd-robustness-ci-${SEED}-${process.pid}`);
  const r = await runRobustness({
    seed: SEED,
    members: 3,
    durationMs: Number(process.env.EDGECD_ROBUSTNESS_MS ?? 110_000),
    schedule: SCHEDULE,
    quietMs: [500, 1500],
    // Small, so followers that fall behind get snapshots; and a wiped member re-added as a learner
    // can catch up soon: it needs a snapshot made after it was added (see the todo test in
    // learner-catchup.test.ts).
    snapshotCount: 300,
    // Short leases kept alive through lossy and one-way links: a renewal that reaches the leader
    // while its lease's revoke is in flight must not be answered as a renewal (issue #25).
    leaseClients: 5,
    leaseTtls: [2, 3],
    // Locks and elections on short leases (2-4 s) that lapse under faults; one register client
    // fewer than the default 8 keeps the load on the 2 cores about the same.
    clients: 7,
    lockClients: 2,
    electionClients: 2,
    observers: 2,
    // A small proxy share: two edge proxies (Redis through a relay the nemesis cuts), one SSE
    // watcher each on average, resumed on the other proxy when theirs is killed.
    proxies: 2,
    proxyWatchers: 2,
    runDir,
    log: (m) => console.log(m),
  });
  console.log(r.summary);
  assert.deepEqual(r.anomalies.map(formatAnomaly), [], `anomalies (history in ${r.historyFile}, logs in ${runDir})`);
  const kinds = new Set(r.history.faults.map((f) => f.kind));
  assert.ok(kinds.size >= 10, `only ${kinds.size} kinds of fault injected`);
  const answered = r.history.ops.filter((o) => o.ret !== undefined).length;
  assert.ok(answered > 3000, `only ${answered} operations answered`);
  assert.ok(r.report.watchEvents > 1000 && r.report.leaseProbes > 50, 'watches and leases were exercised');
  const c = r.report.coord;
  assert.ok(c.acquisitions > 20 && c.fencedOk > 20 && c.leaders > 10 && c.observedEvents > 20, `locks and elections were exercised: ${JSON.stringify(c)}`);
  const viaProxy = r.history.watchers.filter((w) => w.via === 'proxy');
  const proxyEvents = viaProxy.reduce((s, w) => s + w.sessions.reduce((t, x) => t + x.events.length, 0), 0);
  assert.ok(viaProxy.length === 2 && proxyEvents > 1000, `watches through the proxies were exercised: ${proxyEvents} events`);
  rmSync(runDir, { recursive: true, force: true });
});
