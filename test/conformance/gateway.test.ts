// Replays the etcd 3.4 gateway conformance cases (cases.ts) against edgecd, in order, on ONE fresh
// member, and compares each answer with the golden file recorded from real etcd
// (scripts/record-golden.ts): same status, same content-type / allow / access-control-* headers,
// and the same body text after normaliseBody() (cluster_id, member_id, raft_term only).
//
// EDGECD_CONFORMANCE_URL=http://127.0.0.1:2379 runs the cases against an already running server
// instead of starting edgecd (used to check the replay against a fresh etcd itself; the server
// must be fresh and empty, since the cases build on each other's revisions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cases, { checkCases } from './cases.ts';
import { goldenName, runCase, type GoldenFile } from './http.ts';
import { normaliseBody, type RunVars } from './normalise.ts';

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

// The contract of test/helpers/server.ts (written alongside the server).
type StartEdgecd = (opts?: { args?: string[]; env?: Record<string, string> }) => Promise<{ url: string; peerUrl: string; stop(): Promise<void> }>;

async function startServer(): Promise<{ url: string; peerUrl?: string; stop(): Promise<void> }> {
  const given = process.env.EDGECD_CONFORMANCE_URL;
  // EDGECD_CONFORMANCE_PEER_URL: the given server's peer URL, for the cases that name it.
  if (given) return { url: given, peerUrl: process.env.EDGECD_CONFORMANCE_PEER_URL, stop: async () => {} };
  // Imported through a variable so this file type-checks before the helper exists.
  const helper: string = '../helpers/server.ts';
  const { startEdgecd } = (await import(helper)) as { startEdgecd: StartEdgecd };
  return startEdgecd();
}

function loadGolden(index: number, name: string): GoldenFile {
  const file = path.join(GOLDEN_DIR, goldenName(index, name));
  return JSON.parse(readFileSync(file, 'utf8')) as GoldenFile;
}

test('golden files match the case list', () => {
  checkCases();
  const expected = cases.map((c, i) => goldenName(i, c.name)).sort();
  const actual = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(actual, expected, 'golden files are stale: run `npx tsx scripts/record-golden.ts`');
  for (const [i, c] of cases.entries()) {
    assert.equal(loadGolden(i, c.name).requests.length, c.requests.length, `${c.name}: request count differs from golden file`);
  }
});

test('etcd 3.4 gateway conformance', async (t) => {
  const server = await startServer();
  const vars: RunVars = { PEER_URL: server.peerUrl, CLIENT_URL: server.url };
  try {
    for (const [i, c] of cases.entries()) {
      await t.test(`${String(i + 1).padStart(3, '0')} ${c.name}`, async () => {
        const golden = loadGolden(i, c.name);
        const exchanges = await runCase(server.url, c, vars);
        for (const [j, req] of c.requests.entries()) {
          const want = golden.requests[j];
          const got = exchanges[j].response;
          const what = `${c.name} request ${j + 1}: ${req.method} ${req.path}${req.body !== undefined ? ' ' + req.body.slice(0, 300) : ''}`;
          assert.equal(got.status, want.response.status, `${what}\nstatus (body: ${got.body.slice(0, 500)})`);
          assert.deepEqual(got.headers, want.response.headers, `${what}\nheaders`);
          const norm = (body: string, v?: RunVars) => normaliseBody(body, { mask: c.mask, members: c.members, vars: v });
          assert.equal(norm(got.body, exchanges[j].vars), norm(want.response.body, want.vars), `${what}\nbody`);
        }
      });
    }
  } finally {
    await server.stop();
  }
});
