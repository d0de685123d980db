import { BASE64, BytesFieldError, type BytesEncoding } from './bytes-encoding.ts';
import { fastDecode } from './fast-decode.ts';
import { camel, type FieldDesc, type Kind, type MessageDesc } from './message-desc.ts';
import { decodeString, EMPTY, JsonSyntaxError, parseGoJson, parseWhole, T, type Node } from './go-json.ts';

/**
 * Decodes gateway request bodies the way grpc-gateway's jsonpb (golang/protobuf 1.3) does:
 * snake_case or lowerCamelCase names (camelCase wins when both appear), unknown fields ignored,
 * int64 as numbers or strings, bytes as base64 (or in edgecd's text encoding), enums by name or number, null as the default,
 * plain fields in declaration order, then oneof members. Errors carry Go's text.
 */

export class DecodeError extends Error {}

export type { EnumDesc, FieldDesc, Kind, MessageDesc, Scalar } from './message-desc.ts';

const typeName = (n: Node): string =>
  n.t === T.Obj ? 'object' : n.t === T.Arr ? 'array' : n.t === T.Str ? 'string' : n.t === T.Num ? 'number' : 'bool';

const cannot = (what: string, goType: string) => new DecodeError(`json: cannot unmarshal ${what} into Go value of type ${goType}`);

const LIMITS = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
} as const;

/** strconv.ParseInt / ParseUint on a JSON number token, as encoding/json applies it. */
function parseInteger(raw: string, goType: keyof typeof LIMITS): bigint {
  if (!/^-?\d+$/.test(raw)) throw cannot(`number ${raw}`, goType);
  const v = BigInt(raw);
  const [lo, hi] = LIMITS[goType];
  if (v < lo || v > hi || (goType === 'uint64' && raw.startsWith('-'))) throw cannot(`number ${raw}`, goType);
  return v;
}

/** json.Unmarshal of a quoted number's inner text (jsonpb strips the quotes and retries). */
function unmarshalIntegerText(text: Uint8Array, goType: 'int64' | 'uint64' | 'int32'): bigint {
  let node: Node;
  try {
    node = parseWhole(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new DecodeError(e.message);
    throw e;
  }
  return integerFrom(node, goType, false);
}

function integerFrom(n: Node, goType: 'int64' | 'uint64' | 'int32', quotedAllowed: boolean): bigint {
  switch (n.t) {
    case T.Num:
      return parseInteger(n.raw, goType);
    case T.Str:
      if (quotedAllowed) return unmarshalIntegerText(n.raw.subarray(n.start, n.end), goType);
      throw cannot('string', goType);
    case T.Null:
      return 0n;
    default:
      throw cannot(typeName(n), goType);
  }
}

function bytesFrom(n: Node, enc: BytesEncoding): string {
  try {
    return enc.read(n);
  } catch (e) {
    if (e instanceof BytesFieldError) throw new DecodeError(e.message);
    throw e;
  }
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function decodeKind(n: Node, kind: Kind, enc: BytesEncoding): unknown {
  if (typeof kind === 'string') {
    switch (kind) {
      case 'bytes':
        return bytesFrom(n, enc);
      case 'string':
        if (n.t === T.Str) return decodeString(n);
        if (n.t === T.Null) return '';
        throw cannot(typeName(n), 'string');
      case 'bool':
        if (n.t === T.True) return true;
        if (n.t === T.False || n.t === T.Null) return false;
        throw cannot(typeName(n), 'bool');
      case 'int64':
      case 'uint64':
      case 'int32':
        return Number(integerFrom(n, kind, true));
      case 'int64n':
        return integerFrom(n, 'int64', true);
      case 'uint64n':
        return integerFrom(n, 'uint64', true);
    }
  }
  if ('enum' in kind) {
    if (n.t === T.Str) {
      const name = decodeString(n);
      const v = kind.enum.values[name];
      if (v === undefined) throw new DecodeError(`unknown value ${goQuote(name)} for enum ${kind.enum.goName}`);
      return v;
    }
    return Number(integerFrom(n, 'int32', false));
  }
  if ('message' in kind) {
    if (n.t === T.Null) return undefined;
    return decodeMessage(n, kind.message(), enc);
  }
  if (n.t === T.Null) return [];
  if (n.t !== T.Arr) throw cannot(typeName(n), '[]json.RawMessage');
  return n.items.map((item) => decodeKind(item, kind.repeated, enc));
}

function defaultOf(kind: Kind): unknown {
  if (typeof kind === 'string') {
    if (kind === 'bytes' || kind === 'string') return '';
    if (kind === 'bool') return false;
    if (kind === 'int64n' || kind === 'uint64n') return 0n;
    return 0;
  }
  if ('enum' in kind) return 0;
  if ('message' in kind) return undefined;
  return [];
}

export function decodeMessage(n: Node, desc: MessageDesc, enc: BytesEncoding = BASE64): Record<string, unknown> {
  if (n.t !== T.Obj) throw cannot(typeName(n), 'map[string]json.RawMessage');
  const out: Record<string, unknown> = {};
  for (const f of desc.fields) if (!f.oneof) out[f.prop ?? camel(f.name)] = defaultOf(f.kind);
  const take = (f: FieldDesc): Node | undefined => {
    const c = camel(f.name);
    const v = n.fields.get(c) ?? n.fields.get(f.name);
    return v;
  };
  for (const f of desc.fields) {
    if (f.oneof) continue;
    const v = take(f);
    if (v !== undefined) out[f.prop ?? camel(f.name)] = decodeKind(v, f.kind, enc);
  }
  for (const f of desc.fields) {
    if (!f.oneof) continue;
    const v = take(f);
    if (v === undefined) continue;
    // A oneof member given as null still selects that member, with an empty value.
    const isMessage = typeof f.kind === 'object' && 'message' in f.kind;
    out[f.prop ?? camel(f.name)] = v.t === T.Null && isMessage ? decodeKind({ t: T.Obj, fields: new Map() }, f.kind, enc) : decodeKind(v, f.kind, enc);
  }
  return out;
}

/** Parses and decodes a request body; an empty body is the empty message. */
export function decodeBody<R>(body: Uint8Array, desc: MessageDesc, enc: BytesEncoding = BASE64): R {
  return (fastDecode(body, desc, enc) ?? exactDecodeBody(body, desc, enc)) as R;
}

/** decodeBody by Go's rules alone, without the shortcut. */
export function exactDecodeBody<R>(body: Uint8Array, desc: MessageDesc, enc: BytesEncoding = BASE64): R {
  let node: Node | typeof EMPTY;
  try {
    node = parseGoJson(body);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new DecodeError(e.message);
    throw e;
  }
  if (node === EMPTY || node.t === T.Null) node = { t: T.Obj, fields: new Map() };
  return decodeMessage(node, desc, enc) as R;
}
