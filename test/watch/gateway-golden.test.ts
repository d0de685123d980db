import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cases, { checkCases } from './golden-cases.ts';
import { byWatch, goldenFileName, normaliseLine, runCase, type WatchTranscript } from './golden-run.ts';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';

/**
 * POST /v3/watch against transcripts recorded from etcd 3.4.23 (scripts/record-watch-golden.ts):
 * status, headers and every answer line byte for byte once the cluster's identity is replaced.
 * etcd orders the answers of different watchers on one stream as it likes (Go maps), so each
 * watch_id's answers are compared in order. EDGECD_WATCH_URL aims the replay at any server.
 */

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
let server: EdgecdProcess | undefined;
let base = process.env.EDGECD_WATCH_URL ?? '';

before(async () => {
  checkCases();
  if (!base) {
    server = await startEdgecd();
    base = server.url;
  }
});
after(async () => {
  await server?.stop();
});

test('etcd 3.4 watch transcripts', async (t) => {
  const state = { rev: 1 };
  for (const [i, c] of cases.entries()) {
    await t.test(`${String(i + 1).padStart(3, '0')} ${c.name}`, async () => {
      const want = JSON.parse(readFileSync(path.join(DIR, goldenFileName(i, c.name)), 'utf8')) as WatchTranscript;
      const got = await runCase(base, c, state);
      assert.equal(got.status, want.status, 'status');
      assert.deepEqual(got.headers, want.headers, 'headers');
      const lines = got.lines.map(normaliseLine);
      assert.deepEqual(byWatch(lines), byWatch(want.lines), `answers of ${c.name}\n got:\n${lines.join('\n')}\n want:\n${want.lines.join('\n')}`);
    });
  }
});
