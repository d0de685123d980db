import type { Hono } from 'hono';
import type { Member, MemberRow } from '../../server/member.ts';
import { peerUrlsForAdd, peerUrlsForUpdate } from '../cluster/peer-urls.ts';
import { MemberAddRequestDesc, MemberIdRequestDesc, MemberListRequestDesc, MemberUpdateRequestDesc } from '../json/cluster-messages.ts';
import { memberAddResponse, membersResponse } from '../json/cluster-responses.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';

const byId = (ms: MemberRow[]) => [...ms].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

// etcd's cluster service fills a header without a revision.
const NO_REVISION = 0;

/** /v3/cluster/member/*: the member's cluster service (changes need root with auth on). */
export function clusterRoutes(app: Hono, g: GatewayContext, member: Member): void {
  gatewayRoute<object>(app, '/cluster/member/list', g, {
    desc: MemberListRequestDesc,
    raft: false,
    auth: false,
    async handle() {
      return membersResponse(NO_REVISION, g.headerInfo(), await member.cluster.list());
    },
  });
  gatewayRoute<{ peerURLs: string[]; isLearner: boolean }>(app, '/cluster/member/add', g, {
    desc: MemberAddRequestDesc,
    raft: true,
    validate: (req) => void peerUrlsForAdd(req.peerURLs),
    auth: true,
    async handle(req, _c, _enc, ai) {
      const { added, members } = await member.cluster.add(peerUrlsForAdd(req.peerURLs), req.isLearner, ai);
      return memberAddResponse(NO_REVISION, g.headerInfo(), added, byId(members));
    },
  });
  gatewayRoute<{ ID: bigint }>(app, '/cluster/member/remove', g, {
    desc: MemberIdRequestDesc,
    raft: true,
    auth: true,
    async handle(req, _c, _enc, ai) {
      return membersResponse(NO_REVISION, g.headerInfo(), byId(await member.cluster.remove(req.ID, ai)));
    },
  });
  gatewayRoute<{ ID: bigint; peerURLs: string[] }>(app, '/cluster/member/update', g, {
    desc: MemberUpdateRequestDesc,
    raft: true,
    auth: true,
    async handle(req, _c, _enc, ai) {
      return membersResponse(NO_REVISION, g.headerInfo(), byId(await member.cluster.update(req.ID, peerUrlsForUpdate(req.peerURLs), ai)));
    },
  });
  gatewayRoute<{ ID: bigint }>(app, '/cluster/member/promote', g, {
    desc: MemberIdRequestDesc,
    raft: true,
    auth: true,
    async handle(req, _c, _enc, ai) {
      return membersResponse(NO_REVISION, g.headerInfo(), await member.cluster.promote(req.ID, ai));
    },
  });
}
