import { KvStore, revKey } from '../../src/mvcc/kv-store.ts';
import { applyCompaction, applyDeleteRange, applyPut, applyRange, applyTxn, type KvContext, type Waits } from '../../src/server/apply-kv.ts';
import { EtcdError } from '../../src/errors.ts';
import type { Member } from '../../src/server/member.ts';
import { NO_AUTH } from '../../src/auth/index.ts';
import type { DeleteRangeResponse, PutResponse, RangeResponse, TxnResponse } from '../../src/server/rpc-types.ts';
import { plain, rangeReq, txnReq } from './ops.ts';
import type { Op, Outcome } from './model.ts';

/** Runs one Op against the real applier and reports the outcome in the model's terms. */
export interface System {
  run(op: Op): Promise<Outcome>;
}

function classify(err: unknown): Outcome {
  if (err instanceof EtcdError && err.message.includes('compacted')) return { error: 'compacted' };
  if (err instanceof EtcdError && err.message.includes('future')) return { error: 'future' };
  throw err;
}

const putReq = (key: string, value: string, prevKv: boolean) => ({ key, value, lease: 0n, prevKv, ignoreValue: false, ignoreLease: false });
const delReq = (key: string, end: string | undefined, prevKv: boolean) => ({ key, rangeEnd: end === undefined ? '' : end === '' ? '\0' : end, prevKv });

/** The applier over an in-process KvStore, with history kept in a Map instead of a database. */
export class InMemorySystem implements System {
  readonly store: KvStore;
  private readonly rows = new Map<string, { value: string; lease: bigint }>();
  private readonly ctx: KvContext;

  constructor() {
    this.store = new KvStore(
      {
        values: async (revs) => {
          const out = new Map<string, { value: string; lease: bigint }>();
          for (const r of revs) {
            const v = this.rows.get(revKey(r));
            if (v) out.set(revKey(r), v);
          }
          return out;
        },
      },
      (rev, changes) => {
        for (const c of changes) this.rows.set(`${rev}.${c.sub}`, { value: c.kv.value, lease: c.kv.lease });
      },
    );
    this.ctx = { store: this.store, leaseExists: () => false };
  }

  async run(op: Op): Promise<Outcome> {
    const waits: Waits = [];
    try {
      switch (op.kind) {
        case 'put': {
          const r = applyPut(this.ctx, undefined, putReq(op.key, op.value, op.prevKv));
          return { rev: r.header.revision, prev: plain(r.prevKv ? [r.prevKv] : []) };
        }
        case 'delete': {
          const r = applyDeleteRange(this.ctx, undefined, delReq(op.key, op.end, op.prevKv));
          return { rev: r.header.revision, deleted: r.deleted, prev: plain(r.prevKvs) };
        }
        case 'txn': {
          const r = applyTxn(this.ctx, txnReq(op), waits);
          return { rev: r.header.revision, succeeded: r.succeeded };
        }
        case 'compact':
          return { rev: applyCompaction(this.ctx, { revision: op.rev, physical: false }).header.revision };
        case 'range': {
          const r = applyRange(this.store, rangeReq(op.key, op.end, op.rev, op.limit), waits);
          await Promise.all(waits);
          return { rev: r.header.revision, kvs: plain(r.kvs), count: r.count, more: r.more };
        }
      }
    } catch (err) {
      return classify(err);
    }
  }
}

/** The same operations through a whole member: the log, group commit, the database, recovery. */
export class MemberSystem implements System {
  constructor(public member: Member) {}

  async run(op: Op): Promise<Outcome> {
    const m = this.member;
    try {
      switch (op.kind) {
        case 'put': {
          const { resp } = await m.propose<PutResponse>({ put: putReq(op.key, op.value, op.prevKv) });
          return { rev: resp.header.revision, prev: plain(resp.prevKv ? [resp.prevKv] : []) };
        }
        case 'delete': {
          const { resp } = await m.propose<DeleteRangeResponse>({ deleteRange: delReq(op.key, op.end, op.prevKv) });
          return { rev: resp.header.revision, deleted: resp.deleted, prev: plain(resp.prevKvs) };
        }
        case 'txn': {
          const resp = await m.keys.txn(txnReq(op), NO_AUTH);
          return { rev: resp.header.revision, succeeded: (resp as TxnResponse).succeeded };
        }
        case 'compact': {
          const { resp } = await m.propose<{ header: { revision: number } }>({ compaction: { revision: op.rev, physical: true } });
          return { rev: resp.header.revision };
        }
        case 'range': {
          const r: RangeResponse = await m.keys.range({ ...rangeReq(op.key, op.end, op.rev, op.limit), serializable: true }, NO_AUTH);
          return { rev: r.header.revision, kvs: plain(r.kvs), count: r.count, more: r.more };
        }
      }
    } catch (err) {
      return classify(err);
    }
  }
}
