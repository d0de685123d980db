import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cases, { checkCases } from '../watch/golden-cases.ts';
import { byWatch, goldenFileName, normaliseLine, runCase, type WatchTranscript } from '../watch/golden-run.ts';
import { startEdgecd } from '../helpers/server.ts';
import { metric, startProxyProcess } from './proxy-process.ts';

/**
 * The etcd 3.4 watch transcripts (test/watch/golden, recorded from real etcd and replayed against
 * a member by test/watch/gateway-golden.test.ts), replayed through the proxy in front of a fresh
 * member: every POST /v3/watch stream answers what etcd answered, status, headers and every line
 * byte for byte once the cluster's identity is masked (revisions included). The old passthrough
 * passed these too; what changed is that the proxy answers them itself from its shared feeds, which
 * the metrics show (watchers served from feeds, one private stream for the fragment case).
 */

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../watch/golden');

test('etcd 3.4 watch transcripts through the proxy, answered from its shared feeds', { timeout: 300_000 }, async (t) => {
  checkCases();
  const member = await startEdgecd();
  const proxy = await startProxyProcess([member.url], '');
  try {
    const state = { rev: 1 };
    let peakFeeds = 0;
    for (const [i, c] of cases.entries()) {
      await t.test(`${String(i + 1).padStart(3, '0')} ${c.name}`, async () => {
        const want = JSON.parse(readFileSync(path.join(DIR, goldenFileName(i, c.name)), 'utf8')) as WatchTranscript;
        const got = await runCase(proxy.url, c, state);
        assert.equal(got.status, want.status, 'status');
        assert.deepEqual(got.headers, want.headers, 'headers');
        const lines = got.lines.map(normaliseLine);
        assert.deepEqual(byWatch(lines), byWatch(want.lines), `answers of ${c.name}\n got:\n${lines.join('\n')}\n want:\n${want.lines.join('\n')}`);
      });
      peakFeeds = Math.max(peakFeeds, await metric(proxy.url, 'edgecd_proxy_feeds'));
    }
    assert.ok(peakFeeds >= 1, 'watches were answered from shared feeds, not passed through');
  } finally {
    proxy.proc.kill('SIGKILL');
    await member.stop();
  }
});
