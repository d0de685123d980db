import type { BytesEncoding } from './bytes-encoding.ts';
import { header, type HeaderInfo } from './encode.ts';

/** etcdserverpb's Auth responses in the gateway's JSON (defaults left out, as jsonpb does). */

const PERM_NAMES = ['READ', 'WRITE', 'READWRITE'];

export interface AuthAnswerFields {
  token?: string;
  roles?: string[];
  users?: string[];
  perm?: { permType: number; key: string; rangeEnd: string }[];
  enabled?: boolean;
  authRevision?: number;
}

export function authResponse(revision: number, info: HeaderInfo, f: AuthAnswerFields, enc: BytesEncoding): string {
  let s = `{"header":${header({ revision }, info)}`;
  if (f.enabled) s += ',"enabled":true';
  if (f.authRevision) s += `,"authRevision":"${f.authRevision}"`;
  if (f.token) s += `,"token":${JSON.stringify(f.token)}`;
  if (f.roles?.length) s += `,"roles":${JSON.stringify(f.roles)}`;
  if (f.users?.length) s += `,"users":${JSON.stringify(f.users)}`;
  if (f.perm?.length) {
    const perms = f.perm.map((p) => {
      const parts: string[] = [];
      // An unknown type is kept as its number, as jsonpb writes an enum value it has no name for.
      if (p.permType !== 0) parts.push(`"permType":${PERM_NAMES[p.permType] ? `"${PERM_NAMES[p.permType]}"` : p.permType}`);
      if (p.key) parts.push(`"key":${enc.json(p.key)}`);
      if (p.rangeEnd) parts.push(`"range_end":${enc.json(p.rangeEnd)}`);
      return `{${parts.join(',')}}`;
    });
    s += `,"perm":[${perms.join(',')}]`;
  }
  return s + '}';
}
