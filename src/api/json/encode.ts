import type { KeyValue } from '../../mvcc/types.ts';
import type {
  DeleteRangeResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
} from '../../server/rpc-types.ts';
import { BASE64, type BytesEncoding } from './bytes-encoding.ts';

/**
 * Answers in the gateway's JSON (jsonpb, OrigName, no defaults): fields in proto order, int64 as
 * strings, bytes as base64 (or in edgecd's text encoding), zero values left out. Written by hand:
 * this is the hot path.
 */

/** What the member adds to every top-level header. */
export interface HeaderInfo {
  clusterId: string;
  memberId: string;
  raftTerm: number;
}

export function header(h: ResponseHeader, info: HeaderInfo | undefined): string {
  let s = '{';
  let sep = '';
  if (info && info.clusterId !== '0') {
    s += `"cluster_id":"${info.clusterId}"`;
    sep = ',';
  }
  if (info && info.memberId !== '0') {
    s += `${sep}"member_id":"${info.memberId}"`;
    sep = ',';
  }
  if (h.revision !== 0) {
    s += `${sep}"revision":"${h.revision}"`;
    sep = ',';
  }
  if (info && info.raftTerm !== 0) s += `${sep}"raft_term":"${info.raftTerm}"`;
  return s + '}';
}

export function kv(k: KeyValue, enc: BytesEncoding = BASE64): string {
  const parts: string[] = [];
  if (k.key !== '') parts.push(`"key":${enc.json(k.key)}`);
  if (k.createRevision !== 0) parts.push(`"create_revision":"${k.createRevision}"`);
  if (k.modRevision !== 0) parts.push(`"mod_revision":"${k.modRevision}"`);
  if (k.version !== 0) parts.push(`"version":"${k.version}"`);
  if (k.value !== '') parts.push(`"value":${enc.json(k.value)}`);
  if (k.lease !== 0n) parts.push(`"lease":"${k.lease}"`);
  return `{${parts.join(',')}}`;
}

const kvList = (kvs: KeyValue[], enc: BytesEncoding) => `[${kvs.map((k) => kv(k, enc)).join(',')}]`;

export function rangeResponse(r: RangeResponse, info?: HeaderInfo, enc: BytesEncoding = BASE64): string {
  let s = `{"header":${header(r.header, info)}`;
  if (r.kvs.length) s += `,"kvs":${kvList(r.kvs, enc)}`;
  if (r.more) s += ',"more":true';
  if (r.count !== 0) s += `,"count":"${r.count}"`;
  return s + '}';
}

export function putResponse(r: PutResponse, info?: HeaderInfo, enc: BytesEncoding = BASE64): string {
  let s = `{"header":${header(r.header, info)}`;
  if (r.prevKv) s += `,"prev_kv":${kv(r.prevKv, enc)}`;
  return s + '}';
}

export function deleteRangeResponse(r: DeleteRangeResponse, info?: HeaderInfo, enc: BytesEncoding = BASE64): string {
  let s = `{"header":${header(r.header, info)}`;
  if (r.deleted !== 0) s += `,"deleted":"${r.deleted}"`;
  if (r.prevKvs.length) s += `,"prev_kvs":${kvList(r.prevKvs, enc)}`;
  return s + '}';
}

function responseOp(op: ResponseOp, enc: BytesEncoding): string {
  if (op.responseRange) return `{"response_range":${rangeResponse(op.responseRange, undefined, enc)}}`;
  if (op.responsePut) return `{"response_put":${putResponse(op.responsePut, undefined, enc)}}`;
  if (op.responseDeleteRange) return `{"response_delete_range":${deleteRangeResponse(op.responseDeleteRange, undefined, enc)}}`;
  if (op.responseTxn) return `{"response_txn":${txnResponse(op.responseTxn, undefined, enc)}}`;
  return '{}';
}

export function txnResponse(r: TxnResponse, info?: HeaderInfo, enc: BytesEncoding = BASE64): string {
  let s = `{"header":${header(r.header, info)}`;
  if (r.succeeded) s += ',"succeeded":true';
  if (r.responses.length) s += `,"responses":[${r.responses.map((op) => responseOp(op, enc)).join(',')}]`;
  return s + '}';
}

export function headerOnly(h: ResponseHeader, info?: HeaderInfo): string {
  return `{"header":${header(h, info)}}`;
}

export function errorBody(message: string, code: number): string {
  const m = JSON.stringify(message);
  return `{"error":${m},"message":${m},"code":${code}}`;
}
