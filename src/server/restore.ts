import { bootstrapMemoryStorage, MemoryStorage } from '../raft/index.ts';
import { restoreSnapshot } from '../storage/member-store.ts';
import { inspectSnapshot, type SnapshotStatus } from '../storage/snapshot-file.ts';
import { newClusterIdentity, nodeIdOf } from './cluster-ids.ts';
import { openDatabase } from './database.ts';

export interface RestoreOptions {
  file: string;
  name: string;
  dataDir: string;
  databaseUrl?: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
  /** Restore a file whose seal does not match (etcdctl's --skip-hash-check). */
  skipHashCheck?: boolean;
}

/**
 * etcdctl snapshot restore: makes this member's (empty) database the first state of a new cluster
 * holding the snapshot's key space. Each member of the new cluster is restored from the same file
 * with its own name, then started with the same --initial-cluster flags.
 */
export async function restoreMember(o: RestoreOptions): Promise<SnapshotStatus> {
  const status = await inspectSnapshot(o.file);
  if (!status.intact && !o.skipHashCheck) throw new Error(`snapshot ${o.file} does not match its sha256 (truncated or changed): not restoring (--skip-hash-check restores it anyway)`);
  const identity = newClusterIdentity(o);
  const db = await openDatabase(o.dataDir, o.databaseUrl);
  try {
    const existing = await db.conn.sql`SELECT value FROM meta WHERE name = 'member_id'`;
    if (existing.length) throw new Error(`the member's database already holds a member (${BigInt(existing[0].value).toString(16)}): restore needs an empty one`);
    const storage = new MemoryStorage();
    bootstrapMemoryStorage(
      storage,
      identity.initialMembers!.map((m) => nodeIdOf(m.id)),
    );
    await restoreSnapshot(db.conn, o.file, {
      memberId: identity.memberId,
      clusterId: identity.clusterId,
      hardState: { term: 1, vote: '', commit: 1 },
      snapshot: storage.snapshot().metadata,
      memberOps: identity.initialMembers!.map((m) => ({ id: m.id, member: m })),
      appliedIndex: 1,
    });
  } finally {
    await db.close();
  }
  return status;
}
