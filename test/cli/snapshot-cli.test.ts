import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { b64, post, unb64 } from '../helpers/cluster.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';

/** edgecd snapshot save / status / restore from the command line, as an operator runs them. */

const run = promisify(execFile);
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');
const edgecd = (args: string[], env: Record<string, string> = {}) => run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env } });

test('snapshot save over the gateway, status, restore into a new cluster that starts with the same data and hash', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-snapcli-'));
  const src = await startEdgecd();
  const dst = await createTestDatabase();
  try {
    for (let i = 0; i < 10; i++) await post(src.url, '/v3/kv/put', { key: b64(`k${i}`), value: b64(`v${i}`) });
    const hash = (await post(src.url, '/v3/maintenance/hashkv', {})).json;
    const file = path.join(dir, 'snap.ndjson');
    const saved = await edgecd(['snapshot', 'save', file, '--endpoints', src.url]);
    assert.match(saved.stdout, /Snapshot saved at .* \(revision 11, 10 keys\)/);
    const status = JSON.parse((await edgecd(['snapshot', 'status', file, '--write-out', 'json'])).stdout);
    assert.equal(status.revision, 11);
    assert.equal(status.intact, true);
    const peerPort = await freePort();
    const peer = `http://127.0.0.1:${peerPort}`;
    const restored = await edgecd(['snapshot', 'restore', file, '--name', 'n1', '--data-dir', path.join(dir, 'n1'), '--initial-cluster', `n1=${peer}`, '--initial-advertise-peer-urls', peer, '--initial-cluster-token', 'restored'], { DATABASE_URL: dst.url });
    assert.match(restored.stdout, /Restored 10 keys at revision 11/);
    const member = await startEdgecd({ name: 'n1', databaseUrl: dst.url, dataDir: path.join(dir, 'n1'), peerPort, initialCluster: `n1=${peer}` });
    try {
      const r = await post(member.url, '/v3/kv/range', { key: b64('k7') });
      assert.equal(unb64(r.json.kvs[0].value), 'v7');
      assert.equal(r.json.header.revision, '11');
      const after = (await post(member.url, '/v3/maintenance/hashkv', { revision: '11' })).json;
      assert.equal(after.hash, hash.hash);
      assert.notEqual(r.json.header.cluster_id, hash.header.cluster_id, 'a new cluster');
    } finally {
      await member.kill();
    }
  } finally {
    await src.stop();
    await dst.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
