import type { Connection } from './db.ts';
import { logStatements, PgLogStore } from './log-store.ts';
import type { BootstrapBatch } from './rows.ts';
import { installSnapshot } from './snapshot-file.ts';
import { appliedStatements, PgStateStore } from './state-store.ts';
import type { MemberStore } from './stores.ts';

/** A member's storage in its own Postgres (a server's, or the embedded one). */
export function pgMemberStore(conn: Connection): MemberStore {
  return {
    log: new PgLogStore(conn),
    state: new PgStateStore(conn),
    async bootstrap(b: BootstrapBatch) {
      await (conn.log ?? conn.sql).begin(async (tx) => {
        await Promise.all([
          ...logStatements(tx, { entries: [], hardState: b.hardState, snapshot: b.snapshot }),
          ...appliedStatements(tx, { rows: [], compactions: [], memberOps: b.memberOps, appliedIndex: b.appliedIndex, revision: 1 }),
        ]);
      });
    },
    close: () => conn.close(),
  };
}

/**
 * Makes the database a brand-new cluster's first member state from an operator's snapshot file
 * (etcdctl snapshot restore): the key space, its revisions and leases from the file; the members,
 * ids and raft state of the new cluster; applied index 1, so the new log starts clean. Alarms stay
 * behind. One transaction: all of it or nothing.
 */
export async function restoreSnapshot(conn: Connection, file: string, b: BootstrapBatch & { memberId: bigint; clusterId: bigint }): Promise<void> {
  await (conn.log ?? conn.sql).begin(async (tx) => {
    await tx`TRUNCATE raft_state, raft_snapshot`;
    await installSnapshot(tx, file);
    await tx`DELETE FROM meta WHERE name IN ('alarms', 'consistent_index', 'member_id', 'cluster_id')`;
    await tx`TRUNCATE members`;
    await Promise.all([
      ...logStatements(tx, { entries: [], hardState: b.hardState, snapshot: b.snapshot }),
      tx`INSERT INTO meta (name, value) VALUES ('member_id', ${b.memberId.toString()}), ('cluster_id', ${b.clusterId.toString()}), ('consistent_index', ${String(b.appliedIndex)})`,
      ...b.memberOps.map(
        ({ member: m }) =>
          tx`INSERT INTO members (id, name, peer_urls, client_urls, is_learner) VALUES (${m!.id.toString()}, ${m!.name}, ${JSON.stringify(m!.peerUrls)}, ${JSON.stringify(m!.clientUrls)}, ${m!.isLearner})`,
      ),
    ]);
  });
}
