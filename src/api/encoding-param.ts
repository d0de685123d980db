import type { Context } from 'hono';
import { EtcdError } from './etcd-errors.ts';
import { BASE64, bytesEncodingNamed, type BytesEncoding } from './json/bytes-encoding.ts';

/**
 * The bytes encoding a request asks for with ?encoding=base64|text (any gateway route). Without a
 * query string, the common case, nothing is parsed. An unknown name is refused rather than
 * ignored: a client asking for text must not get base64 it would take for text.
 */
export function bytesEncodingOf(c: Context): BytesEncoding {
  if (c.req.url.indexOf('?') < 0) return BASE64;
  const name = c.req.query('encoding');
  const enc = bytesEncodingNamed(name);
  if (!enc) throw new EtcdError(3, `invalid encoding "${name}": want base64 or text`);
  return enc;
}
