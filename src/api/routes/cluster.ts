import type { Hono } from 'hono';
import { memberIdFor } from '../../server/cluster-ids.ts';
import type { Member } from '../../server/member.ts';
import type { MemberRow } from '../../storage/member-store.ts';
import { Errors } from '../etcd-errors.ts';
import { MemberAddRequestDesc, MemberIdRequestDesc, MemberListRequestDesc, MemberUpdateRequestDesc } from '../json/cluster-messages.ts';
import { memberAddResponse, membersResponse } from '../json/cluster-responses.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';

export interface ClusterRouteOptions {
  clusterToken: string;
  /** Asks the leader to promote a learner (only the leader can judge whether it caught up). */
  promoteOnLeader(id: bigint): Promise<void>;
  dbSize(): Promise<number>;
}

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

const byId = (ms: MemberRow[]) => [...ms].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** /v3/cluster/member/*. */
export function clusterRoutes(app: Hono, g: GatewayContext, member: Member, o: ClusterRouteOptions): void {
  const rev = () => member.kv.currentRev;

  gatewayRoute<object>(app, '/cluster/member/list', g, {
    desc: MemberListRequestDesc,
    raft: false,
    async handle() {
      const ms = await member.read(false, () => member.memberList());
      return membersResponse(rev(), g.headerInfo(), ms);
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
      return memberAddResponse(rev(), g.headerInfo(), added, byId(ms));
    },
  });
  gatewayRoute<{ ID: bigint }>(app, '/cluster/member/remove', g, {
    desc: MemberIdRequestDesc,
    raft: true,
    async handle(req) {
      const ms = await member.removeMember(req.ID);
      return membersResponse(rev(), g.headerInfo(), byId(ms));
    },
  });
  gatewayRoute<{ ID: bigint; peerURLs: string[] }>(app, '/cluster/member/update', g, {
    desc: MemberUpdateRequestDesc,
    raft: true,
    async handle(req) {
      checkUrls(req.peerURLs);
      const ms = await member.updateMember(req.ID, req.peerURLs);
      return membersResponse(rev(), g.headerInfo(), byId(ms));
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
      return membersResponse(rev(), g.headerInfo(), ms);
    },
  });
}
