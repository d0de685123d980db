import { Base64Error, decodeBase64 } from './go-base64.ts';
import { LoneSurrogateError, stringBytes, stringRawBytes, T, type Node } from './go-json.ts';

/**
 * How a request's and an answer's bytes fields (keys, values, range ends, compare values, lease
 * keys, ...) are written in JSON. Bytes are held as latin1 strings: one char per byte.
 *
 * - base64 (etcd's gateway, the default): standard base64 strings.
 * - text (?encoding=text, edgecd's own, after etcd-io/etcd#9428): bytes that are valid UTF-8 are a
 *   plain JSON string; bytes that are not are an object {"base64": "<standard base64>"}. A client
 *   tells the two apart by the JSON type alone, and nothing is lost. Requests take both forms; a
 *   string stands for its bytes exactly as sent (escapes resolved, \u escapes as UTF-8).
 */
export interface BytesEncoding {
  readonly name: 'base64' | 'text';
  /** The JSON value of a bytes field. */
  json(bytes: string): string;
  /** A request's bytes field (null is empty). Throws BytesFieldError with Go's text where Go has one. */
  read(n: Node): string;
}

/** A bytes field that cannot be read: Go's text for base64 mode, edgecd's for text mode. */
export class BytesFieldError extends Error {}

const typeName = (n: Node): string =>
  n.t === T.Obj ? 'object' : n.t === T.Arr ? 'array' : n.t === T.Str ? 'string' : n.t === T.Num ? 'number' : 'bool';

function base64Of(n: Node & { t: T.Str }): string {
  try {
    return decodeBase64(stringBytes(n));
  } catch (e) {
    if (e instanceof Base64Error) throw new BytesFieldError(e.message);
    throw e;
  }
}

/** encoding/json reads a JSON array of numbers 0-255 into []byte too. */
function arrayBytes(n: Node & { t: T.Arr }): string {
  let s = '';
  for (const item of n.items) {
    if (item.t === T.Null) s += '\0';
    else if (item.t === T.Num && /^\d+$/.test(item.raw) && Number(item.raw) <= 255) s += String.fromCharCode(Number(item.raw));
    else throw new BytesFieldError(item.t === T.Num ? `json: cannot unmarshal number ${item.raw} into Go value of type uint8` : `json: cannot unmarshal ${typeName(item)} into Go value of type uint8`);
  }
  return s;
}

export const BASE64: BytesEncoding = {
  name: 'base64',
  json: (bytes) => `"${Buffer.from(bytes, 'latin1').toString('base64')}"`,
  read(n) {
    if (n.t === T.Str) return base64Of(n);
    if (n.t === T.Arr) return arrayBytes(n);
    if (n.t === T.Null) return '';
    throw new BytesFieldError(`json: cannot unmarshal ${typeName(n)} into Go value of type []uint8`);
  },
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function textJson(bytes: string): string {
  let plain = true;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      plain = false;
      break;
    }
  }
  // Printable ASCII needs no escaping: nearly every key and most values.
  if (plain) return `"${bytes}"`;
  const buf = Buffer.from(bytes, 'latin1');
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    return `{"base64":"${buf.toString('base64')}"}`;
  }
  return JSON.stringify(text);
}

const TEXT_FORMS = 'want a string, or {"base64": "..."} for bytes that are not UTF-8';

export const TEXT: BytesEncoding = {
  name: 'text',
  json: textJson,
  read(n) {
    switch (n.t) {
      case T.Str:
        try {
          return stringRawBytes(n);
        } catch (e) {
          if (e instanceof LoneSurrogateError) throw new BytesFieldError(`invalid text-encoded bytes: the escape ${e.message} is half a UTF-16 surrogate pair, which has no UTF-8 form`);
          throw e;
        }
      case T.Obj: {
        const b = n.fields.get('base64');
        if (n.fields.size !== 1 || !b || b.t !== T.Str) throw new BytesFieldError(`invalid text-encoded bytes: ${TEXT_FORMS}`);
        return base64Of(b);
      }
      case T.Arr:
        return arrayBytes(n);
      case T.Null:
        return '';
      default:
        throw new BytesFieldError(`invalid text-encoded bytes: ${TEXT_FORMS}, not a ${typeName(n)}`);
    }
  },
};

/** The encoding a request asks for in its query (?encoding=base64|text); base64 without one. */
export function bytesEncodingNamed(name: string | undefined): BytesEncoding | undefined {
  if (name === undefined || name === 'base64') return BASE64;
  if (name === 'text') return TEXT;
  return undefined;
}
