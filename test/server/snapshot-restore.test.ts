import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NO_AUTH } from '../../src/auth/index.ts';
import { inspectSnapshot, restoreMember } from '../../src/server/boot.ts';
import { Member } from '../../src/server/member.ts';
import { connect } from '../../src/storage/db.ts';
import { pgMemberStore } from '../../src/storage/member-store.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { rangeReq } from '../mvcc/ops.ts';

/** Maintenance snapshot, its seal, and `edgecd snapshot restore` into a new cluster's member on Postgres. */

const put = (key: string, value: string, lease = 0n) => ({ put: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } });

async function leader(m: Member): Promise<void> {
  for (let i = 0; i < 100 && !m.isLeader; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(m.isLeader);
}

test('a snapshot restores into a new cluster with the same history, leases and hash; a changed file is refused', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-snap-'));
  const src = await createTestDatabase();
  const dst = await createTestDatabase();
  try {
    const m = await Member.open(pgMemberStore(await connect(src.url)), { name: 'old' });
    await leader(m);
    await m.propose({ leaseGrant: { ID: 9n, TTL: 600 } });
    for (let i = 0; i < 30; i++) await m.propose(put(`k${i % 7}`, `v${i}\u00ff`, i === 29 ? 9n : 0n));
    await m.propose({ deleteRange: { key: 'k3', rangeEnd: '', prevKv: false } });
    await m.propose({ compaction: { revision: 10, physical: true } });
    const file = path.join(dir, 'snap.ndjson');
    const lines: string[] = [];
    await m.maintenance.snapshot(async (l) => void lines.push(l));
    writeFileSync(file, lines.join('\n') + '\n');
    const hashBefore = await m.maintenance.hashKV();
    const rev = m.kv.currentRev;
    await m.close();

    const st = await inspectSnapshot(file);
    assert.equal(st.intact, true);
    assert.equal(st.revision, rev);
    assert.equal(st.totalKeys, 6, 'k0..k6 less the deleted k3');

    const tampered = path.join(dir, 'tampered.ndjson');
    writeFileSync(tampered, readFileSync(file, 'utf8').replace('"meta"', '"meta" ').replace(/"revision":"\d+"/, '"revision":"99"'));
    const opts = { name: 'n1', dataDir: path.join(dir, 'n1'), databaseUrl: dst.url, initialCluster: 'n1=http://127.0.0.1:1', initialClusterToken: 'restored', initialAdvertisePeerUrls: ['http://127.0.0.1:1'] };
    await assert.rejects(restoreMember({ ...opts, file: tampered }), /does not match its sha256/);
    appendFileSync(tampered, '');

    await restoreMember({ ...opts, file });
    await assert.rejects(restoreMember({ ...opts, file }), /already holds a member/, 'never over a member that exists');
    const r = await Member.open(pgMemberStore(await connect(dst.url)), { name: 'n1' });
    try {
      await leader(r);
      assert.equal(r.kv.currentRev, rev, 'the same revision');
      assert.equal(r.kv.compactRev, 10);
      assert.equal(r.memberList().length, 1);
      assert.notEqual(r.clusterId, m.clusterId, 'a new cluster');
      const kv = (await r.keys.range({ ...rangeReq('k1', undefined), serializable: true }, NO_AUTH)).kvs[0];
      assert.equal(kv.value, 'v29\u00ff');
      assert.equal(r.lessor.exists(9n), true, 'leases come along');
      assert.deepEqual(await r.maintenance.hashKV(rev), hashBefore, 'the same history, hash for hash');
      await r.propose(put('new', 'x'));
      assert.equal(r.kv.currentRev, rev + 1, 'and it takes writes from there');
    } finally {
      await r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await src.drop();
    await dst.drop();
  }
});
