import type { KeyValue } from '../../mvcc/types.ts';
import type { ResponseHeader } from '../../server/rpc-types.ts';
import { BASE64, type BytesEncoding } from './bytes-encoding.ts';
import { header, kv, type HeaderInfo } from './encode.ts';
import type { LeaderKeyJson } from './concurrency-messages.ts';

/** v3lockpb and v3electionpb answers in the gateway's JSON (zero values left out). */

export function lockResponse(h: ResponseHeader, info: HeaderInfo, key: string, enc: BytesEncoding = BASE64): string {
  return `{"header":${header(h, info)}${key !== '' ? `,"key":${enc.json(key)}` : ''}}`;
}

function leaderKey(l: LeaderKeyJson, enc: BytesEncoding): string {
  const parts: string[] = [];
  if (l.name !== '') parts.push(`"name":${enc.json(l.name)}`);
  if (l.key !== '') parts.push(`"key":${enc.json(l.key)}`);
  if (l.rev !== 0) parts.push(`"rev":"${l.rev}"`);
  if (l.lease !== 0n) parts.push(`"lease":"${l.lease}"`);
  return `{${parts.join(',')}}`;
}

export function campaignResponse(h: ResponseHeader, info: HeaderInfo, l: LeaderKeyJson, enc: BytesEncoding = BASE64): string {
  return `{"header":${header(h, info)},"leader":${leaderKey(l, enc)}}`;
}

export function leaderResponse(h: ResponseHeader, info: HeaderInfo, k: KeyValue, enc: BytesEncoding = BASE64): string {
  return `{"header":${header(h, info)},"kv":${kv(k, enc)}}`;
}
