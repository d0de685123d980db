import type { Bytes } from '../mvcc/types.ts';
import type { Permission, Role, SharedJwtKey, User } from './types.ts';

/**
 * The whole auth state as plain JSON: what the member persists in its tables and ships inside a
 * raft snapshot. Keys and range ends are base64 here, not latin1 strings: range ends are often
 * "\0", and Postgres text and jsonb refuse U+0000. Lists are sorted as the store keeps them, so two
 * stores in the same state give the same JSON.
 */
export interface AuthSnapshot {
  version: 1;
  enabled: boolean;
  revision: number;
  users: User[];
  roles: SnapshotRole[];
  tokenKey?: SharedJwtKey;
}

export interface SnapshotPermission {
  permType: number;
  /** base64 of the latin1 bytes */
  key: string;
  /** base64 of the latin1 bytes; '' when the permission is a single key */
  rangeEnd: string;
}

export interface SnapshotRole {
  name: string;
  keyPermission: SnapshotPermission[];
}

// btoa/atob map latin1 chars to bytes one to one, and exist on every runtime the edge code targets.
const toB64 = (b: Bytes) => btoa(b);
const fromB64 = (s: string) => atob(s);

export function roleToSnapshot(r: Role): SnapshotRole {
  return { name: r.name, keyPermission: r.keyPermission.map((p) => ({ permType: p.permType, key: toB64(p.key), rangeEnd: toB64(p.rangeEnd) })) };
}

export function roleFromSnapshot(r: SnapshotRole): Role {
  return { name: r.name, keyPermission: r.keyPermission.map((p): Permission => ({ permType: p.permType, key: fromB64(p.key), rangeEnd: fromB64(p.rangeEnd) })) };
}

export function emptyAuthSnapshot(): AuthSnapshot {
  // etcd's NewAuthStore commits revision 1 on a fresh backend: the first change makes it 2.
  return { version: 1, enabled: false, revision: 1, users: [], roles: [] };
}
