import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Model, type Op } from './model.ts';
import { opArb, describe } from './ops.ts';
import { InMemorySystem, MemberSystem } from './system.ts';
import { connect } from '../../src/storage/db.ts';
import { pgMemberStore } from '../../src/storage/member-store.ts';
import { Member } from '../../src/server/member.ts';
import { createTestDatabase } from '../helpers/pg.ts';

/**
 * Random sequences of put, delete, txn, compact and range, run against the store and against a
 * model that keeps every revision's whole state. Every outcome must agree. The seed is printed;
 * EDGECD_SEED=<n> replays a run exactly.
 */

const seed = Number(process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`kv-model: seed ${seed} (replay with EDGECD_SEED=${seed})`);

const ops = fc.array(opArb(() => 40), { minLength: 1, maxLength: 60 });

test('MVCC store and applier agree with the model', async () => {
  await fc.assert(
    fc.asyncProperty(ops, async (seq) => {
      const model = new Model();
      const sys = new InMemorySystem();
      for (const [i, op] of seq.entries()) {
        const want = model.apply(op);
        const got = await sys.run(op);
        assert.deepEqual(got, want, `step ${i}: ${describe(op)}`);
      }
    }),
    { seed, numRuns: 300 },
  );
});

/** Every key at every readable revision, through the system's range. */
async function checkAllRevisions(model: Model, sys: MemberSystem, label: string): Promise<void> {
  const from = Math.max(model.compactRev, 1);
  for (let rev = from; rev <= model.rev; rev++) {
    const op: Op = { kind: 'range', key: '\x00', end: '', rev, limit: 0 };
    const want = model.apply(op);
    assert.deepEqual(await sys.run(op), want, `${label}: state at revision ${rev}`);
  }
}

test('a member on Postgres agrees with the model, and again after restart', async () => {
  const db = await createTestDatabase();
  try {
    await fc.assert(
      fc.asyncProperty(ops, async (seq) => {
        const conn = await connect(db.url);
        await conn.sql`TRUNCATE kv, raft_log, raft_state, raft_snapshot, meta, leases, members`;
        const model = new Model();
        const sys = new MemberSystem(await Member.open(pgMemberStore(conn), { name: 't'}));
        try {
          for (const [i, op] of seq.entries()) {
            const want = model.apply(op);
            assert.deepEqual(await sys.run(op), want, `step ${i}: ${describe(op)}`);
          }
        } finally {
          await sys.member.close();
        }
        // Recovery rebuilds the same history from rows and log.
        sys.member = await Member.open(pgMemberStore(await connect(db.url)), { name: 't' });
        try {
          await checkAllRevisions(model, sys, 'after restart');
        } finally {
          await sys.member.close();
        }
      }),
      { seed, numRuns: 25 },
    );
  } finally {
    await db.drop();
  }
});
