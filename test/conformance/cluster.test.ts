// Replays the cluster conformance cases (cluster-cases.ts) against three edgecd members, in order,
// and compares each answer with the golden file recorded from three etcd 3.4 members
// (scripts/record-golden.ts cluster): status, compared headers, and the body once every member
// id and loopback port is masked (member lists compared as sets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, waitConnected } from '../helpers/cluster.ts';
import { checkCases } from './cases.ts';
import cases from './cluster-cases.ts';
import { clusterTarget, followerToStop, goldenName, runCase, send, type GoldenFile } from './http.ts';
import { normaliseBody, type RunVars } from './normalise.ts';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden-cluster');

test('cluster golden files match the case list', () => {
  checkCases(cases);
  assert.deepEqual(readdirSync(DIR).filter((f) => f.endsWith('.json')).sort(), cases.map((c, i) => goldenName(i, c.name)).sort());
});

test('etcd 3.4 gateway conformance on a 3-member cluster', { timeout: 180_000 }, async (t) => {
  const cluster = await startCluster({ size: 3 });
  try {
    const urls = cluster.members.map((m) => m!.url);
    // Every member agrees on a leader before the cases run (they ask for a leader and a follower).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const leaders = await Promise.all(urls.map(async (u) => JSON.parse((await send(u, { method: 'POST', path: '/v3/maintenance/status', body: '{}' })).body).leader));
      if (leaders[0] && leaders.every((l) => l === leaders[0])) break;
      if (Date.now() > deadline) throw new Error(`no agreed leader: ${leaders}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // As the recorder waits for etcd: membership changes are refused until every voter has been connected for 5 s.
    await waitConnected(urls);
    const target = clusterTarget(urls);
    const stopFollower = async () => {
      const i = urls.indexOf(await followerToStop(urls));
      await cluster.members[i]!.kill();
      cluster.members[i] = undefined;
    };
    const vars: RunVars = {};
    for (const [i, c] of cases.entries()) {
      await t.test(`${String(i + 1).padStart(3, '0')} ${c.name}`, async () => {
        const golden = JSON.parse(readFileSync(path.join(DIR, goldenName(i, c.name)), 'utf8')) as GoldenFile;
        const got = await runCase(target, c, vars, stopFollower);
        for (const [j, req] of c.requests.entries()) {
          const want = golden.requests[j].response;
          const what = `${c.name} request ${j + 1}: ${req.method} ${req.path} to the ${req.to ?? 'leader'} ${req.body ?? ''}`;
          assert.equal(got[j].response.status, want.status, `${what}\nstatus (body: ${got[j].response.body.slice(0, 300)})`);
          assert.deepEqual(got[j].response.headers, want.headers, `${what}\nheaders`);
          const norm = (body: string) => normaliseBody(body, { mask: c.mask, anyMember: c.anyMember });
          assert.equal(norm(got[j].response.body), norm(want.body), `${what}\nbody`);
        }
      });
    }
  } finally {
    await cluster.stop();
  }
});
