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
 * The robustness harness with auth on (edgecd's default JWTs): every client authenticates, a role
 * changes every few seconds so tokens go stale and are renewed, members die, pause and come back.
 * Every checker still finds nothing, and no write passes where the caller's roles forbid it at
 * that moment (auth-client.ts).
 */

const SEED = seedFromEnv('robustness auth profile');

const SCHEDULE: FaultKind[] = ['kill-leader', 'pause-follower', 'partition-leader', 'restart-leader', 'kill-follower', 'lossy-links', 'kill-majority'];

test('robustness with auth on: tokens renewed across role changes and member deaths, nothing forbidden passes, every checker clean', { timeout: 300_000 }, async () => {
  const runDir = path.join(os.tmpdir(), `edgecd-robustness-auth-${SEED}-${process.pid}`);
  const r = await runRobustness({
    seed: SEED,
    members: 3,
    durationMs: Number(process.env.EDGECD_ROBUSTNESS_AUTH_MS ?? 50_000),
    schedule: SCHEDULE,
    quietMs: [1000, 2500],
    snapshotCount: 300,
    auth: true,
    runDir,
    log: (m) => console.log(m),
  });
  console.log(r.summary);
  assert.deepEqual(r.anomalies.map(formatAnomaly), [], `anomalies (history in ${r.historyFile}, logs in ${runDir})`);
  const answered = r.history.ops.filter((o) => o.ret !== undefined).length;
  assert.ok(answered > 1000, `only ${answered} operations answered`);
  const authLine = r.history.notes.find((n) => n.startsWith('auth:'));
  assert.ok(authLine, 'the churn ran');
  const changes = Number(/auth: (\d+) role changes/.exec(authLine)![1]);
  assert.ok(changes >= 6, `only ${changes} role changes`);
  rmSync(runDir, { recursive: true, force: true });
});
