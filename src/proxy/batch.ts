import { TEXT, type BytesEncoding } from '../api/json/bytes-encoding.ts';
import { kv } from '../api/json/encode.ts';
import type { KeyValue } from '../mvcc/types.ts';
import type { UpstreamEvent, UpstreamKv, UpstreamWatchResponse } from './upstream.ts';

/**
 * One upstream watch response with events, as the proxy keeps it (in memory and in the Redis event
 * log). `from` is a fact about the cluster, not about any store: the range had no event in
 * (from, minRev). So batches chain into a gap-free history when each one's `from` is at or below
 * the previous one's `rev`, whoever wrote them and whatever was trimmed.
 */
export interface LogBatch {
  /** The highest mod_revision of its events: every event of the range up to rev is in or before it. */
  rev: number;
  /** The lowest mod_revision of its events. */
  minRev: number;
  from: number;
  /** The WatchResponse as the member wrote it (base64 bytes): {"header":…,"events":[…]}. */
  data: string;
  events: UpstreamEvent[];
  /** Encoded forms (SSE messages per bytes encoding, gateway lines per watch id), made once and shared by every subscriber. */
  bytes?: Map<string, Buffer>;
  /** The events array per bytes encoding, for answers that join several batches. */
  texts?: Map<string, string>;
}

const num = (s: string | undefined): number => (s ? Number(s) : 0);

/** A batch from a watch response with events; undefined when it has none. */
export function batchOf(r: UpstreamWatchResponse, from: number): LogBatch | undefined {
  const events = r.events;
  if (!events || events.length === 0) return undefined;
  let rev = 0;
  let minRev = Infinity;
  for (const e of events) {
    const m = num(e.kv?.mod_revision);
    if (m > rev) rev = m;
    if (m < minRev) minRev = m;
  }
  const data = JSON.stringify({ header: r.header ?? {}, events });
  return { rev, minRev, from: Math.min(from, minRev - 1), data, events };
}

/** A batch read back from its stored form. */
export function batchFromStored(rev: number, from: number, data: string): LogBatch {
  const r = JSON.parse(data) as UpstreamWatchResponse;
  const b = batchOf(r, from)!;
  b.rev = rev;
  return b;
}

/** The part of b after revision `after` (b itself when all of it is). */
export function sliceAfter(b: LogBatch, after: number): LogBatch | undefined {
  if (b.minRev > after) return b;
  if (b.rev <= after) return undefined;
  const r = JSON.parse(b.data) as UpstreamWatchResponse;
  return batchOf({ header: r.header, events: b.events.filter((e) => num(e.kv?.mod_revision) > after) }, after);
}

const bytesOf = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('latin1') : '');

function keyValue(k: UpstreamKv): KeyValue {
  return {
    key: bytesOf(k.key),
    createRevision: num(k.create_revision),
    modRevision: num(k.mod_revision),
    version: num(k.version),
    value: bytesOf(k.value),
    lease: k.lease ? BigInt(k.lease) : 0n,
  };
}

/** The WatchResponse JSON with keys and values in another bytes encoding (text). */
function dataIn(b: LogBatch, enc: BytesEncoding): string {
  const header = b.data.slice(b.data.indexOf(':') + 1, b.data.indexOf(',"events":'));
  let s = '[';
  b.events.forEach((e, i) => {
    s += `${i ? ',' : ''}{${e.type === 'DELETE' ? '"type":"DELETE",' : ''}"kv":${kv(keyValue(e.kv ?? {}), enc)}`;
    if (e.prev_kv) s += `,"prev_kv":${kv(keyValue(e.prev_kv), enc)}`;
    s += '}';
  });
  return `{"header":${header},"events":${s}]}`;
}

/** The batch as one SSE message (`id:` its revision), encoded once per bytes encoding. */
export function sseBytes(b: LogBatch, enc: BytesEncoding): Buffer {
  const cache = (b.bytes ??= new Map());
  let buf = cache.get(enc.name);
  if (!buf) {
    const data = enc === TEXT || enc.name === 'text' ? dataIn(b, enc) : b.data;
    cache.set(enc.name, (buf = Buffer.from(`id: ${b.rev}\ndata: ${data}\n\n`, 'utf8')));
  }
  return buf;
}

/** The batch's events as a JSON array in a bytes encoding (made once per encoding). */
export function eventsJsonIn(b: LogBatch, enc: BytesEncoding): string {
  const key = `events|${enc.name}`;
  const cache = (b.texts ??= new Map());
  let s = cache.get(key);
  if (s === undefined) {
    const data = enc.name === 'text' ? dataIn(b, enc) : b.data;
    cache.set(key, (s = data.slice(data.indexOf(',"events":') + 10, -1)));
  }
  return s;
}

/**
 * The batch as one line of a gateway watch stream for watcher `id`: {"result":WatchResponse} with
 * the member's header and events, watch_id as the member writes it (left out when 0). Made once per
 * (watch id, encoding) and shared by every stream that gets it (most watchers are id 0).
 */
export function gatewayLine(b: LogBatch, id: string, enc: BytesEncoding): Buffer {
  const key = `gw|${id}|${enc.name}`;
  const cache = (b.bytes ??= new Map());
  let buf = cache.get(key);
  if (!buf) {
    const data = enc.name === 'text' ? dataIn(b, enc) : b.data;
    const at = data.indexOf(',"events":');
    const line = id === '0' ? data : `${data.slice(0, at)},"watch_id":"${id}"${data.slice(at)}`;
    cache.set(key, (buf = Buffer.from(`{"result":${line}}\n`, 'utf8')));
  }
  return buf;
}
