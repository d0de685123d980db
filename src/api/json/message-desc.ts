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
