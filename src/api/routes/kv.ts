import type { Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import type { CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from '../../server/rpc-types.ts';
import { checkDelete, checkPut, checkRange, checkTxn } from '../../server/validate.ts';
import { deleteRangeResponse, headerOnly, putResponse, rangeResponse, txnResponse } from '../json/encode.ts';
import {
  CompactionRequestDesc,
  DeleteRangeRequestDesc,
  PutRequestDesc,
  RangeRequestDesc,
  TxnRequestDesc,
} from '../json/kv-messages.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';

/** /v3/kv/*: range, put, deleterange, txn, compaction. */
export function kvRoutes(app: Hono, g: GatewayContext, member: Member): void {
  gatewayRoute<RangeRequest>(app, '/kv/range', g, {
    desc: RangeRequestDesc,
    raft: false,
    validate: checkRange,
    auth: true,
    async handle(req, _c, enc, ai) {
      return rangeResponse(await member.keys.range(req, ai), g.headerInfo(), enc);
    },
  });
  gatewayRoute<PutRequest>(app, '/kv/put', g, {
    desc: PutRequestDesc,
    raft: true,
    validate: checkPut,
    auth: true,
    async handle(req, _c, enc, ai) {
      return putResponse(await member.keys.put(req, ai), g.headerInfo(), enc);
    },
  });
  gatewayRoute<DeleteRangeRequest>(app, '/kv/deleterange', g, {
    desc: DeleteRangeRequestDesc,
    raft: true,
    validate: checkDelete,
    auth: true,
    async handle(req, _c, enc, ai) {
      return deleteRangeResponse(await member.keys.deleteRange(req, ai), g.headerInfo(), enc);
    },
  });
  gatewayRoute<TxnRequest>(app, '/kv/txn', g, {
    desc: TxnRequestDesc,
    raft: true,
    validate: (req) => checkTxn(req, g.maxTxnOps),
    auth: true,
    async handle(req, _c, enc, ai) {
      return txnResponse(await member.keys.txn(req, ai), g.headerInfo(), enc);
    },
  });
  gatewayRoute<CompactionRequest>(app, '/kv/compaction', g, {
    desc: CompactionRequestDesc,
    raft: true,
    auth: true,
    async handle(req, _c, _enc, ai) {
      return headerOnly((await member.keys.compact(req, ai)).header, g.headerInfo());
    },
  });
}
