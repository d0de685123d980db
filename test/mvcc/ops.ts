import fc from 'fast-check';
import type { KeyValue } from '../../src/mvcc/types.ts';
import type { Compare, RequestOp, TxnRequest } from '../../src/server/rpc-types.ts';
import type { ModelKv, Op, Outcome } from './model.ts';

/** Generators for random operation sequences, and the translation of an Op into etcd requests. */

const KEYS = ['a', 'ab', 'b', 'b\x00', 'c', 'k/1', 'k/2', 'k/3', '\xff', '\x00z'];
const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom('', 'x', 'y', 'zz', '\x00\xff');
const end = fc.option(fc.constantFrom('', 'b', 'k0', 'k/2', '\xff\xff'), { nil: undefined });

export function opArb(maxRev: () => number): fc.Arbitrary<Op> {
  const write = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key, value }),
    fc.record({ kind: fc.constant('delete' as const), key }),
  );
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value, prevKv: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key, end, prevKv: fc.boolean() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('txn' as const),
        cmpKey: key,
        target: fc.constantFrom('VERSION' as const, 'VALUE' as const, 'MOD' as const, 'CREATE' as const),
        result: fc.constantFrom('EQUAL' as const, 'GREATER' as const, 'LESS' as const, 'NOT_EQUAL' as const),
        operand: fc.integer({ min: 0, max: 6 }),
        // Distinct keys per branch: etcd refuses a txn that writes a key twice.
        success: fc.uniqueArray(write, { maxLength: 3, selector: (w) => w.key }),
        failure: fc.uniqueArray(write, { maxLength: 3, selector: (w) => w.key }),
      }),
    },
    { weight: 1, arbitrary: fc.integer({ min: -1, max: 40 }).map((rev) => ({ kind: 'compact' as const, rev })) },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('range' as const), key, end, rev: fc.integer({ min: 0, max: 40 }), limit: fc.integer({ min: 0, max: 3 }) }),
    },
  ).map((op) => {
    // Value compares use a string operand.
    if (op.kind === 'txn' && op.target === 'VALUE') return { ...op, operand: ['', 'x', 'y', 'zz'][op.operand % 4] };
    void maxRev;
    return op;
  });
}

export const rangeReq = (k: string, e: string | undefined, rev = 0, limit = 0) => ({
  key: k,
  rangeEnd: e === undefined ? '' : e === '' ? '\0' : e,
  limit,
  revision: rev,
  sortOrder: 0,
  sortTarget: 0,
  serializable: false,
  keysOnly: false,
  countOnly: false,
  minModRevision: 0,
  maxModRevision: 0,
  minCreateRevision: 0,
  maxCreateRevision: 0,
});

const TARGET = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3 };
const RESULT = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 };

export function txnReq(op: Extract<Op, { kind: 'txn' }>): TxnRequest {
  const c: Compare = { result: RESULT[op.result], target: TARGET[op.target], key: op.cmpKey, rangeEnd: '' };
  if (op.target === 'VALUE') c.value = String(op.operand);
  else if (op.target === 'VERSION') c.version = Number(op.operand);
  else if (op.target === 'MOD') c.modRevision = Number(op.operand);
  else c.createRevision = Number(op.operand);
  const ops = (ws: typeof op.success): RequestOp[] =>
    ws.map((w) =>
      w.kind === 'put'
        ? { requestPut: { key: w.key, value: w.value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } }
        : { requestDeleteRange: { key: w.key, rangeEnd: '', prevKv: false } },
    );
  return { compare: [c], success: ops(op.success), failure: ops(op.failure) };
}

export const plain = (kvs: KeyValue[] | undefined): ModelKv[] =>
  (kvs ?? []).map((k) => ({ key: k.key, value: k.value, createRevision: k.createRevision, modRevision: k.modRevision, version: k.version }));

export function describe(op: Op): string {
  return JSON.stringify(op);
}

export type { Outcome };
