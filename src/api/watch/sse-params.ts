import type { Context } from 'hono';
import { FilterType } from '../../mvcc/watcher-group.ts';
import { bytesEncodingNamed, type BytesEncoding } from '../json/bytes-encoding.ts';
import { emptyRange, watchRange } from './gateway-session.ts';
import type { SseWatchSpec } from './sse-session.ts';

/** A query parameter GET /v3/watch/sse cannot use; answered 400 with code 3. */
export class ParamError extends Error {}

export interface SseParams extends SseWatchSpec {
  heartbeatMs?: number;
  retryMs?: number;
  /** How the answers write keys and values (the same as the query's key parameters). */
  enc: BytesEncoding;
}

/**
 * A query parameter's bytes, percent-escapes decoded byte by byte (so %FF is the byte 0xFF, not
 * U+FFFD), '+' a space: text-mode keys that are not UTF-8 lose nothing either.
 */
function rawQueryBytes(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let found: string | undefined;
  for (const pair of url.slice(q + 1).split('#')[0].split('&')) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    if (percentBytes(k) !== name) continue;
    found ??= percentBytes(eq < 0 ? '' : pair.slice(eq + 1));
  }
  return found;
}

function percentBytes(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '+') out += ' ';
    else if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += Buffer.from(c, 'utf8').toString('latin1');
  }
  return out;
}

/** The range_end that covers every key starting with prefix (etcd's GetPrefixRangeEnd). */
function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return '';
}

/** A bytes query parameter: base64 (a '+' that arrived as a space, or the URL-safe alphabet, too), or with encoding=text percent-encoded bytes. */
export function bytesParam(c: Context, enc: BytesEncoding, name: string): string | undefined {
  if (enc.name === 'text') return rawQueryBytes(c.req.url, name);
  const v = c.req.query(name);
  if (v === undefined) return undefined;
  const s = v.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.replace(/=+$/, '').length % 4 === 1) throw new ParamError(`illegal base64 data in ${name}`);
  return Buffer.from(s, 'base64').toString('latin1');
}

/** The Last-Event-ID an EventSource sends when it reconnects (or last_event_id in the query). */
export function lastEventId(c: Context): number | undefined {
  const last = c.req.header('last-event-id') ?? c.req.query('last_event_id');
  if (last === undefined || last === '') return undefined;
  if (!/^\d+$/.test(last)) throw new ParamError(`invalid Last-Event-ID "${last}"`);
  return Number(last);
}

/**
 * Query parameters of GET /v3/watch/sse. Keys are base64 as in the gateway, or with encoding=text
 * percent-encoded bytes (plain text for UTF-8 keys), and the answers then use the text encoding.
 */
export function sseParams(c: Context): SseParams {
  const q = (name: string) => c.req.query(name);
  const encoding = q('encoding');
  const enc = bytesEncodingNamed(encoding);
  if (!enc) throw new ParamError(`invalid encoding "${encoding}": want base64 or text`);
  const bytes = (name: string) => bytesParam(c, enc, name);
  const bool = (name: string, alias?: string): boolean => {
    const v = q(name) ?? (alias ? q(alias) : undefined);
    if (v === undefined) return false;
    if (v === '' || v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new ParamError(`invalid ${name} "${v}": want true or false`);
  };
  const int = (name: string, min: number): number | undefined => {
    const v = q(name);
    if (v === undefined || v === '') return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) throw new ParamError(`invalid ${name} "${v}"`);
    return Number(v);
  };

  let key: string;
  let end: string | undefined;
  const prefix = bytes('prefix');
  if (prefix !== undefined) {
    key = prefix === '' ? '\0' : prefix;
    end = prefix === '' ? '' : prefixEnd(prefix);
  } else {
    const k = bytes('key');
    if (k === undefined) throw new ParamError('etcdserver: key is not provided');
    ({ key, end } = watchRange(k, bytes('range_end') ?? ''));
  }
  if (emptyRange(key, end)) throw new ParamError('mvcc: watcher range is empty');

  const filters: number[] = [];
  for (const raw of c.req.queries('filters') ?? []) {
    for (const f of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const n = f in FilterType ? FilterType[f as keyof typeof FilterType] : /^\d+$/.test(f) ? Number(f) : NaN;
      if (Number.isNaN(n)) throw new ParamError(`unknown value "${f}" for enum etcdserverpb.WatchCreateRequest_FilterType`);
      filters.push(n);
    }
  }

  let startRev = int('start_revision', 0) ?? 0;
  const last = lastEventId(c);
  if (last !== undefined) startRev = last + 1;
  return {
    key,
    end,
    startRev,
    prevKv: bool('prev_kv'),
    filters,
    progressNotify: bool('progress_notify', 'progress'),
    heartbeatMs: int('heartbeat', 100),
    retryMs: int('retry', 0),
    enc,
  };
}
