import type { MemberRow } from '../../server/member.ts';
import { header, type HeaderInfo } from './encode.ts';

/** etcdserverpb's Cluster and Maintenance responses in the gateway's JSON (proto order, defaults left out). */

function member(m: MemberRow): string {
  let s = `{"ID":"${m.id}"`;
  if (m.name) s += `,"name":${JSON.stringify(m.name)}`;
  if (m.peerUrls.length) s += `,"peerURLs":${JSON.stringify(m.peerUrls)}`;
  if (m.clientUrls.length) s += `,"clientURLs":${JSON.stringify(m.clientUrls)}`;
  if (m.isLearner) s += ',"isLearner":true';
  return s + '}';
}

const members = (ms: MemberRow[]) => `[${ms.map(member).join(',')}]`;

/** MemberList, MemberRemove, MemberUpdate and MemberPromote answer alike. */
export function membersResponse(revision: number, info: HeaderInfo, ms: MemberRow[]): string {
  return `{"header":${header({ revision }, info)},"members":${members(ms)}}`;
}

export function memberAddResponse(revision: number, info: HeaderInfo, added: MemberRow, ms: MemberRow[]): string {
  return `{"header":${header({ revision }, info)},"member":${member(added)},"members":${members(ms)}}`;
}

export interface StatusFields {
  version: string;
  dbSize: number;
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSizeInUse: number;
  isLearner: boolean;
  /** Raised alarms, one line each (etcd's AlarmMember text). */
  errors?: string[];
}

export function statusResponse(revision: number, info: HeaderInfo, f: StatusFields): string {
  let s = `{"header":${header({ revision }, info)}`;
  if (f.version) s += `,"version":${JSON.stringify(f.version)}`;
  if (f.dbSize) s += `,"dbSize":"${f.dbSize}"`;
  if (f.leader) s += `,"leader":"${f.leader}"`;
  if (f.raftIndex) s += `,"raftIndex":"${f.raftIndex}"`;
  if (f.raftTerm) s += `,"raftTerm":"${f.raftTerm}"`;
  if (f.raftAppliedIndex) s += `,"raftAppliedIndex":"${f.raftAppliedIndex}"`;
  if (f.errors?.length) s += `,"errors":${JSON.stringify(f.errors)}`;
  if (f.dbSizeInUse) s += `,"dbSizeInUse":"${f.dbSizeInUse}"`;
  if (f.isLearner) s += ',"isLearner":true';
  return s + '}';
}

/** etcd 3.4 answers a leadership transfer with an empty MoveLeaderResponse: no header at all. */
export function moveLeaderResponse(): string {
  return '{}';
}

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];

/** etcd 3.4's gateway answers an alarm request with no header at all, only the alarms. */
export function alarmResponse(alarms: { memberID: bigint; alarm: number }[]): string {
  if (alarms.length === 0) return '{}';
  // jsonpb leaves zero values out: an alarm of type NONE (which etcd stores when asked) has no "alarm".
  const one = (a: { memberID: bigint; alarm: number }) =>
    [a.memberID !== 0n ? `"memberID":"${a.memberID}"` : '', a.alarm !== 0 ? `"alarm":"${ALARM_NAMES[a.alarm] ?? a.alarm}"` : ''].filter(Boolean).join(',');
  return `{"alarms":[${alarms.map((a) => `{${one(a)}}`).join(',')}]}`;
}

/** A uint32 hash is a JSON number in jsonpb (only 64-bit integers are strings). */
export function hashResponse(revision: number, info: HeaderInfo, hash: number, compactRevision?: number): string {
  let s = `{"header":${header({ revision }, info)}`;
  if (hash) s += `,"hash":${hash}`;
  if (compactRevision !== undefined && compactRevision > 0) s += `,"compact_revision":"${compactRevision}"`;
  return s + '}';
}
