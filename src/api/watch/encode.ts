import { EventType, type EventBatch, type WatchEvent } from '../../mvcc/watcher-group.ts';
import type { KeyValue } from '../../mvcc/types.ts';
import type { BytesEncoding } from '../json/bytes-encoding.ts';
import { header, kv, type HeaderInfo } from '../json/encode.ts';
import { varintSize } from '../json/proto-size.ts';

/**
 * etcdserverpb.WatchResponse in the gateway's JSON: fields in proto order (header, watch_id,
 * created, canceled, compact_revision, cancel_reason, fragment, events), defaults left out.
 */
export interface WatchResponseFields {
  revision: number;
  /** Decimal; '0' is left out, as every default is. */
  watchId: string;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
  fragment?: boolean;
  /** The events array, already encoded. */
  events?: string;
}

export function watchResponseJson(info: HeaderInfo, f: WatchResponseFields): string {
  let s = `{"header":${header({ revision: f.revision }, info)}`;
  if (f.watchId !== '0') s += `,"watch_id":"${f.watchId}"`;
  if (f.created) s += ',"created":true';
  if (f.canceled) s += ',"canceled":true';
  if (f.compactRevision) s += `,"compact_revision":"${f.compactRevision}"`;
  if (f.cancelReason) s += `,"cancel_reason":${JSON.stringify(f.cancelReason)}`;
  if (f.fragment) s += ',"fragment":true';
  if (f.events) s += `,"events":${f.events}`;
  return s + '}';
}

// gRPC's names for the codes a watch can be refused with, as etcd puts them in a cancel_reason.
const GRPC_CODE_NAMES: Record<number, string> = { 7: 'PermissionDenied', 16: 'Unauthenticated' };

/** An etcd error (gRPC code and message) as a refused watch's cancel_reason says it. */
export const watchCancelReason = (code: number, message: string): string => `rpc error: code = ${GRPC_CODE_NAMES[code] ?? code} desc = ${message}`;

/** grpc-gateway's form for an error in the middle of a stream: 8 (a client too slow to read) or 14 (shutdown). */
export function gatewayStreamError(reason: string, code: 8 | 14): string {
  const [status, text] = code === 8 ? [429, 'Too Many Requests'] : [503, 'Service Unavailable'];
  return `{"error":{"grpc_code":${code},"http_code":${status},"message":${JSON.stringify(reason)},"http_status":"${text}"}}\n`;
}

function eventJson(e: WatchEvent, withPrev: boolean, enc: BytesEncoding): string {
  let s = e.type === EventType.DELETE ? '{"type":"DELETE","kv":' : '{"kv":';
  s += kv(e.kv, enc);
  if (withPrev && e.prevKv) s += `,"prev_kv":${kv(e.prevKv, enc)}`;
  return s + '}';
}

export function eventsJson(events: WatchEvent[], withPrev: boolean, enc: BytesEncoding): string {
  let s = '[';
  for (let i = 0; i < events.length; i++) s += (i ? ',' : '') + eventJson(events[i], withPrev, enc);
  return s + ']';
}

/** The batch's events as JSON, encoded once per bytes encoding and shared by every watcher given the batch. */
export function batchEventsJson(batch: EventBatch, enc: BytesEncoding): string {
  const cache = (batch.cache ??= new Map());
  const key = `events:${enc.name}`;
  let s = cache.get(key) as string | undefined;
  if (s === undefined) cache.set(key, (s = eventsJson(batch.events, batch.withPrev, enc)));
  return s;
}

/**
 * A batch's bytes in one framing (a line, an SSE message), made once per distinct key: the key
 * names everything the bytes depend on (framing, watch id, revision, bytes encoding).
 */
export function batchBytes(batch: EventBatch, key: string, make: () => string): Buffer {
  const cache = (batch.cache ??= new Map());
  let b = cache.get(key) as Buffer | undefined;
  if (b === undefined) cache.set(key, (b = Buffer.from(make(), 'utf8')));
  return b;
}

// ---- protobuf sizes, for etcd's fragment rule (a response at or over the limit is split)

const field = (tagBytes: number, len: number) => tagBytes + varintSize(len) + len;

function kvSize(k: KeyValue): number {
  let n = 0;
  if (k.key.length) n += field(1, k.key.length);
  if (k.createRevision) n += 1 + varintSize(k.createRevision);
  if (k.modRevision) n += 1 + varintSize(k.modRevision);
  if (k.version) n += 1 + varintSize(k.version);
  if (k.value.length) n += field(1, k.value.length);
  if (k.lease !== 0n) n += 1 + varintSize(k.lease);
  return n;
}

function eventSize(e: WatchEvent, withPrev: boolean): number {
  let n = e.type !== EventType.PUT ? 2 : 0;
  n += field(1, kvSize(e.kv));
  if (withPrev && e.prevKv) n += field(1, kvSize(e.prevKv));
  return n;
}

function headerSize(info: HeaderInfo, revision: number): number {
  let n = 0;
  if (info.clusterId !== '0') n += 1 + varintSize(BigInt(info.clusterId));
  if (info.memberId !== '0') n += 1 + varintSize(BigInt(info.memberId));
  if (revision) n += 1 + varintSize(revision);
  if (info.raftTerm) n += 1 + varintSize(info.raftTerm);
  return n;
}

/** The size of a WatchResponse carrying `eventSizes` (plus watch_id and fragment), as gogoproto's Size(). */
function watchResponseSize(info: HeaderInfo, revision: number, watchId: string, fragment: boolean, eventSizes: number[]): number {
  let n = field(1, headerSize(info, revision));
  if (watchId !== '0') n += 1 + varintSize(BigInt(watchId));
  if (fragment) n += 2;
  for (const s of eventSizes) n += field(1, s);
  return n;
}

/**
 * etcd's sendFragments: a response under the limit, or with one event, goes whole; otherwise it is
 * cut into pieces, each filled until adding an event would reach the limit, all but the last
 * marked fragment. Returns the events of each piece.
 */
export function fragmentEvents(info: HeaderInfo, revision: number, watchId: string, events: WatchEvent[], withPrev: boolean, limit: number): WatchEvent[][] {
  const sizes = events.map((e) => eventSize(e, withPrev));
  if (events.length < 2 || watchResponseSize(info, revision, watchId, false, sizes) < limit) return [events];
  const pieces: WatchEvent[][] = [];
  let idx = 0;
  while (idx < events.length) {
    const cur: number[] = [];
    const start = idx;
    for (let i = idx; i < events.length; i++) {
      cur.push(sizes[i]);
      if (cur.length > 1 && watchResponseSize(info, revision, watchId, true, cur) >= limit) {
        cur.pop();
        break;
      }
      idx++;
    }
    pieces.push(events.slice(start, idx));
  }
  return pieces;
}
