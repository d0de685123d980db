/** How a request message's JSON maps to its decoded object: the descriptors both decoders read. */

export type Scalar = 'bytes' | 'string' | 'bool' | 'int64' | 'uint64' | 'int32' | 'int64n' | 'uint64n';

export interface EnumDesc {
  goName: string;
  values: Record<string, number>;
}

export interface MessageDesc {
  goName: string;
  fields: FieldDesc[];
}

export type Kind = Scalar | { enum: EnumDesc } | { message: () => MessageDesc } | { repeated: Kind };

export interface FieldDesc {
  /** The proto field name; its lowerCamelCase form is derived. */
  name: string;
  /** Property name in the decoded object (defaults to the camelCase name). */
  prop?: string;
  kind: Kind;
  oneof?: boolean;
}

const camelCache = new Map<string, string>();
/** lowerCamelCase of a proto field name, as protoc's json_name (cached: it sits on every decode). */
export const camel = (s: string): string => {
  let c = camelCache.get(s);
  if (c === undefined) {
    c = s.replace(/_([a-z0-9])/g, (_m, x: string) => x.toUpperCase());
    camelCache.set(s, c);
  }
  return c;
};
