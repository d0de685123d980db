import type { Hono } from 'hono';
import { memberIdFor } from '../../server/cluster-ids.ts';
import type { Member, MemberRow } from '../../server/member.ts';
import { peerUrlsForAdd, peerUrlsForUpdate } from '../cluster/peer-urls.ts';
import { notEnoughStarted, readyToAddVoter, readyToRemoveVoter } from '../cluster/reconfig.ts';
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

const byId = (ms: MemberRow[]) => [...ms].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

// etcd's cluster service fills a header without a revision.
const NO_REVISION = 0;

/** /v3/cluster/member/*. */
export function clusterRoutes(app: Hono, g: GatewayContext, member: Member, o: ClusterRouteOptions): void {
  gatewayRoute<object>(app, '/cluster/member/list', g, {
    desc: MemberListRequestDesc,
    raft: false,
    auth: false,
    async handle() {
      const ms = await member.read(false, () => member.memberList());
      return membersResponse(NO_REVISION, g.headerInfo(), ms);
    },
  });
  gatewayRoute<{ peerURLs: string[]; isLearner: boolean }>(app, '/cluster/member/add', g, {
    desc: MemberAddRequestDesc,
    raft: true,
    validate: (req) => void peerUrlsForAdd(req.peerURLs),
    auth: true,
    async handle(req) {
      const urls = peerUrlsForAdd(req.peerURLs);
      if (!req.isLearner && !readyToAddVoter(member.members.values())) throw notEnoughStarted();
      // etcd hashes the second the member was added: the same URLs twice within one second collide on the id.
      const id = memberIdFor(urls, o.clusterToken, Math.floor(Date.now() / 1000));
      const ms = await member.addMember(id, urls, req.isLearner);
      const added: MemberRow = { id, name: '', peerUrls: urls, clientUrls: [], isLearner: req.isLearner };
      return memberAddResponse(NO_REVISION, g.headerInfo(), added, byId(ms));
    },
  });
  gatewayRoute<{ ID: bigint }>(app, '/cluster/member/remove', g, {
    desc: MemberIdRequestDesc,
    raft: true,
    auth: true,
    async handle(req) {
      const target = member.members.get(req.ID);
      if (!target?.isLearner && !readyToRemoveVoter(member.members.values(), req.ID)) throw notEnoughStarted();
      const ms = await member.removeMember(req.ID);
      return membersResponse(NO_REVISION, g.headerInfo(), byId(ms));
    },
  });
  gatewayRoute<{ ID: bigint; peerURLs: string[] }>(app, '/cluster/member/update', g, {
    desc: MemberUpdateRequestDesc,
    raft: true,
    auth: true,
    async handle(req) {
      const ms = await member.updateMember(req.ID, peerUrlsForUpdate(req.peerURLs));
      return membersResponse(NO_REVISION, g.headerInfo(), byId(ms));
    },
  });
  gatewayRoute<{ ID: bigint }>(app, '/cluster/member/promote', g, {
    desc: MemberIdRequestDesc,
    raft: true,
    auth: true,
    async handle(req) {
      if (member.isLeader) await member.promoteMember(req.ID);
      else {
        const m = member.members.get(req.ID);
        if (!m) throw Errors.memberNotFound();
        if (!m.isLearner) throw Errors.memberNotLearner();
        await o.promoteOnLeader(req.ID);
      }
      const ms = await member.read(false, () => member.memberList());
      return membersResponse(NO_REVISION, g.headerInfo(), ms);
    },
  });
}
