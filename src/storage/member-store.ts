import type { Connection } from './db.ts';
import { logStatements, PgLogStore } from './log-store.ts';
import type { BootstrapBatch } from './rows.ts';
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
