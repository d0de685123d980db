import type { BytesEncoding } from './bytes-encoding.ts';
import { header, type HeaderInfo } from './encode.ts';

/**
 * etcdserverpb's lease responses in the gateway's JSON (fields in proto order, int64 as strings,
 * defaults left out). ID and TTL keep their capitals: they are the proto's own field names.
 */

const int = (name: string, v: bigint | number) => (v === 0 || v === 0n ? '' : `,"${name}":"${v}"`);

export function leaseGrantResponse(revision: number, info: HeaderInfo, id: bigint, ttl: number): string {
  return `{"header":${header({ revision }, info)}${int('ID', id)}${int('TTL', ttl)}}`;
}

export function leaseRevokeResponse(revision: number, info: HeaderInfo): string {
  return `{"header":${header({ revision }, info)}}`;
}

/** keys: the lease's keys, sorted, as latin1 byte strings. TTL -1: the lease does not exist. */
export function leaseTimeToLiveResponse(revision: number, info: HeaderInfo, id: bigint, ttl: number, grantedTtl: number, keys: string[], enc: BytesEncoding): string {
  let s = `{"header":${header({ revision }, info)}${int('ID', id)}${int('TTL', ttl)}${int('grantedTTL', grantedTtl)}`;
  if (keys.length) s += `,"keys":[${keys.map((k) => enc.json(k)).join(',')}]`;
  return s + '}';
}

export function leaseLeasesResponse(revision: number, info: HeaderInfo, ids: bigint[]): string {
  const h = `{"header":${header({ revision }, info)}`;
  return ids.length ? `${h},"leases":[${ids.map((id) => `{${int('ID', id).slice(1)}}`).join(',')}]}` : `${h}}`;
}

/** One answer line of a keep-alive stream. TTL 0 (left out): the lease does not exist. */
export function leaseKeepAliveLine(revision: number, info: HeaderInfo, id: bigint, ttl: number): string {
  return `{"result":{"header":${header({ revision }, info)}${int('ID', id)}${int('TTL', ttl)}}}\n`;
}
