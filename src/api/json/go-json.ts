/**
 * A JSON reader that fails the way Go's encoding/json Decoder does, because etcd's gateway
 * answers a malformed body with Go's error text. It reads one value and ignores what follows
 * (as Decoder.Decode does), keeps number and string tokens raw (protobuf's JSON rules need the
 * raw text), and lets the last of duplicate object keys win (as a Go map does).
 */

export const enum T {
  Obj,
  Arr,
  Str,
  Num,
  True,
  False,
  Null,
}

export type Node =
  | { t: T.Obj; fields: Map<string, Node> }
  | { t: T.Arr; items: Node[] }
  | { t: T.Str; raw: Uint8Array; start: number; end: number }
  | { t: T.Num; raw: string }
  | { t: T.True }
  | { t: T.False }
  | { t: T.Null };

export class JsonSyntaxError extends Error {}

/** Empty input (only whitespace): Go's Decoder reports io.EOF, which the gateway treats as {}. */
export const EMPTY = Symbol('empty');

const MAX_DEPTH = 1000;

function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  const esc: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };
  if (esc[c]) return `'${esc[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0x80 && c < 0xa0) return `'\\u00${c.toString(16).padStart(2, '0')}'`;
  if (c === 0xad) return "'\\u00ad'";
  return `'${String.fromCharCode(c)}'`;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

class Reader {
  i = 0;
  depth = 0;
  constructor(readonly b: Uint8Array) {}

  fail(c: number, context: string): never {
    throw new JsonSyntaxError(`invalid character ${quoteChar(c)} ${context}`);
  }

  eof(): never {
    throw new JsonSyntaxError('unexpected EOF');
  }

  skipSpace(): number {
    const b = this.b;
    while (this.i < b.length && isSpace(b[this.i])) this.i++;
    return this.i < b.length ? b[this.i] : -1;
  }

  value(context = 'looking for beginning of value'): Node {
    const c = this.skipSpace();
    if (c < 0) this.eof();
    switch (c) {
      case 0x7b:
        return this.object();
      case 0x5b:
        return this.array();
      case 0x22:
        return this.string();
      case 0x74:
        return this.literal('true', { t: T.True });
      case 0x66:
        return this.literal('false', { t: T.False });
      case 0x6e:
        return this.literal('null', { t: T.Null });
      default:
        if (c === 0x2d || isDigit(c)) return this.number();
        this.fail(c, context);
    }
  }

  private nest(): void {
    if (++this.depth > MAX_DEPTH) throw new JsonSyntaxError('exceeded max depth');
  }

  private object(): Node {
    this.nest();
    this.i++;
    const fields = new Map<string, Node>();
    let c = this.skipSpace();
    if (c < 0) this.eof();
    if (c === 0x7d) {
      this.i++;
      this.depth--;
      return { t: T.Obj, fields };
    }
    for (;;) {
      if (c !== 0x22) this.fail(c, 'looking for beginning of object key string');
      const key = this.string();
      c = this.skipSpace();
      if (c < 0) this.eof();
      if (c !== 0x3a) this.fail(c, 'after object key');
      this.i++;
      const v = this.value();
      fields.set(decodeString(key), v);
      c = this.skipSpace();
      if (c < 0) this.eof();
      if (c === 0x7d) {
        this.i++;
        this.depth--;
        return { t: T.Obj, fields };
      }
      if (c !== 0x2c) this.fail(c, 'after object key:value pair');
      this.i++;
      c = this.skipSpace();
      if (c < 0) this.eof();
    }
  }

  private array(): Node {
    this.nest();
    this.i++;
    const items: Node[] = [];
    let c = this.skipSpace();
    if (c < 0) this.eof();
    if (c === 0x5d) {
      this.i++;
      this.depth--;
      return { t: T.Arr, items };
    }
    for (;;) {
      items.push(this.value());
      c = this.skipSpace();
      if (c < 0) this.eof();
      if (c === 0x5d) {
        this.i++;
        this.depth--;
        return { t: T.Arr, items };
      }
      if (c !== 0x2c) this.fail(c, 'after array element');
      this.i++;
    }
  }

  private string(): { t: T.Str; raw: Uint8Array; start: number; end: number } {
    const b = this.b;
    const start = ++this.i;
    while (this.i < b.length) {
      const c = b[this.i];
      if (c === 0x22) {
        const node = { t: T.Str as const, raw: b, start, end: this.i };
        this.i++;
        return node;
      }
      if (c === 0x5c) {
        this.i++;
        if (this.i >= b.length) this.eof();
        const e = b[this.i];
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            if (this.i + k >= b.length) this.eof();
            const h = b[this.i + k];
            if (!(isDigit(h) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46))) {
              this.i += k;
              this.fail(h, 'in \\u hexadecimal character escape');
            }
          }
          this.i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) this.fail(e, 'in string escape code');
        this.i++;
        continue;
      }
      if (c < 0x20) this.fail(c, 'in string literal');
      this.i++;
    }
    this.eof();
  }

  private literal(word: string, node: Node): Node {
    const b = this.b;
    for (let k = 1; k < word.length; k++) {
      const at = this.i + k;
      if (at >= b.length) this.eof();
      if (b[at] !== word.charCodeAt(k)) {
        this.i = at;
        this.fail(b[at], `in literal ${word} (expecting ${quoteChar(word.charCodeAt(k))})`);
      }
    }
    this.i += word.length;
    return node;
  }

  private number(): Node {
    const b = this.b;
    const start = this.i;
    if (b[this.i] === 0x2d) {
      this.i++;
      if (this.i >= b.length) this.eof();
      if (!isDigit(b[this.i])) this.fail(b[this.i], 'in numeric literal');
    }
    if (b[this.i] === 0x30) this.i++;
    else while (this.i < b.length && isDigit(b[this.i])) this.i++;
    if (this.i < b.length && b[this.i] === 0x2e) {
      this.i++;
      if (this.i >= b.length) this.eof();
      if (!isDigit(b[this.i])) this.fail(b[this.i], 'after decimal point in numeric literal');
      while (this.i < b.length && isDigit(b[this.i])) this.i++;
    }
    if (this.i < b.length && (b[this.i] === 0x65 || b[this.i] === 0x45)) {
      this.i++;
      if (this.i < b.length && (b[this.i] === 0x2b || b[this.i] === 0x2d)) this.i++;
      if (this.i >= b.length) this.eof();
      if (!isDigit(b[this.i])) this.fail(b[this.i], 'in exponent of numeric literal');
      while (this.i < b.length && isDigit(b[this.i])) this.i++;
    }
    let raw = '';
    for (let k = start; k < this.i; k++) raw += String.fromCharCode(b[k]);
    return { t: T.Num, raw };
  }
}

/** Reads the first JSON value of body, as Go's json.Decoder.Decode would. */
export function parseGoJson(body: Uint8Array): Node | typeof EMPTY {
  const r = new Reader(body);
  if (r.skipSpace() < 0) return EMPTY;
  return r.value();
}

/**
 * Reads the first JSON value of a stream buffer and says where it ends, for request streams of
 * several values (Go's Decoder reading one after another). Throws like parseGoJson; running out
 * of bytes mid-value is 'unexpected EOF'.
 */
export function parseGoJsonPrefix(buf: Uint8Array): { node: Node; end: number } | typeof EMPTY {
  const r = new Reader(buf);
  if (r.skipSpace() < 0) return EMPTY;
  const node = r.value();
  return { node, end: r.i };
}

/**
 * json.Unmarshal's view of a complete text: exactly one value, then only space. Its errors differ
 * from the Decoder's: running out is "unexpected end of JSON input".
 */
export function parseWhole(text: Uint8Array): Node {
  const r = new Reader(text);
  try {
    if (r.skipSpace() < 0) throw new JsonSyntaxError('unexpected end of JSON input');
    const v = r.value();
    const c = r.skipSpace();
    if (c >= 0) throw new JsonSyntaxError(`invalid character ${quoteChar(c)} after top-level value`);
    return v;
  } catch (e) {
    if (e instanceof JsonSyntaxError && e.message === 'unexpected EOF') throw new JsonSyntaxError('unexpected end of JSON input');
    throw e;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The string's value: escapes resolved, bad UTF-8 and lone surrogates as U+FFFD (Go's rules). */
export function decodeString(s: { raw: Uint8Array; start: number; end: number }): string {
  const { raw, start, end } = s;
  let simple = true;
  for (let k = start; k < end; k++) {
    if (raw[k] === 0x5c) {
      simple = false;
      break;
    }
  }
  if (simple) return utf8.decode(raw.subarray(start, end));
  let out = '';
  let seg = start;
  let k = start;
  while (k < end) {
    if (raw[k] !== 0x5c) {
      k++;
      continue;
    }
    out += utf8.decode(raw.subarray(seg, k));
    const e = raw[k + 1];
    if (e === 0x75) {
      let cu = parseInt(String.fromCharCode(...raw.subarray(k + 2, k + 6)), 16);
      k += 6;
      if (cu >= 0xd800 && cu < 0xdc00) {
        // A high surrogate needs a low one right after it; otherwise it stands for U+FFFD.
        if (raw[k] === 0x5c && raw[k + 1] === 0x75) {
          const lo = parseInt(String.fromCharCode(...raw.subarray(k + 2, k + 6)), 16);
          if (lo >= 0xdc00 && lo < 0xe000) {
            out += String.fromCharCode(cu, lo);
            k += 6;
            seg = k;
            continue;
          }
        }
        cu = 0xfffd;
      } else if (cu >= 0xdc00 && cu < 0xe000) cu = 0xfffd;
      out += String.fromCharCode(cu);
    } else {
      out += ({ 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' } as Record<number, string>)[e];
      k += 2;
    }
    seg = k;
  }
  return out + utf8.decode(raw.subarray(seg, end));
}

/** The string's bytes after resolving escapes, as UTF-8: what Go hands to base64. */
export function stringBytes(s: { raw: Uint8Array; start: number; end: number }): Uint8Array {
  for (let k = s.start; k < s.end; k++) {
    if (s.raw[k] === 0x5c || s.raw[k] >= 0x80) return Buffer.from(decodeString(s), 'utf8');
  }
  return s.raw.subarray(s.start, s.end);
}

/** A JSON string whose \u escapes stand for a lone UTF-16 surrogate: no bytes can say that. */
export class LoneSurrogateError extends Error {}

const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9 };

/**
 * The string's bytes exactly as sent, escapes resolved (\u escapes as UTF-8), as a latin1 byte
 * string. Unlike decodeString nothing is replaced: raw bytes that are not UTF-8 stay what they
 * are, so a text-encoded bytes field loses nothing.
 */
export function stringRawBytes(s: { raw: Uint8Array; start: number; end: number }): string {
  const { raw, end } = s;
  let out = '';
  let seg = s.start;
  let k = s.start;
  const flush = (to: number) => {
    for (let i = seg; i < to; i++) out += String.fromCharCode(raw[i]);
  };
  while (k < end) {
    if (raw[k] !== 0x5c) {
      k++;
      continue;
    }
    flush(k);
    const e = raw[k + 1];
    if (e !== 0x75) {
      out += String.fromCharCode(SIMPLE_ESCAPES[e]);
      k += 2;
    } else {
      let cp = parseInt(String.fromCharCode(...raw.subarray(k + 2, k + 6)), 16);
      k += 6;
      if (cp >= 0xd800 && cp < 0xdc00 && raw[k] === 0x5c && raw[k + 1] === 0x75) {
        const lo = parseInt(String.fromCharCode(...raw.subarray(k + 2, k + 6)), 16);
        if (lo >= 0xdc00 && lo < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          k += 6;
        }
      }
      if (cp >= 0xd800 && cp < 0xe000) throw new LoneSurrogateError(`\\u${cp.toString(16).padStart(4, '0')}`);
      out += Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
    }
    seg = k;
  }
  flush(end);
  return out;
}
