import type { Hono } from 'hono';
import { memberIdFor } from '../../server/cluster-ids.ts';
import { Errors, EtcdError } from '../../errors.ts';
import type { Member, MemberRow } from '../../server/member.ts';
import { header } from '../json/encode.ts';
import {
  MemberAddRequestDesc,
  MemberIdRequestDesc,
  MemberListRequestDesc,
  MemberUpdateRequestDesc,
  MoveLeaderRequestDesc,
  StatusRequestDesc,
} from '../json/cluster-messages.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import { VERSION } from '../version.ts';

export interface ClusterRouteOptions {
  clusterToken: string;
  /** Asks the leader to promote a learner (only the leader can judge whether it caught up). */
  promoteOnLeader(id: bigint): Promise<void>;
  dbSize(): Promise<number>;
}

function memberJson(m: MemberRow): string {
  const parts = [`"ID":"${m.id}"`];
  if (m.name) parts.push(`"name":${JSON.stringify(m.name)}`);
  if (m.peerUrls.length) parts.push(`"peerURLs":${JSON.stringify(m.peerUrls)}`);
  if (m.clientUrls.length) parts.push(`"clientURLs":${JSON.stringify(m.clientUrls)}`);
  if (m.isLearner) parts.push('"isLearner":true');
  return `{${parts.join(',')}}`;
}

const membersJson = (ms: MemberRow[]) => `[${ms.map(memberJson).join(',')}]`;

function checkUrls(urls: string[]): void {
  if (urls.length === 0) throw Errors.memberBadURLs();
  for (const u of urls) {
    try {
      const p = new URL(u);
      if (!['http:', 'https:'].includes(p.protocol) || !p.port) throw new Error();
    } catch {
      throw Errors.memberBadURLs();
    }
  }
}

/** /v3/cluster/member/* and /v3/maintenance/{status,transfer-leadership}. */
export function clusterRoutes(app: Hono, g: GatewayContext, member: Member, o: ClusterRouteOptions): void {
  const h = () => header({ revision: member.kv.currentRev }, g.headerInfo());
  const sorted = (ms: MemberRow[]) => [...ms].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  gatewayRoute<object>(app, '/cluster/member/list', g, {
    desc: MemberListRequestDesc,
    raft: false,
    async handle() {
      const ms = await member.read(false, () => member.memberList());
      return `{"header":${h()},"members":${membersJson(ms)}}`;
    },
  });
  gatewayRoute<{ peerURLs: string[]; isLearner: boolean }>(app, '/cluster/member/add', g, {
    desc: MemberAddRequestDesc,
    raft: true,
    async handle(req) {
      checkUrls(req.peerURLs);
      const id = memberIdFor(req.peerURLs, o.clusterToken, Date.now());
      const ms = await member.addMember(id, req.peerURLs, req.isLearner);
      const added: MemberRow = { id, name: '', peerUrls: req.peerURLs, clientUrls: [], isLearner: req.isLearner };
      return `{"header":${h()},"member":${memberJson(added)},"members":${membersJson(sorted(ms))}}`;
    },
  });
  gatewayRoute<{ ID: bigint }>(app, '/cluster/member/remove', g, {
    desc: MemberIdRequestDesc,
    raft: true,
    async handle(req) {
      const ms = await member.removeMember(req.ID);
      return `{"header":${h()},"members":${membersJson(sorted(ms))}}`;
    },
  });
  gatewayRoute<{ ID: bigint; peerURLs: string[] }>(app, '/cluster/member/update', g, {
    desc: MemberUpdateRequestDesc,
    raft: true,
    async handle(req) {
      checkUrls(req.peerURLs);
      const ms = await member.updateMember(req.ID, req.peerURLs);
      return `{"header":${h()},"members":${membersJson(sorted(ms))}}`;
    },
  });
  gatewayRoute<{ ID: bigint }>(app, '/cluster/member/promote', g, {
    desc: MemberIdRequestDesc,
    raft: true,
    async handle(req) {
      if (member.isLeader) await member.promoteMember(req.ID);
      else {
        const m = member.members.get(req.ID);
        if (!m) throw Errors.memberNotFound();
        if (!m.isLearner) throw Errors.memberNotLearner();
        await o.promoteOnLeader(req.ID);
      }
      const ms = await member.read(false, () => member.memberList());
      return `{"header":${h()},"members":${membersJson(ms)}}`;
    },
  });
  gatewayRoute<object>(app, '/maintenance/status', g, {
    desc: StatusRequestDesc,
    raft: false,
    async handle() {
      const st = member.raftStatus();
      const size = await o.dbSize();
      const parts = [`"header":${h()}`, `"version":"${VERSION.etcdserver}"`];
      if (size) parts.push(`"dbSize":"${size}"`);
      if (member.leaderId) parts.push(`"leader":"${member.leaderId}"`);
      if (st.commit) parts.push(`"raftIndex":"${st.commit}"`);
      if (st.term) parts.push(`"raftTerm":"${st.term}"`);
      if (member.appliedIndex) parts.push(`"raftAppliedIndex":"${member.appliedIndex}"`);
      if (size) parts.push(`"dbSizeInUse":"${size}"`);
      if (member.isLearner) parts.push('"isLearner":true');
      return `{${parts.join(',')}}`;
    },
  });
  gatewayRoute<{ targetID: bigint }>(app, '/maintenance/transfer-leadership', g, {
    desc: MoveLeaderRequestDesc,
    raft: false,
    async handle(req) {
      if (!member.isLeader) throw new EtcdError(9, 'etcdserver: not leader');
      const target = member.members.get(req.targetID);
      if (!target || target.isLearner) throw Errors.memberNotFound();
      member.transferLeadership(req.targetID);
      const deadline = Date.now() + member.electionTimeoutMs * 3;
      while (member.leaderId !== req.targetID) {
        if (Date.now() > deadline) throw Errors.requestTimeout();
        await new Promise((r) => setTimeout(r, member.heartbeatMs));
      }
      return `{"header":${h()}}`;
    },
  });
}
